import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { ModelState } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { callCode } from "../support/call-outcome.js";

const fraud = exampleModel("fraud");
const fraudBytes = fraud.build();
const rowOf = (seed: number) => Array.from(fraud.sampleRow(seed).get("features")!.data as Float32Array);

async function directScore(features: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(fraudBytes);
  const result = await session.run({ features: new ort.Tensor("float32", Float32Array.from(features), [1, 16]) });
  await session.release();
  return result.score!.data as Float32Array;
}

describe("inference replica with its sessions on the event loop", () => {
  let registry: TestRegistry;
  let replica: TestReplica | undefined;
  let model: string;

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("event-loop").replace(/_/g, "-");
    // A long queue delay keeps calls queued until the shutdown below drains them.
    await uploadModelVersion(registry.client, { model, createModel: true, batching: { enabled: true, maxBatchSize: 64, maxQueueDelayUs: 1_500_000n } }, fraudBytes);
    replica = await startTestReplica(registry, { serve: [{ model, version: 1 }], config: { sessionPlacement: "event-loop", drainGraceMs: 20_000 } });
  });

  afterAll(async () => {
    await replica?.stop();
    await registry?.stop();
  });

  it("says where its sessions run, in ListServedModels and /metrics", async () => {
    const { models } = await replica!.client.listServedModels({});
    expect(models.find((m) => m.model === model)).toMatchObject({ state: ModelState.READY, sessionPlacement: "event-loop", instanceCount: 1 });
    const metrics = await (await fetch(`${replica!.httpUrl}/metrics`)).text();
    expect(metrics).toContain(`tessera_inference_session_placement{model="${model}",version="1",placement="event-loop"} 1`);
  });

  it("answers Predict and ModelInfer bit for bit as onnxruntime-node does", async () => {
    const features = rowOf(5);
    const expected = await directScore(features);
    const [predict, infer] = await Promise.all([
      replica!.client.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features }] }),
      replica!.oip.modelInfer({ modelName: model, inputs: [{ name: "features", datatype: "FP32", shape: [1n, 16n], contents: { fp32Contents: features } }] }),
    ]);
    expect(Float32Array.from(predict.outputs[0]!.floatData)).toEqual(expected);
    expect(Float32Array.from(infer.outputs[0]!.contents!.fp32Contents)).toEqual(expected);
  });

  it("answers the calls queued when it shuts down, then stops", async () => {
    const current = replica!;
    const runner = current.replica.manager.resolve({ model, version: 1 }).runner;
    const calls = Array.from({ length: 6 }, (_, i) => [
      callCode(current.client.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: rowOf(10 + i) }] }, { timeoutMs: 60_000 })),
      callCode(current.oip.modelInfer({ modelName: model, inputs: [{ name: "features", datatype: "FP32", shape: [1n, 16n], contents: { fp32Contents: rowOf(20 + i) } }] }, { timeoutMs: 60_000 })),
    ]).flat();
    await expect.poll(() => runner.queueDepth, { timeout: 20_000 }).toBe(calls.length);
    replica = undefined;
    await current.stop();
    expect(await Promise.all(calls)).toEqual(calls.map(() => "ok"));
    expect(runner.faults.liveSessions).toBe(0);
  });
});
