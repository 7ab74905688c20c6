import { createHash } from "node:crypto";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { buildMlp, mlpLayers, mlpReference, type MlpSpec } from "./mlp.js";
import { mulberry32 } from "./mulberry32.js";

const sessions: ort.InferenceSession[] = [];
afterAll(async () => {
  for (const session of sessions) await session.release();
});

async function runMlp(spec: MlpSpec, input: Float32Array, rows: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(buildMlp(spec));
  sessions.push(session);
  const width = spec.layers[0] ?? 0;
  const result = await session.run({ [spec.inputName ?? "x"]: new ort.Tensor("float32", input, [rows, width]) });
  const output = result[spec.outputName ?? "y"];
  expect(output?.dims).toEqual([rows, spec.layers[spec.layers.length - 1]]);
  return output?.data as Float32Array;
}

function uniform(length: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => random() * 2 - 1);
}

/** Largest |a - b| relative to the largest |b|: the error of the tensor as a whole. */
function normwiseError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(expected[i] ?? 0));
  }
  return diff / scale;
}

describe("buildMlp()", () => {
  const sigmoidSpec: MlpSpec = { name: "s", inputName: "features", outputName: "score", layers: [16, 32, 16, 1], outputActivation: "sigmoid", seed: 11 };
  const linearSpec: MlpSpec = { name: "l", layers: [64, 256, 256, 8], seed: 12 };

  it("builds a model onnxruntime runs, matching mlpReference within 1e-5 (sigmoid output)", async () => {
    const rows = 64;
    const input = uniform(rows * 16, 1);
    const actual = await runMlp(sigmoidSpec, input, rows);
    const expected = mlpReference(sigmoidSpec, input, rows);
    expect(actual.length).toBe(expected.length);
    expect(normwiseError(actual, expected)).toBeLessThan(1e-5);
    for (const [i, value] of expected.entries()) expect(Math.abs((actual[i] ?? NaN) - value)).toBeLessThan(1e-5 * Math.max(1, Math.abs(value)));
  });

  it("matches mlpReference within 1e-5 of the output scale for a wider linear-output MLP", async () => {
    const rows = 32;
    const input = uniform(rows * 64, 2);
    const actual = await runMlp(linearSpec, input, rows);
    expect(normwiseError(actual, mlpReference(linearSpec, input, rows))).toBeLessThan(1e-5);
  });

  it("runs any batch size on the dynamic leading dimension, row results independent of the batch", async () => {
    const input = uniform(5 * 16, 3);
    const batch = await runMlp(sigmoidSpec, input, 5);
    const single = await runMlp(sigmoidSpec, input.subarray(16, 32), 1);
    expect(Math.abs((batch[1] ?? NaN) - (single[0] ?? NaN))).toBeLessThan(1e-6);
  });

  it("keeps sigmoid outputs away from saturation on unit-scale inputs", () => {
    const rows = 256;
    const scores = mlpReference(sigmoidSpec, uniform(rows * 16, 4), rows);
    const saturated = scores.filter((s) => s < 0.001 || s > 0.999).length;
    expect(saturated).toBe(0);
    const mean = scores.reduce((a, b) => a + b, 0) / rows;
    const spread = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / rows);
    expect(spread).toBeGreaterThan(0.05);
  });

  it("is deterministic: same spec, same bytes; another seed, other weights", () => {
    const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
    expect(sha(buildMlp(linearSpec))).toBe(sha(buildMlp({ ...linearSpec })));
    expect(sha(buildMlp({ ...linearSpec, seed: 13 }))).not.toBe(sha(buildMlp(linearSpec)));
  });

  it("draws weights within ±sqrt(6 / fan_in)", () => {
    for (const layer of mlpLayers(linearSpec)) {
      const limit = Math.sqrt(6 / layer.inputs);
      expect(layer.weight.length).toBe(layer.inputs * layer.outputs);
      expect(Math.max(...layer.weight.map(Math.abs))).toBeLessThanOrEqual(limit);
      expect(Math.max(...layer.weight.map(Math.abs))).toBeGreaterThan(limit * 0.9);
    }
  });

  it("rejects fewer than two layers", () => {
    expect(() => buildMlp({ name: "bad", layers: [4], seed: 1 })).toThrow(/two or more positive integers/);
  });
});

describe("mlpReference()", () => {
  it("rejects an input whose length is not rows × width", () => {
    expect(() => mlpReference({ name: "m", layers: [4, 2], seed: 1 }, new Float32Array(7), 2)).toThrow(/expected 2 rows × 4/);
  });
});
