import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { TimeoutAction } from "../../libs/gen/tessera/registry/v1/batching_pb.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { callCode } from "../support/call-outcome.js";

// Dynamic batching through a real replica: the batcher's own specs cover
// its logic with a fake clock; these check the same promises end to end.

const fraud = exampleModel("fraud");
const gather = exampleModel("gather");
const name = (prefix: string) => uniqueName(prefix).replace(/_/g, "-");

function fraudRequest(model: string, seed: number, extra: { priority?: number } = {}) {
  const features = fraud.sampleRow(seed).get("features")!.data as Float32Array;
  return { model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: [...features] }], ...extra };
}

function gatherRequest(model: string, idx: number) {
  return {
    model,
    inputs: [
      { name: "x", dtype: DataType.FLOAT32, shape: [1n, 4n], floatData: [1, 2, 3, 4] },
      { name: "idx", dtype: DataType.INT64, shape: [1n], int64Data: [BigInt(idx)] },
    ],
  };
}

async function statistics(replica: TestReplica, model: string) {
  const { modelStats } = await replica.oip.modelStatistics({ name: model });
  return modelStats[0]!;
}

describe("dynamic batching in a replica", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
  });
  afterAll(async () => registry?.stop());

  it("runs concurrent requests as fewer, larger batches, each caller getting its own rows", async () => {
    const model = name("batch");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], batching: { enabled: true, maxBatchSize: 32, maxQueueDelayUs: 50_000n } }, fraud.build());
    const replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }] });
    try {
      const alone = [];
      for (let seed = 0; seed < 16; seed++) alone.push(await replica.client.predict(fraudRequest(model, seed)));
      const before = await statistics(replica, model);
      const together = await Promise.all(Array.from({ length: 16 }, (_, seed) => replica.client.predict(fraudRequest(model, seed))));
      const after = await statistics(replica, model);
      expect(together.map((r) => r.outputs[0]?.floatData)).toEqual(alone.map((r) => r.outputs[0]?.floatData));
      expect(Math.max(...together.map((r) => r.timing?.batchSize ?? 0))).toBeGreaterThan(1);
      const rows = Number(after.inferenceCount - before.inferenceCount);
      const runs = Number(after.executionCount - before.executionCount);
      expect(rows).toBe(16);
      expect(runs).toBeLessThan(16);
    } finally {
      await replica.stop();
    }
  });

  it("answers RESOURCE_EXHAUSTED at once when the queue is full, DEADLINE_EXCEEDED for a request whose queue timeout passes, and never runs either", async () => {
    const model = name("queue");
    // A long delay keeps requests queued until the batch fills or the delay passes. The request that
    // must expire queued carries a queue timeout, not a call deadline: the batcher cuts a batch early
    // to meet a caller's deadline (next-batch), so a deadline would race that cut; a timeout does not.
    await uploadModelVersion(
      registry.client,
      {
        model,
        createModel: true,
        aliases: ["production"],
        batching: {
          enabled: true,
          maxBatchSize: 64,
          maxQueueDelayUs: 3_000_000n,
          maxQueueSize: 2,
          defaultQueuePolicy: { timeoutAction: TimeoutAction.REJECT, allowTimeoutOverride: true },
        },
      },
      fraud.build(),
    );
    const replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }] });
    try {
      const before = await statistics(replica, model);
      const waiting = replica.client.predict(fraudRequest(model, 2));
      const expiring = replica.client.predict({ ...fraudRequest(model, 1), queueTimeoutUs: 1_000_000n }).catch((error: unknown) => ConnectError.from(error));
      await expect.poll(async () => (await replica.client.listServedModels({})).models.find((m) => m.model === model)?.queueDepth).toBe(2);
      const rejected = await replica.client.predict(fraudRequest(model, 3)).catch((error: unknown) => ConnectError.from(error));
      expect(rejected).toBeInstanceOf(ConnectError);
      expect((rejected as ConnectError).code).toBe(Code.ResourceExhausted);
      expect((rejected as ConnectError).rawMessage).toMatch(/retry/i);
      expect(Number((rejected as ConnectError).metadata.get("grpc-retry-pushback-ms"))).toBeGreaterThan(0);
      const expired = await expiring;
      expect(expired).toBeInstanceOf(ConnectError);
      expect((expired as ConnectError).code).toBe(Code.DeadlineExceeded);
      expect((expired as ConnectError).rawMessage).toMatch(/queue timeout/);
      expect((await waiting).outputs[0]?.floatData.length).toBe(1);
      const after = await statistics(replica, model);
      expect(Number(after.inferenceCount - before.inferenceCount)).toBe(1);
    } finally {
      await replica.stop();
    }
  });

  it("frees a cancelled request's slot without running its rows", async () => {
    const model = name("cancel");
    await uploadModelVersion(
      registry.client,
      { model, createModel: true, aliases: ["production"], batching: { enabled: true, maxBatchSize: 64, maxQueueDelayUs: 1_000_000n, maxQueueSize: 1 } },
      fraud.build(),
    );
    const replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }] });
    try {
      const before = await statistics(replica, model);
      const abort = new AbortController();
      const cancelled = callCode(replica.client.predict(fraudRequest(model, 1), { signal: abort.signal }));
      await expect.poll(async () => (await replica.client.listServedModels({})).models.find((m) => m.model === model)?.queueDepth).toBe(1);
      abort.abort();
      expect(await cancelled).toBe(Code.Canceled);
      // The slot is free again: a queue of one takes the next request.
      await expect.poll(async () => (await replica.client.listServedModels({})).models.find((m) => m.model === model)?.queueDepth).toBe(0);
      expect((await replica.client.predict(fraudRequest(model, 2))).outputs.length).toBe(1);
      const after = await statistics(replica, model);
      expect(Number(after.inferenceCount - before.inferenceCount)).toBe(1);
    } finally {
      await replica.stop();
    }
  });

  it("fails only the request the model fails on when a batch throws", async () => {
    const model = name("throws");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], batching: { enabled: true, maxBatchSize: 8, maxQueueDelayUs: 100_000n } }, gather.build());
    const replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }] });
    try {
      const results = await Promise.all([0, 1, 8, 2, 3].map((idx) => callCode(replica.client.predict(gatherRequest(model, idx)))));
      expect(results.filter((r) => r === "ok")).toHaveLength(4);
      expect(results[2]).not.toBe("ok");
      const after = await statistics(replica, model);
      expect(Number(after.inferenceStats?.fail?.count)).toBe(1);
    } finally {
      await replica.stop();
    }
  });

  it("answers every queued request when it shuts down, dropping none", async () => {
    const model = name("drain");
    await uploadModelVersion(
      registry.client,
      { model, createModel: true, aliases: ["production"], batching: { enabled: true, maxBatchSize: 64, maxQueueDelayUs: 2_000_000n } },
      fraud.build(),
    );
    const replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }] });
    const queued = [1, 2, 3].map((seed) => callCode(replica.client.predict(fraudRequest(model, seed))));
    await expect.poll(async () => (await replica.client.listServedModels({})).models.find((m) => m.model === model)?.queueDepth).toBe(3);
    await replica.stop();
    expect(await Promise.all(queued)).toEqual(["ok", "ok", "ok"]);
  });
});

describe("membership", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
  });
  afterAll(async () => registry?.stop());

  it("removes its record from the replicas bucket on graceful shutdown", async () => {
    const replica = await startTestReplica(registry, { serve: [] });
    try {
      await expect.poll(() => replica.membership.keys()).toHaveLength(1);
      await replica.replica.stop();
      expect(await replica.membership.keys()).toEqual([]);
    } finally {
      await replica.stop();
    }
  });
});

describe("devices", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
  });
  afterAll(async () => registry?.stop());

  it("refuses to start on a GPU this machine does not have, unless CPU fallback is allowed", async () => {
    const model = name("dev");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud.build());
    const serve = [{ model, alias: "production" }];
    const refused = await startTestReplica(registry, { serve, config: { device: { kind: "cuda", index: 0 } } }).then(
      async (replica) => {
        await replica.stop();
        return undefined;
      },
      (error: unknown) => error as Error,
    );
    expect(refused?.message).toMatch(/cuda:0/);
    const fallback = await startTestReplica(registry, { serve, config: { device: { kind: "cuda", index: 0 }, allowCpuFallback: true } });
    try {
      expect(fallback.replica.device).toMatchObject({ kind: "cpu" });
      expect((await fallback.client.predict(fraudRequest(model, 1))).outputs.length).toBe(1);
    } finally {
      await fallback.stop();
    }
  });
});
