import { invalidArgument } from "../../../libs/errors/index.js";
import type { InferTensorContents, ModelInferRequest_InferInputTensor } from "../../../libs/gen/inference/grpc_service_pb.js";
import { allocateData, dtypeFromOip, dtypeInfo, type DtypeInfo } from "../../../libs/dtypes/index.js";
import { bigintsToData, numbersToData } from "./element-data.js";
import type { HostTensor, TensorData } from "./host-tensor.js";
import { decodeUtf8 } from "./length-prefixed.js";
import { contentsField, contentsFieldsWithValues, type ContentsField } from "./oip-contents-field.js";
import { decodeRaw } from "./raw-bytes.js";
import { elementCount, formatShape, shapeFromWire } from "./shape.js";

/**
 * An Open Inference Protocol input as a HostTensor. With `raw` (this input's entry of the
 * request's raw_input_contents) the values are decoded from those little-endian bytes and
 * `contents` must be empty; without it they come from the one `contents` field the OIP
 * assigns to the datatype (FP16 has none: it must be sent raw).
 */
export function fromInferInput(input: ModelInferRequest_InferInputTensor, raw?: Uint8Array): HostTensor {
  const subject = `input '${input.name}'`;
  const info = dtypeInfo(dtypeFromOip(input.datatype, subject), subject);
  const shape = shapeFromWire(input.shape, subject);
  const set = contentsFieldsWithValues(input.contents);
  if (raw !== undefined) {
    if (set.length > 0) {
      throw invalidArgument(
        `${subject} has values in both contents.${set[0]} and raw_input_contents; ` +
          `when a request uses raw_input_contents, every input must send its values there`,
      );
    }
    return { dtype: info.dtype, shape, data: decodeRaw(info, raw, shape, subject) };
  }
  const count = elementCount(shape);
  const expected = contentsField(info);
  if (expected === undefined) {
    throw invalidArgument(
      `${subject}: ${info.oip} values must be sent in raw_input_contents (the protocol has no ${info.oip} contents field)`,
    );
  }
  if (set.length > 1) {
    throw invalidArgument(
      `${subject} has values in ${set.map((f) => `contents.${f}`).join(" and ")}; send ${info.oip} values only in contents.${expected}`,
    );
  }
  const field = set[0];
  if (field === undefined) {
    if (count === 0) return { dtype: info.dtype, shape, data: allocateData(info, 0) };
    throw invalidArgument(
      `${subject}: shape ${formatShape(shape)} needs ${count} values, got none; ` +
        `send them in contents.${expected} or raw_input_contents`,
    );
  }
  if (field !== expected) {
    throw invalidArgument(`${subject} is ${info.oip} but its values are in contents.${field}; send them in contents.${expected}`);
  }
  const contents = input.contents!;
  const got = fieldLength(contents, field);
  if (got !== count) {
    throw invalidArgument(`${subject}: shape ${formatShape(shape)} needs ${count} values, got ${got} in contents.${field}`);
  }
  return { dtype: info.dtype, shape, data: contentsValues(info, contents, field, subject) };
}

function fieldLength(c: InferTensorContents, field: ContentsField): number {
  return fieldValues(c, field).length;
}

// A typed array or a plain array (tensor-values.ts).
function fieldValues(c: InferTensorContents, field: ContentsField): ArrayLike<unknown> {
  switch (field) {
    case "bool_contents":
      return c.boolContents;
    case "int_contents":
      return c.intContents;
    case "int64_contents":
      return c.int64Contents;
    case "uint_contents":
      return c.uintContents;
    case "uint64_contents":
      return c.uint64Contents;
    case "fp32_contents":
      return c.fp32Contents;
    case "fp64_contents":
      return c.fp64Contents;
    case "bytes_contents":
      return c.bytesContents;
  }
}

function contentsValues(info: DtypeInfo, c: InferTensorContents, field: ContentsField, subject: string): TensorData {
  const where = `contents.${field}`;
  switch (field) {
    case "int_contents":
      return numbersToData(info, c.intContents, subject, where);
    case "uint_contents":
      return numbersToData(info, c.uintContents, subject, where);
    case "fp32_contents":
      return numbersToData(info, c.fp32Contents, subject, where);
    case "fp64_contents":
      return numbersToData(info, c.fp64Contents, subject, where);
    case "int64_contents":
      return bigintsToData(info, c.int64Contents, subject, where);
    case "uint64_contents":
      return bigintsToData(info, c.uint64Contents, subject, where);
    case "bool_contents":
      return c.boolContents.slice();
    case "bytes_contents":
      return c.bytesContents.map((b, i) => decodeUtf8(b, i, subject));
  }
}
