import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary } from "@bufbuild/protobuf";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { PredictionLogSchema, type PredictionLog } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { mulberry32 } from "../../libs/onnx/index.js";
import {
  ensurePredictionLogStreams,
  natsPredictionLogTransport,
  PREDICTION_LOG_STREAM,
  PREDICTION_LOG_SUBJECT_PREFIX,
  PredictionLogPublisher,
} from "../../libs/prediction-log/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";

const fraud = exampleModel("fraud");
const modelName = () => uniqueName("logged").replace(/_/g, "-");

/** Reads every log stored for `model` so far, oldest first. */
async function storedLogs(nc: NatsConnection, model: string, expected: number): Promise<PredictionLog[]> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(PREDICTION_LOG_STREAM, {
    filter_subjects: `${PREDICTION_LOG_SUBJECT_PREFIX}.${model}.>`,
    deliver_policy: DeliverPolicy.All,
  });
  const logs: PredictionLog[] = [];
  while (logs.length < expected) {
    const m = await consumer.next({ expires: 5_000 });
    if (m === null) break;
    expect(m.headers?.get("ce-type")).toBe("tessera.events.v1.PredictionLog");
    logs.push(fromBinary(PredictionLogSchema, m.data));
  }
  return logs;
}

describe("prediction logs", () => {
  let nc: NatsConnection;
  let registry: TestRegistry;
  let replica: TestReplica;
  let model: string;

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl(), name: "test-prediction-logs" });
    await ensurePredictionLogStreams(nc);
    registry = await startTestRegistry({ mode: "nats" });
    model = modelName();
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud.build());
    replica = await startTestReplica(registry, {
      serve: [{ model, alias: "production" }],
      predictionLogs: { transport: natsPredictionLogTransport(nc), policy: { sampleRate: 1, inputRows: "all" } },
    });
  });

  afterAll(async () => {
    await replica?.stop();
    await registry?.stop();
    await nc?.drain();
  });

  it("creates the stream with age and byte limits", async () => {
    const info = await (await jetstreamManager(nc)).streams.info(PREDICTION_LOG_STREAM);
    expect(info.config.subjects).toEqual([`${PREDICTION_LOG_SUBJECT_PREFIX}.>`]);
    expect(info.config.max_age).toBeGreaterThan(0);
    expect(info.config.max_bytes).toBeGreaterThan(0);
  });

  it("publishes one log per answered request with its inputs, outputs and latency", async () => {
    const rows = [fraud.sampleRow(1), fraud.sampleRow(2), fraud.sampleRow(3)].map((r) => Array.from(r.get("features")!.data as Float32Array));
    const scores: number[] = [];
    for (const row of rows) {
      const response = await replica.client.predict({
        model,
        alias: "production",
        inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: row }],
      });
      scores.push(response.outputs[0]!.floatData[0]!);
    }
    const logs = await storedLogs(nc, model, 3);
    expect(logs).toHaveLength(3);
    logs.forEach((log, i) => {
      expect(log).toMatchObject({ model, version: 1, rows: 1, sampleRate: 1, route: { alias: "production", reason: "alias" } });
      expect(log.requestId).not.toBe("");
      expect(log.latencyUs).toBeGreaterThan(0n);
      expect(log.inputs[0]).toMatchObject({ name: "features", shape: [1n, 16n], rowsOmitted: 0 });
      expect(log.inputs[0]!.numbers).toEqual(rows[i]!.map((x) => Math.fround(x)));
      expect(log.outputs[0]!.numbers[0]).toBe(scores[i]);
    });
  });

  it("logs a failed request too, with its status code and no outputs", async () => {
    const failed = replica.client.predict({
      model,
      alias: "production",
      inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 3n], floatData: [1, 2, 3] }],
    });
    await expect(failed).rejects.toThrow(/features/);
    const logs = await storedLogs(nc, model, 4);
    const log = logs.find((l) => l.errorCode !== "");
    expect(log).toMatchObject({ model, version: 1, errorCode: "InvalidArgument", outputs: [] });
  });

  it("drops and counts logs beyond its buffer instead of holding them", async () => {
    const subjectModel = modelName();
    const publisher = new PredictionLogPublisher({ transport: natsPredictionLogTransport(nc), source: "test", maxBuffered: 10, batchSize: 100 });
    for (let i = 0; i < 50; i++) {
      publisher.offer(subjectModel, 1, 1, () => create(PredictionLogSchema, { requestId: `r-${subjectModel}-${i}`, model: subjectModel, version: 1 }));
    }
    expect(publisher.stats()).toMatchObject({ dropped: 40, buffered: 10 });
    // What the replica's heartbeat reports for monitoring's dropped_logs rules.
    expect([...publisher.droppedByModelTotals()]).toEqual([[subjectModel, 40]]);
    await publisher.close();
    expect(publisher.stats()).toMatchObject({ published: 10, dropped: 40, failed: 0, buffered: 0 });
    expect(await storedLogs(nc, subjectModel, 10)).toHaveLength(10);
  });

  it("lets requests have the event loop between slices of a batch it publishes", async () => {
    const subjectModel = modelName();
    const publisher = new PredictionLogPublisher({ transport: natsPredictionLogTransport(nc), source: "test", batchSize: 256 });
    let built = 0;
    for (let i = 0; i < 256; i++) {
      publisher.offer(subjectModel, 1, 1, () => {
        built++;
        return create(PredictionLogSchema, { requestId: `r-${subjectModel}-${i}`, model: subjectModel, version: 1 });
      });
    }
    // A full batch starts on a zero timer; a request arriving behind it is this timer's immediate.
    const builtWhenARequestGotATurn = await new Promise<number>((resolve) => setTimeout(() => setImmediate(() => resolve(built)), 0));
    expect(builtWhenARequestGotATurn).toBeGreaterThan(0);
    expect(builtWhenARequestGotATurn).toBeLessThan(256);
    await publisher.close();
    expect(publisher.stats()).toMatchObject({ published: 256, failed: 0 });
    const stored = await storedLogs(nc, subjectModel, 256);
    expect(stored.map((log) => log.requestId)).toEqual(Array.from({ length: 256 }, (_, i) => `r-${subjectModel}-${i}`));
  });

  it("logs the sampled share of requests", async () => {
    const subjectModel = modelName();
    const publisher = new PredictionLogPublisher({ transport: natsPredictionLogTransport(nc), source: "test", random: mulberry32(3) });
    for (let i = 0; i < 400; i++) {
      publisher.offer(subjectModel, 1, 0.25, () => create(PredictionLogSchema, { model: subjectModel, version: 1 }));
    }
    await publisher.close();
    const { published, sampledOut } = publisher.stats();
    expect(published + sampledOut).toBe(400);
    expect(published).toBeGreaterThan(60);
    expect(published).toBeLessThan(140);
  });

  it("counts failed publishes and never throws into the caller", async () => {
    const closed = await connect({ servers: testNatsUrl() });
    await closed.close();
    const publisher = new PredictionLogPublisher({ transport: natsPredictionLogTransport(closed), source: "test" });
    expect(() => publisher.offer("m", 1, 1, () => create(PredictionLogSchema, { model: "m", version: 1 }))).not.toThrow();
    await publisher.close();
    expect(publisher.stats()).toMatchObject({ published: 0, failed: 1 });
  });

  it("counts every failed log of a batch that spans several turns, none left unhandled", async () => {
    const closed = await connect({ servers: testNatsUrl() });
    await closed.close();
    const publisher = new PredictionLogPublisher({ transport: natsPredictionLogTransport(closed), source: "test", batchSize: 64 });
    for (let i = 0; i < 64; i++) publisher.offer("m", 1, 1, () => create(PredictionLogSchema, { model: "m", version: 1 }));
    // A build that throws fails its log alone.
    publisher.offer("m", 1, 1, () => {
      throw new Error("a broken log");
    });
    await publisher.close();
    expect(publisher.stats()).toMatchObject({ published: 0, failed: 65, buffered: 0 });
  });
});
