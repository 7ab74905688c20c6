import { invalidArgument } from "../../../libs/errors/index.js";
import { dtypeFromOip, dtypeInfo, type OipDatatype } from "../../../libs/dtypes/index.js";
import { checkHostData } from "./host-data.js";
import type { HostTensor } from "./host-tensor.js";
import { flattenJson, fromJsonElements, preview, toJsonElements, type JsonElement } from "./json-elements.js";
import { jsonKind } from "./json-kind.js";
import { decodeRaw, encodeRaw } from "./raw-bytes.js";
import { elementCount, formatShape, shapeFromJson } from "./shape.js";

/** A tensor in KServe V2 REST JSON. */
export interface RestTensor {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: number[];
  readonly data: JsonElement[];
}

/** A tensor in KServe V2 REST JSON whose values travel in the binary tail of the body. */
export interface RestBinaryTensor {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: number[];
  readonly parameters: { readonly binary_data_size: number };
}

export interface RestInput {
  readonly name: string;
  readonly tensor: HostTensor;
  /** Bytes taken from the binary tail (binary data extension); 0 for JSON data. */
  readonly binaryBytes: number;
}

/**
 * One input of a KServe V2 REST request, `{"name", "shape", "datatype", "data"}`. "data"
 * may be flat or nested (it is flattened row-major, then its length must equal the shape's
 * element count). With the binary data extension (`"parameters": {"binary_data_size": n}`),
 * the values are the first n bytes of `binary` instead, in raw form. `where` names the input
 * when it has no usable name ("inputs[0]").
 */
export function fromRestInput(json: unknown, binary?: Uint8Array, where = "input"): RestInput {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw invalidArgument(`${where} must be an object with "name", "shape", "datatype" and "data", got ${jsonKind(json)}`);
  }
  const o = json as Record<string, unknown>;
  if (typeof o.name !== "string" || o.name === "") {
    throw invalidArgument(`${where}: "name" must be a non-empty string, got ${preview(o.name)}`);
  }
  const name = o.name;
  const subject = `input '${name}'`;
  if (typeof o.datatype !== "string") {
    throw invalidArgument(`${subject}: "datatype" must be a string such as "FP32", got ${preview(o.datatype)}`);
  }
  const info = dtypeInfo(dtypeFromOip(o.datatype, subject), subject);
  const shape = shapeFromJson(o.shape, subject);
  const count = elementCount(shape);
  const binarySize = binaryDataSize(o.parameters, subject);
  if (binarySize !== undefined) {
    if (o.data !== undefined) {
      throw invalidArgument(`${subject} has both "data" and parameters.binary_data_size; send the values one way`);
    }
    if (binary === undefined || binary.byteLength < binarySize) {
      throw invalidArgument(
        `${subject}: binary_data_size is ${binarySize} but the body's binary part has ` +
          `${binary?.byteLength ?? 0} bytes left; check Inference-Header-Content-Length`,
      );
    }
    const bytes = binary.subarray(0, binarySize);
    return { name, tensor: { dtype: info.dtype, shape, data: decodeRaw(info, bytes, shape, subject) }, binaryBytes: binarySize };
  }
  if (!Array.isArray(o.data)) {
    throw invalidArgument(`${subject}: "data" must be an array of values, got ${jsonKind(o.data)}`);
  }
  const flat = flattenJson(o.data);
  if (flat.length !== count) {
    throw invalidArgument(`${subject}: shape ${formatShape(shape)} needs ${count} values, got ${flat.length} in "data"`);
  }
  return { name, tensor: { dtype: info.dtype, shape, data: fromJsonElements(info, flat, subject, "data") }, binaryBytes: 0 };
}

function binaryDataSize(parameters: unknown, subject: string): number | undefined {
  if (parameters === undefined) return undefined;
  if (parameters === null || typeof parameters !== "object" || Array.isArray(parameters)) {
    throw invalidArgument(`${subject}: "parameters" must be an object, got ${jsonKind(parameters)}`);
  }
  const size = (parameters as Record<string, unknown>).binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw invalidArgument(`${subject}: parameters.binary_data_size must be a non-negative integer, got ${preview(size)}`);
  }
  return size;
}

/** A tensor as KServe V2 REST JSON: flat data, numbers (64-bit integers as strings only when unsafe). */
export function toRestOutput(name: string, host: HostTensor): RestTensor {
  const subject = `output '${name}'`;
  const info = checkHostData(host, subject);
  return { name, datatype: info.oip, shape: host.shape.slice(), data: toJsonElements(host, subject) };
}

/** A tensor for the binary data extension: JSON header entry plus its raw bytes for the body's tail. */
export function toRestBinaryOutput(name: string, host: HostTensor): { tensor: RestBinaryTensor; raw: Uint8Array } {
  const subject = `output '${name}'`;
  const info = checkHostData(host, subject);
  const raw = encodeRaw(host, subject);
  return {
    tensor: { name, datatype: info.oip, shape: host.shape.slice(), parameters: { binary_data_size: raw.byteLength } },
    raw,
  };
}
