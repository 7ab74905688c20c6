import { exampleModels } from "../models/index.js";
import { nestValues } from "./nested-array.js";

/**
 * A ready-to-paste `--input` for one of the example models (fraud, ...),
 * values to two decimals; undefined for other models and for inputs too
 * long to read on one line.
 */
export function exampleInput(model: string, seed = 0): string | undefined {
  const example = exampleModels.find((m) => m.name === model);
  if (!example) return undefined;
  const row = example.sampleRow(seed);
  if ([...row.values()].reduce((n, t) => n + t.data.length, 0) > 32) return undefined;
  const inputs: Record<string, unknown> = {};
  for (const [name, tensor] of row) {
    const values = Array.from(tensor.data as ArrayLike<number | bigint>, (v) => (typeof v === "bigint" ? Number(v) : Math.round(v * 100) / 100));
    inputs[name] = nestValues(values, tensor.shape);
  }
  return JSON.stringify(inputs).replace(/,/g, ", ");
}
