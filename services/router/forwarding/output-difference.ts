import { fromBinary } from "@bufbuild/protobuf";
import { ModelInferResponseSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { PredictResponseSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { inferOutputValues, predictOutputValues } from "./output-values.js";

export interface OutputComparison {
  /** Largest absolute difference over the outputs both answers have (0 when none line up). */
  maxAbsDifference: number;
  /** The answers differ in output names or sizes, or a value is NaN on one side only. */
  mismatch: boolean;
  outputs: Array<{ name: string; maxAbsDifference: number; mismatch: boolean }>;
}

/** Two answers' outputs compared name by name (the primary's names first, then any only the shadow has). */
export function compareOutputs(kind: "predict" | "infer", primary: Uint8Array, shadow: Uint8Array): OutputComparison {
  const a = kind === "predict" ? predictOutputValues(fromBinary(PredictResponseSchema, primary)) : inferOutputValues(fromBinary(ModelInferResponseSchema, primary));
  const b = kind === "predict" ? predictOutputValues(fromBinary(PredictResponseSchema, shadow)) : inferOutputValues(fromBinary(ModelInferResponseSchema, shadow));
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
      const x = values[i]!;
      const y = other[i]!;
      const d = absDifference(x, y);
      if (Number.isNaN(d)) mismatch ||= !(Number.isNaN(Number(x)) && Number.isNaN(Number(y)));
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

/** |x − y|, exact for two bigints (their difference is taken before it becomes a number). */
function absDifference(x: number | bigint, y: number | bigint): number {
  if (typeof x === "bigint" && typeof y === "bigint") return Number(x > y ? x - y : y - x);
  return Math.abs(Number(x) - Number(y));
}
