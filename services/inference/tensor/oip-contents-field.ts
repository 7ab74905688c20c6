import type { InferTensorContents } from "../../../libs/gen/inference/grpc_service_pb.js";
import type { DtypeInfo } from "../../../libs/dtypes/index.js";

/** The repeated fields of inference.InferTensorContents, by their proto names (for messages). */
export type ContentsField =
  | "bool_contents"
  | "int_contents"
  | "int64_contents"
  | "uint_contents"
  | "uint64_contents"
  | "fp32_contents"
  | "fp64_contents"
  | "bytes_contents";

/** The contents field the OIP assigns to a datatype; FP16 has none (raw_input_contents only). */
export function contentsField(info: DtypeInfo): ContentsField | undefined {
  switch (info.oip) {
    case "INT8":
    case "INT16":
    case "INT32":
      return "int_contents";
    case "UINT8":
    case "UINT16":
    case "UINT32":
      return "uint_contents";
    case "INT64":
      return "int64_contents";
    case "UINT64":
      return "uint64_contents";
    case "FP32":
      return "fp32_contents";
    case "FP64":
      return "fp64_contents";
    case "BOOL":
      return "bool_contents";
    case "BYTES":
      return "bytes_contents";
    case "FP16":
      return undefined;
  }
}

/** The fields of `contents` that hold any values. */
export function contentsFieldsWithValues(contents: InferTensorContents | undefined): ContentsField[] {
  if (contents === undefined) return [];
  const set: ContentsField[] = [];
  if (contents.boolContents.length > 0) set.push("bool_contents");
  if (contents.intContents.length > 0) set.push("int_contents");
  if (contents.int64Contents.length > 0) set.push("int64_contents");
  if (contents.uintContents.length > 0) set.push("uint_contents");
  if (contents.uint64Contents.length > 0) set.push("uint64_contents");
  if (contents.fp32Contents.length > 0) set.push("fp32_contents");
  if (contents.fp64Contents.length > 0) set.push("fp64_contents");
  if (contents.bytesContents.length > 0) set.push("bytes_contents");
  return set;
}
