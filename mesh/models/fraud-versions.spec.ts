import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlpReference, readSignature } from "../../libs/onnx/index.js";
import { exampleModel } from "./example-models.js";
import { buildBrokenFraud, buildRetrainedFraud, retrainedFraudSpec } from "./fraud-versions.js";

const fraud = exampleModel("fraud");
const row = (seed: number) => fraud.sampleRow(seed).get("features")!.data as Float32Array;
const tensor = (data: Float32Array, rows = 1) => ({ features: new ort.Tensor("float32", data, [rows, 16]) });

describe("the demo's fraud versions", () => {
  let retrained: ort.InferenceSession;
  let broken: ort.InferenceSession;
  beforeAll(async () => {
    ort.env.logLevel = "fatal";
    retrained = await ort.InferenceSession.create(buildRetrainedFraud());
    broken = await ort.InferenceSession.create(buildBrokenFraud());
  });
  afterAll(async () => {
    await retrained.release();
    await broken.release();
  });

  it("keep fraud's signature, so each is a drop-in version of it", () => {
    const expected = readSignature(fraud.build());
    expect(readSignature(buildRetrainedFraud())).toEqual(expected);
    expect(readSignature(buildBrokenFraud())).toEqual(expected);
    expect(buildBrokenFraud()).toEqual(buildBrokenFraud());
  });

  it("retrained: another network with other scores", async () => {
    const { score } = await retrained.run(tensor(row(1)));
    expect((score!.data as Float32Array)[0]).toBeCloseTo(mlpReference(retrainedFraudSpec, row(1), 1)[0]!, 5);
    expect((score!.data as Float32Array)[0]).not.toBeCloseTo(mlpReference(fraud.mlp!, row(1), 1)[0]!, 3);
  });

  it("broken: answers warm-up's zero rows with fraud's score, and fails the run on real rows", async () => {
    const { score } = await broken.run(tensor(new Float32Array(2 * 16), 2));
    expect((score!.data as Float32Array)[0]).toBeCloseTo(mlpReference(fraud.mlp!, new Float32Array(16), 1)[0]!, 5);
    for (const seed of [0, 1, 2, 3]) {
      expect(Math.abs(row(seed)[0]!)).toBeGreaterThanOrEqual(0.08);
      await expect(broken.run(tensor(row(seed)))).rejects.toThrow(/out of (data )?bounds|indices/i);
    }
  });
});
