import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { ConnectError } from "@connectrpc/connect";
import { ModelState } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { buildMlp } from "../../libs/onnx/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";

const fraud = exampleModel("fraud");
const v1Bytes = fraud.build();
// Same shape, other weights: the two versions answer differently.
const v2Bytes = buildMlp({ ...fraud.mlp!, seed: 4242 });
const features = fraud.sampleRow(3).get("features")!.data as Float32Array;

async function directRun(bytes: Uint8Array): Promise<number> {
  const session = await ort.InferenceSession.create(bytes);
  const result = await session.run({ features: new ort.Tensor("float32", features, [1, 16]) });
  await session.release();
  return (result.score!.data as Float32Array)[0]!;
}

/** Polls `check` until it holds; the test's own timeout bounds the wait. */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("alias moves", () => {
  let registry: TestRegistry;
  let replica: TestReplica;
  let model: string;

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("fraud").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], batching: { enabled: true, maxBatchSize: 8 } }, v1Bytes);
    await uploadModelVersion(registry.client, { model, batching: { enabled: true, maxBatchSize: 8 } }, v2Bytes);
    replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }], config: { instanceCount: 2 } });
  });

  afterAll(async () => {
    await replica?.stop();
    await registry?.stop();
  });

  it("switches to the new version with requests in flight: none fails, later ones see the new version, the old is released", async () => {
    const [score1, score2] = [await directRun(v1Bytes), await directRun(v2Bytes)];
    expect(score1).not.toBe(score2);
    const answers: { version: number; score: number }[] = [];
    const errors: unknown[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const response = await replica.client.predict({
            model,
            alias: "production",
            inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(features) }],
          });
          answers.push({ version: response.version, score: response.outputs[0]!.floatData[0]! });
        } catch (error) {
          errors.push(ConnectError.from(error).rawMessage);
        }
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    await eventually(() => answers.length >= 30);

    const moved = await registry.client.setAlias({ model, alias: "production", version: 2 });
    expect(moved.previousVersion).toBe(1);
    await eventually(() => answers.some((a) => a.version === 2));
    const switchedAt = answers.length;
    await eventually(() => answers.length >= switchedAt + 60);
    stop = true;
    await Promise.all(workers);

    expect(errors).toEqual([]);
    expect(answers.filter((a) => a.version === 1).length).toBeGreaterThan(0);
    // Each answer carries the numbers of the version it names.
    for (const a of answers) expect(a.score).toBe(Math.fround(a.version === 1 ? score1 : score2));
    // Once the switch was seen, in-flight v1 requests drain; the last answers are all v2.
    expect(answers.slice(-30).every((a) => a.version === 2)).toBe(true);

    await eventually(async () => (await replica.client.listServedModels({})).models.length === 1);
    const { models } = await replica.client.listServedModels({});
    expect(models[0]).toMatchObject({ model, version: 2, aliases: ["production"], state: ModelState.READY });
  });

  it("keeps serving when the alias is deleted in the registry", async () => {
    await registry.client.deleteAlias({ model, alias: "production" });
    const response = await replica.client.predict({
      model,
      inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(features) }],
    });
    expect(response.version).toBe(2);
  });

  it("waits for a model that does not exist yet, and serves it once its alias is set", async () => {
    const late = uniqueName("late").replace(/_/g, "-");
    const waiting = await startTestReplica(registry, { serve: [{ model: late, alias: "production" }] });
    try {
      expect((await waiting.oip.serverReady({})).ready).toBe(false);
      expect((await fetch(`${waiting.httpUrl}/v2/health/ready`)).status).toBe(503);
      await uploadModelVersion(registry.client, { model: late, createModel: true, aliases: ["production"] }, v2Bytes);
      await eventually(async () => (await waiting.oip.serverReady({})).ready);
      const response = await waiting.client.predict({
        model: late,
        inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(features) }],
      });
      expect(response.outputs[0]!.floatData[0]).toBe(Math.fround(await directRun(v2Bytes)));
    } finally {
      await waiting.stop();
    }
  });
});
