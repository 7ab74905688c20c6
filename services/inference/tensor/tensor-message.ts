import { invalidArgument } from "../../../libs/errors/index.js";
import { TensorSchema, type Tensor } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { messageFactory } from "../../../libs/messages/index.js";
import { allocateData, dtypeInfo, type DtypeInfo } from "../../../libs/dtypes/index.js";
import { bigintsToData, numbersToData } from "./element-data.js";
import { checkHostData, isBigIntArray, isNumberArray } from "./host-data.js";
import { asBigIntField, asNumberField, ownArray } from "./tensor-values.js";
import type { HostTensor, TensorData } from "./host-tensor.js";
import { decodeRaw, encodeRaw } from "./raw-bytes.js";
import { elementCount, formatShape, shapeFromWire } from "./shape.js";

/** Output tensors are built on every answer: a zero Tensor from a factory, not create() (libs/messages). */
const newTensor = messageFactory(TensorSchema);

type DataField =
  | "float_data"
  | "double_data"
  | "int32_data"
  | "int64_data"
  | "uint64_data"
  | "bool_data"
  | "string_data"
  | "raw_data";

/** The typed field each dtype's values go in (tessera.inference.v1.Tensor); FP16 has none, only raw_data. */
function typedField(info: DtypeInfo): DataField | undefined {
  switch (info.oip) {
    case "FP32":
      return "float_data";
    case "FP64":
      return "double_data";
    case "INT8":
    case "INT16":
    case "INT32":
    case "UINT8":
    case "UINT16":
      return "int32_data";
    case "INT64":
      return "int64_data";
    case "UINT32":
    case "UINT64":
      return "uint64_data";
    case "BOOL":
      return "bool_data";
    case "BYTES":
      return "string_data";
    case "FP16":
      return undefined;
  }
}

function acceptedFields(info: DtypeInfo): string {
  const typed = typedField(info);
  if (typed === undefined) return "raw_data";
  return info.storage.kind === "string" ? typed : `${typed} or raw_data`;
}

function fieldsWithValues(t: Tensor): DataField[] {
  const set: DataField[] = [];
  if (t.floatData.length > 0) set.push("float_data");
  if (t.doubleData.length > 0) set.push("double_data");
  if (t.int32Data.length > 0) set.push("int32_data");
  if (t.int64Data.length > 0) set.push("int64_data");
  if (t.uint64Data.length > 0) set.push("uint64_data");
  if (t.boolData.length > 0) set.push("bool_data");
  if (t.stringData.length > 0) set.push("string_data");
  if (t.rawData.byteLength > 0) set.push("raw_data");
  return set;
}

function fieldLength(t: Tensor, field: Exclude<DataField, "raw_data">): number {
  switch (field) {
    case "float_data":
      return t.floatData.length;
    case "double_data":
      return t.doubleData.length;
    case "int32_data":
      return t.int32Data.length;
    case "int64_data":
      return t.int64Data.length;
    case "uint64_data":
      return t.uint64Data.length;
    case "bool_data":
      return t.boolData.length;
    case "string_data":
      return t.stringData.length;
  }
}

/**
 * A Tessera Tensor message as a HostTensor. Values must sit in exactly one field: the typed
 * field for the dtype (see inference.proto) or, for fixed-width dtypes, raw_data
 * (little-endian; FP16 only there). The element count must equal the shape's product.
 */
export function fromTensorMessage(t: Tensor): HostTensor {
  const subject = `tensor '${t.name}'`;
  const info = dtypeInfo(t.dtype, subject);
  const shape = shapeFromWire(t.shape, subject);
  const count = elementCount(shape);
  const set = fieldsWithValues(t);
  if (set.length > 1) {
    throw invalidArgument(
      `${subject} has values in ${set.join(" and ")}; send ${info.oip} values in one field: ${acceptedFields(info)}`,
    );
  }
  const field = set[0];
  if (field === undefined) {
    if (count === 0) return { dtype: info.dtype, shape, data: allocateData(info, 0) };
    throw invalidArgument(
      `${subject}: shape ${formatShape(shape)} needs ${count} values, got none; send them in ${acceptedFields(info)}`,
    );
  }
  if (field === "raw_data") {
    if (info.storage.kind === "string") {
      throw invalidArgument(`${subject}: BYTES values go in string_data; raw_data is for fixed-width types`);
    }
    return { dtype: info.dtype, shape, data: decodeRaw(info, t.rawData, shape, subject) };
  }
  if (field !== typedField(info)) {
    throw invalidArgument(`${subject} is ${info.oip} but its values are in ${field}; send them in ${acceptedFields(info)}`);
  }
  const got = fieldLength(t, field);
  if (got !== count) {
    throw invalidArgument(
      `${subject}: shape ${formatShape(shape)} needs ${count} values, got ${got} in ${field}`,
    );
  }
  return { dtype: info.dtype, shape, data: typedValues(info, t, field, subject) };
}

function typedValues(info: DtypeInfo, t: Tensor, field: Exclude<DataField, "raw_data">, subject: string): TensorData {
  switch (field) {
    case "float_data":
      return numbersToData(info, t.floatData, subject, field);
    case "double_data":
      return numbersToData(info, t.doubleData, subject, field);
    case "int32_data":
      return numbersToData(info, t.int32Data, subject, field);
    case "int64_data":
      return bigintsToData(info, t.int64Data, subject, field);
    case "uint64_data":
      return bigintsToData(info, t.uint64Data, subject, field);
    case "bool_data":
      return t.boolData.slice();
    case "string_data":
      return t.stringData.slice();
  }
}

export interface ToTensorMessageOptions {
  /**
   * Put fixed-width values in raw_data instead of the typed field. Cheaper for large
   * tensors (numeric data is not copied); default false, the form JSON clients read best.
   * FP16 always uses raw_data; STRING never does.
   */
  readonly raw?: boolean;
}

/**
 * A HostTensor as a Tessera Tensor message, values in the dtype's typed field, held as that
 * field's typed array (the output's own when it already is one; int64 as BigInt64Array).
 */
export function toTensorMessage(name: string, host: HostTensor, options: ToTensorMessageOptions = {}): Tensor {
  const subject = `tensor '${name}'`;
  const info = checkHostData(host, subject);
  const tensor = newTensor();
  tensor.name = name;
  tensor.dtype = info.dtype;
  tensor.shape = host.shape.map((d) => BigInt(d));
  const field = typedField(info);
  const data = host.data;
  if (field === undefined || (options.raw === true && info.storage.kind !== "string")) {
    tensor.rawData = encodeRaw(host, subject);
    return tensor;
  }
  // The outputs' own typed arrays in the fields (tensor-values.ts): the gRPC port writes them in one copy.
  if (isNumberArray(data)) {
    switch (field) {
      case "float_data":
        tensor.floatData = asNumberField(ownArray(Float32Array, data));
        break;
      case "double_data":
        tensor.doubleData = asNumberField(ownArray(Float64Array, data));
        break;
      case "uint64_data":
        tensor.uint64Data = asBigIntField(BigUint64Array.from(data, (v) => BigInt(v)));
        break;
      default:
        tensor.int32Data = asNumberField(ownArray(Int32Array, data));
    }
  } else if (isBigIntArray(data)) {
    if (field === "int64_data") tensor.int64Data = asBigIntField(ownArray(BigInt64Array, data));
    else tensor.uint64Data = asBigIntField(ownArray(BigUint64Array, data));
  } else if (info.storage.kind === "boolean") {
    tensor.boolData = (data as boolean[]).slice();
  } else {
    tensor.stringData = (data as string[]).slice();
  }
  return tensor;
}
