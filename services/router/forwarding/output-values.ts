import type { ModelInferResponse } from "../../../libs/gen/inference/grpc_service_pb.js";
import type { PredictResponse } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";

/**
 * One output's values, as the router compares a shadow's answer with the
 * primary's: numbers, or for 64-bit integers bigints, so two labels or ids
 * past 2^53 that differ by one still differ.
 */
export type OutputValues = readonly number[] | readonly bigint[];

/** A Predict answer's outputs by name, from whichever field holds each one's values. */
export function predictOutputValues(response: PredictResponse): Map<string, OutputValues> {
  const out = new Map<string, OutputValues>();
  for (const t of response.outputs) {
    let values: OutputValues;
    if (t.floatData.length > 0) values = t.floatData;
    else if (t.doubleData.length > 0) values = t.doubleData;
    else if (t.int32Data.length > 0) values = t.int32Data;
    else if (t.int64Data.length > 0) values = t.int64Data;
    else if (t.uint64Data.length > 0) values = t.uint64Data;
    else if (t.boolData.length > 0) values = t.boolData.map(Number);
    else values = rawValues(predictRawType(t.dtype), t.rawData);
    out.set(t.name, values);
  }
  return out;
}

/** An Open Inference Protocol answer's outputs by name: raw_output_contents when sent, else the typed contents. */
export function inferOutputValues(response: ModelInferResponse): Map<string, OutputValues> {
  const out = new Map<string, OutputValues>();
  response.outputs.forEach((t, i) => {
    const raw = response.rawOutputContents[i];
    const c = t.contents;
    let values: OutputValues;
    if (raw) values = rawValues(t.datatype, raw);
    else if (!c) values = [];
    else if (c.int64Contents.length > 0) values = c.int64Contents;
    else if (c.uint64Contents.length > 0) values = c.uint64Contents;
    else values = [...c.fp32Contents, ...c.fp64Contents, ...c.intContents, ...c.uintContents, ...c.boolContents.map(Number)];
    out.set(t.name, values);
  });
  return out;
}

/** The OIP datatype name of a Tessera dtype, for its raw bytes. */
function predictRawType(dtype: DataType): string {
  switch (dtype) {
    case DataType.FLOAT32:
      return "FP32";
    case DataType.FLOAT64:
      return "FP64";
    case DataType.FLOAT16:
      return "FP16";
    case DataType.INT8:
      return "INT8";
    case DataType.INT16:
      return "INT16";
    case DataType.INT32:
      return "INT32";
    case DataType.INT64:
      return "INT64";
    case DataType.UINT8:
      return "UINT8";
    case DataType.UINT16:
      return "UINT16";
    case DataType.UINT32:
      return "UINT32";
    case DataType.UINT64:
      return "UINT64";
    case DataType.BOOL:
      return "BOOL";
    default:
      return "BYTES";
  }
}

/** The typed array each fixed-width OIP datatype's raw bytes read as (FP16 is read through its bits). */
const RAW_ARRAYS = {
  FP32: Float32Array,
  FP64: Float64Array,
  FP16: Uint16Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  BOOL: Uint8Array,
} as const;

/**
 * Raw little-endian values as their datatype reads them. BYTES (and a
 * datatype we do not know) stay bytes: any difference then shows, though
 * its size means nothing. A length that is not a whole number of values
 * reads as bytes too, so it cannot line up with a well-formed answer.
 */
function rawValues(datatype: string, raw: Uint8Array): OutputValues {
  const View = Object.hasOwn(RAW_ARRAYS, datatype) ? RAW_ARRAYS[datatype as keyof typeof RAW_ARRAYS] : undefined;
  if (View === undefined || raw.byteLength % View.BYTES_PER_ELEMENT !== 0) return [...raw];
  // A copy: the bytes sit at any offset in the decoded message, and typed views need alignment.
  const values = new View(raw.slice().buffer);
  if (datatype === "FP16") return Array.from(values as Uint16Array, halfToNumber);
  return [...values] as OutputValues;
}

/** IEEE 754 half precision to a number. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
