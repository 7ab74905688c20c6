import { fromBinary } from "@bufbuild/protobuf";
import { ModelInferResponseSchema, type ModelInferResponse } from "../../../libs/gen/inference/grpc_service_pb.js";
import { PredictResponseSchema, type PredictResponse } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";

export interface OutputComparison {
  /** Largest absolute difference over the outputs both answers have (0 when none line up). */
  maxAbsDifference: number;
  /** The answers differ in output names or sizes, or a value is NaN on one side only. */
  mismatch: boolean;
  outputs: Array<{ name: string; maxAbsDifference: number; mismatch: boolean }>;
}

/** Two answers' outputs compared name by name (the primary's names first, then any only the shadow has). */
export function compareOutputs(kind: "predict" | "infer", primary: Uint8Array, shadow: Uint8Array): OutputComparison {
  const a = kind === "predict" ? predictOutputs(fromBinary(PredictResponseSchema, primary)) : inferOutputs(fromBinary(ModelInferResponseSchema, primary));
  const b = kind === "predict" ? predictOutputs(fromBinary(PredictResponseSchema, shadow)) : inferOutputs(fromBinary(ModelInferResponseSchema, shadow));
  const outputs: OutputComparison["outputs"] = [];
  for (const [name, values] of a) {
    const other = b.get(name);
    if (!other || other.length !== values.length) {
      outputs.push({ name, maxAbsDifference: 0, mismatch: true });
      continue;
    }
    let largest = 0;
    let mismatch = false;
    for (let i = 0; i < values.length; i++) {
      const d = Math.abs(values[i]! - other[i]!);
      if (Number.isNaN(d)) mismatch ||= !(Number.isNaN(values[i]!) && Number.isNaN(other[i]!));
      else if (d > largest) largest = d;
    }
    outputs.push({ name, maxAbsDifference: largest, mismatch });
  }
  for (const name of b.keys()) if (!a.has(name)) outputs.push({ name, maxAbsDifference: 0, mismatch: true });
  return { maxAbsDifference: Math.max(0, ...outputs.map((o) => o.maxAbsDifference)), mismatch: outputs.some((o) => o.mismatch), outputs };
}

/**
 * The largest absolute difference between two answers' outputs, matched by
 * name; Infinity when their outputs differ in names or sizes (a shadow
 * that answers a different shape is as different as it gets).
 */
export function outputDifference(kind: "predict" | "infer", primary: Uint8Array, shadow: Uint8Array): number {
  return differenceOf(compareOutputs(kind, primary, shadow));
}

/** The comparison as one number, for the difference metric: Infinity for a mismatch. */
export function differenceOf(comparison: OutputComparison): number {
  return comparison.mismatch ? Infinity : comparison.maxAbsDifference;
}

function predictOutputs(response: PredictResponse): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const t of response.outputs) {
    let values: number[];
    if (t.floatData.length > 0) values = t.floatData;
    else if (t.doubleData.length > 0) values = t.doubleData;
    else if (t.int32Data.length > 0) values = t.int32Data;
    else if (t.int64Data.length > 0) values = t.int64Data.map(Number);
    else if (t.uint64Data.length > 0) values = t.uint64Data.map(Number);
    else if (t.boolData.length > 0) values = t.boolData.map(Number);
    else if (t.rawData.length > 0 && t.dtype === DataType.FLOAT32) values = [...new Float32Array(t.rawData.slice().buffer)];
    else values = [...t.rawData];
    out.set(t.name, values);
  }
  return out;
}

function inferOutputs(response: ModelInferResponse): Map<string, number[]> {
  const out = new Map<string, number[]>();
  response.outputs.forEach((t, i) => {
    const raw = response.rawOutputContents[i];
    const c = t.contents;
    let values: number[];
    if (raw && t.datatype === "FP32") values = [...new Float32Array(raw.slice().buffer)];
    else if (raw && t.datatype === "FP64") values = [...new Float64Array(raw.slice().buffer)];
    else if (raw) values = [...raw];
    else if (c) values = [...c.fp32Contents, ...c.fp64Contents, ...c.intContents, ...c.uintContents, ...c.int64Contents.map(Number), ...c.uint64Contents.map(Number), ...c.boolContents.map(Number)];
    else values = [];
    out.set(t.name, values);
  });
  return out;
}
