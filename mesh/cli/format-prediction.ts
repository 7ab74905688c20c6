import type { PredictResponse } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { dtypeName } from "./format-signature.js";
import { nestValues } from "./nested-array.js";
import { tensorValues, type ElementValue } from "./tensor-values.js";

/**
 * Predict's answer for a person: a heading with the version and timing,
 * then each output's dtype and shape and its values as nested arrays
 * (floats to 6 significant digits).
 */
export function formatPrediction(response: PredictResponse): string {
  const timing = response.timing;
  const heading = [
    `${response.model} v${response.version}`,
    timing ? `queue ${micros(timing.queueUs)}` : "",
    timing ? `compute ${micros(timing.computeUs)}` : "",
    timing && timing.batchSize > 0 ? `batch ${timing.batchSize}` : "",
  ].filter((part) => part !== "");
  const lines = [heading.join("  ")];
  for (const output of response.outputs) {
    const shape = output.shape.map(Number);
    lines.push(`${output.name} ${dtypeName(output.dtype)} [${shape.join(", ")}]`);
    const values = tensorValues(output).map((v) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v));
    lines.push(stringify(nestValues(values, shape)));
  }
  return lines.join("\n");
}

/**
 * Predict's answer for a script: {model, version, requestId, timing,
 * outputs: {name: {dtype, shape, data}}}, data as nested arrays at full
 * precision; 64-bit integers past 2^53 and non-finite floats as strings.
 */
export function predictionJson(response: PredictResponse): unknown {
  const outputs: Record<string, unknown> = {};
  for (const output of response.outputs) {
    const shape = output.shape.map(Number);
    outputs[output.name] = { dtype: dtypeName(output.dtype), shape, data: nestValues(tensorValues(output).map(jsonValue), shape) };
  }
  return {
    model: response.model,
    version: response.version,
    requestId: response.requestId,
    timing: response.timing
      ? { queueUs: Number(response.timing.queueUs), computeUs: Number(response.timing.computeUs), batchSize: response.timing.batchSize }
      : undefined,
    outputs,
  };
}

function jsonValue(v: ElementValue): string | number | boolean {
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return v;
}

/** Nested arrays as JSON with ", " between elements; bigints as digits, non-finite numbers by name. */
function stringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stringify).join(", ")}]`;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}

function micros(us: bigint): string {
  const ms = Number(us) / 1000;
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}
