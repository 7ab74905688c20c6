import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { GRPCInferenceService, ServerLiveRequestSchema } from "../../libs/gen/inference/grpc_service_pb.js";
import { InferenceService } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { createGrpcJsTransport, toGrpcServiceDefinition } from "../../libs/host/index.js";
import { silentLogger } from "../../libs/log/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { loopsUnsupportedReason } from "../../services/inference/frontend/loop-count.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { callCode } from "../support/call-outcome.js";

// A replica whose gRPC port runs on two event loops (worker threads sharing
// the port with SO_REUSEPORT), driven over real HTTP/2 connections on
// loopback. Which loop a connection lands on is the kernel's choice, so the
// tests first learn it (each loop counts its own calls) and then place
// calls on every loop on purpose.

const fraud = exampleModel("fraud");
const name = (prefix: string) => uniqueName(prefix).replace(/_/g, "-");
const unsupported = loopsUnsupportedReason(process.version, process.platform);

function fraudRequest(model: string, seed: number) {
  const features = fraud.sampleRow(seed).get("features")!.data as Float32Array;
  return { model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: [...features] }] };
}

interface Channel {
  predict: Client<typeof InferenceService>;
  oip: Client<typeof GRPCInferenceService>;
  close(): void;
}

/** One connection of its own (grpc-js would otherwise share one between clients of the same address), for both services. */
function openChannel(address: string): Channel {
  const transport = createGrpcJsTransport({ address, channelOptions: { "grpc.use_local_subchannel_pool": 1 }, defaultTimeoutMs: 30_000 });
  return { predict: createClient(InferenceService, transport), oip: createClient(GRPCInferenceService, transport), close: () => transport.close() };
}

/** ServerLive calls each loop has answered, from its own (not yet summed) counts. */
async function liveCallsPerLoop(replica: TestReplica): Promise<number[]> {
  const perLoop = (await replica.replica.loops!.gatherMetrics()) as { name: string; values: { labels: Record<string, string>; value: number }[] }[][];
  return perLoop.map((metrics) =>
    (metrics.find((m) => m.name === "tessera_inference_rpc_requests_total")?.values ?? [])
      .filter((v) => v.labels.method === "inference.GRPCInferenceService/ServerLive")
      .reduce((sum, v) => sum + v.value, 0),
  );
}

/**
 * Opens connections until every loop has `perLoop` of them; returns them by
 * loop. A connection's loop is the one whose ServerLive count grows when it
 * calls. Both predict and oip clients of a Channel share one connection.
 */
async function channelsOnEveryLoop(replica: TestReplica, perLoop = 1): Promise<Channel[][]> {
  const loops = replica.replica.loops!.count;
  const byLoop: Channel[][] = Array.from({ length: loops }, () => []);
  const extra: Channel[] = [];
  for (let tries = 0; tries < 64 && byLoop.some((c) => c.length < perLoop); tries++) {
    const channel = openChannel(replica.replica.host.grpcAddress);
    const before = await liveCallsPerLoop(replica);
    await channel.oip.serverLive({});
    await channel.predict.listServedModels({});
    const after = await liveCallsPerLoop(replica);
    const loop = after.findIndex((count, i) => count > (before[i] ?? 0));
    if (loop >= 0 && byLoop[loop]!.length < perLoop) byLoop[loop]!.push(channel);
    else extra.push(channel);
  }
  extra.forEach((c) => c.close());
  if (byLoop.some((c) => c.length < perLoop)) throw new Error(`64 connections did not reach every loop: ${byLoop.map((c) => c.length).join(",")}`);
  return byLoop;
}

async function statistics(channel: Channel, model: string) {
  const { modelStats } = await channel.oip.modelStatistics({ name: model });
  return modelStats[0]!;
}

const queueDepth = async (channel: Channel, model: string) => (await channel.predict.listServedModels({})).models.find((m) => m.model === model)?.queueDepth;

describe.skipIf(unsupported !== undefined)("a replica with two front-end loops", { timeout: 90_000 }, () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
  });
  afterAll(async () => registry?.stop());

  async function batchingReplica(model: string, batching: { maxBatchSize: number; maxQueueDelayUs: bigint }) {
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], batching: { enabled: true, ...batching } }, fraud.build());
    return startTestReplica(registry, { serve: [{ model, alias: "production" }], config: { frontendLoops: 2 } });
  }

  it("forms one batch from connections on different loops, and counts them once in ModelStatistics and /metrics", async () => {
    const model = name("loops-batch");
    // A long delay: the batch runs when its delay is over, with every request queued by then.
    const replica = await batchingReplica(model, { maxBatchSize: 64, maxQueueDelayUs: 5_000_000n });
    const channels = await channelsOnEveryLoop(replica, 2);
    try {
      expect(replica.replica.loops?.count).toBe(2);
      const all = channels.flat();
      const before = await statistics(all[0]!, model);
      const answers = Promise.all(all.map((channel, i) => channel.predict.predict(fraudRequest(model, i))));
      await expect.poll(() => queueDepth(all[0]!, model), { timeout: 20_000 }).toBe(all.length);
      expect([0, 1].map((i) => replica.replica.loops!.callsInFlight(i))).toEqual([2, 2]);
      const answered = await answers;
      const after = await statistics(all[1]!, model);
      expect(answered.map((a) => a.timing?.batchSize)).toEqual(all.map(() => all.length));
      expect(Number(after.inferenceCount - before.inferenceCount)).toBe(all.length);
      expect(Number(after.executionCount - before.executionCount)).toBe(1);
      // One /metrics, from the main thread: the loops' RPC counts summed into one series.
      const text = await (await fetch(`${replica.httpUrl}/metrics`)).text();
      const predicts = text.split("\n").filter((line) => line.startsWith('tessera_inference_rpc_requests_total{method="tessera.inference.v1.InferenceService/Predict",transport="grpc",code="OK"}'));
      expect(predicts).toEqual([expect.stringMatching(new RegExp(` ${all.length}$`))]);
      expect(text).toMatch(new RegExp(`tessera_inference_requests_total\\{[^}]*model="${model}"[^}]*status="OK"[^}]*\\} ${all.length}`));
      expect((text.match(/^# TYPE tessera_inference_rpc_requests_total /gm) ?? []).length).toBe(1);
    } finally {
      channels.flat().forEach((c) => c.close());
      await replica.stop();
    }
  });

  it("gives the same bad inputs the same statuses and messages on every loop as on one, and good ones the same answers", async () => {
    const model = name("loops-bad");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud.build());
    const one = await startTestReplica(registry, { serve: [{ model, alias: "production" }], config: { frontendLoops: 1 } });
    const two = await startTestReplica(registry, { serve: [{ model, alias: "production" }], config: { frontendLoops: 2 } });
    const single = openChannel(one.replica.host.grpcAddress);
    const channels = (await channelsOnEveryLoop(two)).flat();
    const features = (n: number) => Array.from({ length: n }, () => 0.5);
    const bad: ((c: Channel) => Promise<unknown>)[] = [
      (c) => c.predict.predict({ model: "", inputs: [] }),
      (c) => c.predict.predict({ model: "no-such-model", inputs: [] }),
      (c) => c.predict.predict({ model, version: 99, inputs: [] }),
      (c) => c.predict.predict({ model, inputs: [] }),
      (c) => c.predict.predict({ model, inputs: [{ name: "features", dtype: DataType.INT64, shape: [1n, 16n], int64Data: features(16).map(() => 1n) }] }),
      (c) => c.predict.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 15n], floatData: features(15) }] }),
      (c) => c.predict.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features(3) }] }),
      (c) => c.predict.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], rawData: new Uint8Array(7) }] }),
      (c) => c.predict.predict({ model, inputs: [{ name: "nope", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features(16) }] }),
      (c) => c.predict.predict({ ...fraudRequest(model, 1), outputNames: ["nope"] }),
      (c) => c.oip.modelInfer({ modelName: "" }),
      (c) => c.oip.modelInfer({ modelName: model, inputs: [{ name: "features", datatype: "FP64", shape: [1n, 16n], contents: { fp64Contents: features(16) } }] }),
      (c) => c.oip.modelInfer({ modelName: model, inputs: [{ name: "features", datatype: "FP32", shape: [1n, 16n] }], rawInputContents: [new Uint8Array(10)] }),
      (c) => c.oip.modelMetadata({ name: "no-such-model" }),
      (c) => c.oip.modelStatistics({ name: "no-such-model" }),
      (c) => c.predict.loadModel({ model: "" }),
    ];
    const describeOutcome = (promise: Promise<unknown>) =>
      promise.then(
        () => "ok",
        (error: unknown) => `${Code[ConnectError.from(error).code]}: ${ConnectError.from(error).rawMessage}`,
      );
    try {
      const expected = await Promise.all(bad.map((call) => describeOutcome(call(single))));
      expect(expected.filter((e) => e === "ok")).toEqual([]);
      for (const channel of channels) {
        expect(await Promise.all(bad.map((call) => describeOutcome(call(channel))))).toEqual(expected);
      }
      // And good ones the same answers, bit for bit: values cross the loops as typed arrays.
      const bits = (values: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(values).buffer));
      // 40 rows: large enough for the typed path both ways (small messages are protobuf-es's alone).
      const rows = Array.from({ length: 40 }, (_, i) => fraudRequest(model, i).inputs[0]!.floatData).flat();
      const good: ((c: Channel) => Promise<number[]>)[] = [
        (c) => c.predict.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [40n, 16n], floatData: rows }] }).then((r) => bits(r.outputs[0]!.floatData)),
        (c) =>
          c.oip
            .modelInfer({ modelName: model, inputs: [{ name: "features", datatype: "FP32", shape: [40n, 16n], contents: { fp32Contents: rows } }] })
            .then((r) => bits(r.outputs[0]!.contents!.fp32Contents)),
      ];
      const answers = await Promise.all(good.map((call) => call(single)));
      expect(answers[1]).toEqual(answers[0]);
      for (const channel of channels) expect(await Promise.all(good.map((call) => call(channel)))).toEqual(answers);
    } finally {
      single.close();
      channels.forEach((c) => c.close());
      await one.stop();
      await two.stop();
    }
  });

  it("replaces a loop that dies, answering its calls in flight UNAVAILABLE and the other loop's as usual", async () => {
    const model = name("loops-die");
    const replica = await batchingReplica(model, { maxBatchSize: 64, maxQueueDelayUs: 2_000_000n });
    const [onDying, onOther] = (await channelsOnEveryLoop(replica)).map((c) => c[0]);
    try {
      const loops = replica.replica.loops!;
      const before = await statistics(onOther!, model);
      const dying = [1, 2].map((seed) => callCode(onDying!.predict.predict(fraudRequest(model, seed))));
      const living = [3, 4].map((seed) => callCode(onOther!.predict.predict(fraudRequest(model, seed))));
      await expect.poll(() => queueDepth(onOther!, model), { timeout: 20_000 }).toBe(4);
      expect(loops.callsInFlight(0)).toBe(2);
      loops.crashLoop(0);
      expect(await Promise.all(dying)).toEqual([Code.Unavailable, Code.Unavailable]);
      // The dead loop's requests leave the queue: its clients are gone.
      await expect.poll(() => loops.callsInFlight(0), { timeout: 20_000 }).toBe(0);
      await expect.poll(() => queueDepth(onOther!, model), { timeout: 20_000 }).toBe(2);
      expect(await Promise.all(living)).toEqual(["ok", "ok"]);
      const after = await statistics(onOther!, model);
      expect(Number(after.inferenceCount - before.inferenceCount)).toBe(2);
      // A new loop takes the dead one's place on the same port.
      await expect.poll(() => loops.replacements, { timeout: 30_000 }).toBe(1);
      const fresh = await channelsOnEveryLoop(replica);
      expect((await fresh[0]![0]!.predict.predict(fraudRequest(model, 5))).outputs).toHaveLength(1);
      fresh.flat().forEach((c) => c.close());
    } finally {
      onDying?.close();
      onOther?.close();
      await replica.stop();
    }
  });

  it("drops a request cancelled mid-batch on one loop, and runs the rest from both loops as one batch", async () => {
    const model = name("loops-cancel");
    const replica = await batchingReplica(model, { maxBatchSize: 64, maxQueueDelayUs: 5_000_000n });
    const [first, second] = (await channelsOnEveryLoop(replica)).map((c) => c[0]);
    try {
      const before = await statistics(first!, model);
      const abort = new AbortController();
      const cancelled = callCode(second!.predict.predict(fraudRequest(model, 1), { signal: abort.signal }));
      const expiring = second!.predict.predict(fraudRequest(model, 2), { timeoutMs: 400 }).then(
        () => "ok",
        (error: unknown) => ConnectError.from(error),
      );
      const kept = [3, 4].map((seed) => first!.predict.predict(fraudRequest(model, seed)));
      const keptOther = second!.predict.predict(fraudRequest(model, 5));
      await expect.poll(() => queueDepth(first!, model), { timeout: 20_000 }).toBeGreaterThanOrEqual(4);
      abort.abort();
      expect(await cancelled).toBe(Code.Canceled);
      // The deadline reaches the batcher across the hop, which cuts the batch just before it passes: the
      // request runs in that batch, or, when the cut came a hair late, it expired in the queue and the rest
      // run at the end of the delay.
      const expired = await expiring;
      const answered = await Promise.all([...kept, keptOther]);
      const [size, ...others] = answered.map((a) => a.timing?.batchSize);
      expect(others).toEqual([size, size]);
      expect(size === 3 || size === 4).toBe(true);
      if (size === 3) expect(expired instanceof ConnectError && expired.code).toBe(Code.DeadlineExceeded);
      else expect(expired === "ok" || (expired instanceof ConnectError && expired.code === Code.DeadlineExceeded)).toBe(true);
      // One run, without the cancelled request: both loops' requests met in one batch. (A request whose
      // deadline passed while its batch ran is not counted: its answer was dropped.)
      const after = await statistics(first!, model);
      const counted = Number(after.inferenceCount - before.inferenceCount);
      expect(size === 4 && expired !== "ok" ? [3, 4] : [size]).toContain(counted);
      expect(Number(after.executionCount - before.executionCount)).toBe(1);
    } finally {
      first?.close();
      second?.close();
      await replica.stop();
    }
  });

  it("answers the calls in flight on every loop when it shuts down, then stops listening", async () => {
    const model = name("loops-drain");
    const replica = await batchingReplica(model, { maxBatchSize: 64, maxQueueDelayUs: 1_500_000n });
    const channels = (await channelsOnEveryLoop(replica)).flat();
    try {
      const queued = channels.flatMap((channel, i) => [callCode(channel.predict.predict(fraudRequest(model, 2 * i))), callCode(channel.predict.predict(fraudRequest(model, 2 * i + 1)))]);
      await expect.poll(() => queueDepth(channels[0]!, model), { timeout: 20_000 }).toBe(queued.length);
      expect([0, 1].map((i) => replica.replica.loops!.callsInFlight(i))).toEqual([2, 2]);
      await replica.stop();
      expect(await Promise.all(queued)).toEqual(queued.map(() => "ok"));
      const late = openChannel(replica.replica.host.grpcAddress);
      expect(await callCode(late.oip.serverLive({}, { timeoutMs: 2_000 }))).not.toBe("ok");
      late.close();
    } finally {
      channels.forEach((c) => c.close());
    }
  });
});

/** grpc.health.v1 over one connection of its own; `live()` is OIP ServerLive over the same connection. */
function openHealthChannel(address: string) {
  const channel = new grpc.Channel(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  const healthProto = grpc.loadPackageDefinition(protoLoader.loadSync(createRequire(import.meta.url).resolve("grpc-health-check/proto/health/v1/health.proto"), { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const health = new healthProto.grpc.health.v1.Health(address, grpc.credentials.createInsecure(), { channelOverride: channel });
  const Oip = grpc.makeGenericClientConstructor(toGrpcServiceDefinition(GRPCInferenceService), "oip");
  const oip = new Oip(address, grpc.credentials.createInsecure(), { channelOverride: channel }) as unknown as { serverLive(request: object, callback: (error: Error | null) => void): void };
  return {
    check: (service: string) =>
      new Promise<string>((resolve, reject) => health.check!({ service }, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null, response: { status: string }) => (error ? reject(error) : resolve(response.status)))),
    live: () => new Promise<void>((resolve, reject) => oip.serverLive(create(ServerLiveRequestSchema), (error) => (error ? reject(error) : resolve()))),
    close: () => channel.close(),
  };
}

describe.skipIf(unsupported !== undefined)("health across two front-end loops", { timeout: 90_000 }, () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
  });
  afterAll(async () => registry?.stop());

  it("answers grpc.health.v1 on every loop with the main thread's status", async () => {
    const replica = await startTestReplica(registry, { serve: [], config: { frontendLoops: 2 } });
    const byLoop: ReturnType<typeof openHealthChannel>[][] = [[], []];
    try {
      for (let tries = 0; tries < 64 && byLoop.some((c) => c.length === 0); tries++) {
        const channel = openHealthChannel(replica.replica.host.grpcAddress);
        const before = await liveCallsPerLoop(replica);
        await channel.live();
        const after = await liveCallsPerLoop(replica);
        byLoop[after.findIndex((count, i) => count > (before[i] ?? 0))]?.push(channel);
      }
      const channels = byLoop.map((c) => c[0]!);
      const statuses = () => Promise.all(channels.flatMap((c) => [c.check(""), c.check("tessera.inference.v1.InferenceService"), c.check("inference.GRPCInferenceService")]));
      expect(await statuses()).toEqual(Array(6).fill("SERVING"));
      replica.replica.host.setReady(false);
      await expect.poll(statuses, { timeout: 20_000 }).toEqual(Array(6).fill("NOT_SERVING"));
      replica.replica.host.setReady(true);
      await expect.poll(statuses, { timeout: 20_000 }).toEqual(Array(6).fill("SERVING"));
    } finally {
      byLoop.flat().forEach((c) => c.close());
      await replica.stop();
    }
  });
});

describe.runIf(unsupported !== undefined)("front-end loops on a Node without reusePort", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
  });
  afterAll(async () => registry?.stop());

  it("serves on one loop instead, saying why", async () => {
    const model = name("loops-old-node");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud.build());
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (msg: string, fields?: Record<string, unknown>) => void warnings.push(`${msg} ${JSON.stringify(fields)}`) };
    const replica = await startTestReplica(registry, { serve: [{ model, alias: "production" }], config: { frontendLoops: 2 }, logger });
    try {
      expect(replica.replica.loops).toBeUndefined();
      expect(warnings.join("\n")).toMatch(/one event loop.*no reusePort/);
      expect((await replica.client.predict(fraudRequest(model, 1))).outputs).toHaveLength(1);
    } finally {
      await replica.stop();
    }
  });
});
