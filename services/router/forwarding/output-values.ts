import type { ModelInferResponse } from "../../../libs/gen/inference/grpc_service_pb.js";
import type { PredictResponse } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { findDtypeInfo, findOipDtypeInfo, fromFloat16Bits, type DtypeInfo } from "../../../libs/dtypes/index.js";
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
    else values = rawValues(findDtypeInfo(t.dtype), t.rawData);
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
    if (raw) values = rawValues(findOipDtypeInfo(t.datatype), raw);
    else if (!c) values = [];
    else if (c.int64Contents.length > 0) values = c.int64Contents;
    else if (c.uint64Contents.length > 0) values = c.uint64Contents;
    else values = [...c.fp32Contents, ...c.fp64Contents, ...c.intContents, ...c.uintContents, ...c.boolContents.map(Number)];
    out.set(t.name, values);
  });
  return out;
}

/**
 * Raw little-endian values as their dtype reads them. BYTES, BOOL (whose
 * bytes are 0 and 1 already) and a dtype we do not know stay bytes: any
 * difference then shows, though for BYTES its size means nothing. A length
 * that is not a whole number of values reads as bytes too, so it cannot
 * line up with a well-formed answer.
 */
function rawValues(info: DtypeInfo | undefined, raw: Uint8Array): OutputValues {
  if (info === undefined || info.storage.kind !== "typed" || raw.byteLength % info.byteSize !== 0) return [...raw];
  // A copy: the bytes sit at any offset in the decoded message, and typed views need alignment.
  const values = new info.storage.array(raw.slice().buffer);
  if (info.dtype === DataType.FLOAT16) return Array.from(values as Uint16Array, fromFloat16Bits);
  return [...values] as OutputValues;
}
