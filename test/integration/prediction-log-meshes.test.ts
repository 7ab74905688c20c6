import { create } from "@bufbuild/protobuf";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PredictionLogSchema, type PredictionLog } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { meshNames } from "../../libs/mesh-names/index.js";
import { natsPredictionLogTransport, predictionLogNames, PredictionLogPublisher } from "../../libs/prediction-log/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { startLogConsumer, type LogConsumer } from "../../services/monitoring/log-consumer.js";

async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`still not true after 30 s: ${what}`);
}

// Two meshes (TESSERA_MESH) on one NATS: each has its own prediction-log and dead-letter streams.
describe("prediction logs in two meshes on one NATS", () => {
  const meshes = [uniqueName("pa"), uniqueName("pb")] as const;
  const model = uniqueName("meshed").replace(/_/g, "-");
  let nc: NatsConnection;
  const consumers: LogConsumer[] = [];
  const seen = new Map<string, PredictionLog[]>(meshes.map((mesh) => [mesh, []]));

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl(), name: "test-prediction-log-meshes" });
    for (const mesh of meshes) {
      consumers.push(await startLogConsumer(nc, { mesh, durable: "monitoring", startAt: "all", handle: async (log) => void seen.get(mesh)!.push(log) }));
    }
  });

  afterAll(async () => {
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    const jsm = await jetstreamManager(nc);
    for (const mesh of meshes) {
      const names = predictionLogNames(mesh);
      for (const stream of [names.stream, names.deadLetterStream]) await jsm.streams.delete(stream).catch(() => undefined);
    }
    await nc?.drain();
  });

  it("names each mesh's streams and subjects after it, outside its events stream's subjects", async () => {
    const jsm = await jetstreamManager(nc);
    for (const mesh of meshes) {
      const upper = mesh.toUpperCase();
      expect((await jsm.streams.info(`${upper}_PREDICTIONS`)).config.subjects).toEqual([`${mesh}-predictions.>`]);
      expect((await jsm.streams.info(`${upper}_PREDICTIONS_DEAD`)).config.subjects).toEqual([`${mesh}-predictions-dead`]);
      expect(`${mesh}-predictions.${model}.1`.startsWith(meshNames(mesh).eventsSubjects.slice(0, -1))).toBe(false);
    }
  });

  it("delivers a mesh's logs to its own monitoring only", async () => {
    for (const [i, mesh] of meshes.entries()) {
      const publisher = new PredictionLogPublisher({ transport: natsPredictionLogTransport(nc, { mesh }), source: `test/${mesh}` });
      publisher.offer(model, i + 1, 1, () => create(PredictionLogSchema, { model, version: i + 1, requestId: mesh }));
      await publisher.close();
      expect(publisher.stats().published).toBe(1);
    }
    for (const mesh of meshes) await eventually(() => seen.get(mesh)!.some((log) => log.requestId === mesh), `${mesh}'s monitoring got its log`);
    // Each stream holds exactly its own mesh's log: nothing of the other mesh reached it.
    const jsm = await jetstreamManager(nc);
    for (const [i, mesh] of meshes.entries()) {
      const info = await jsm.streams.info(predictionLogNames(mesh).stream, { subjects_filter: ">" });
      expect(info.state.subjects).toEqual({ [`${mesh}-predictions.${model}.${i + 1}`]: 1 });
      expect(seen.get(mesh)!.map((log) => log.requestId)).toEqual([mesh]);
    }
  });

  it("dead-letters what a mesh cannot read on that mesh's dead-letter subject", async () => {
    const [a, b] = meshes;
    const h = natsHeaders();
    h.set("ce-specversion", "1.0");
    h.set("ce-type", "tessera.events.v1.PredictionLog");
    h.set("ce-id", uniqueName("bad"));
    h.set("ce-source", "test");
    h.set("ce-time", new Date().toISOString());
    h.set("content-type", "application/protobuf");
    await jetstream(nc).publish(predictionLogNames(a).subject(model, 9), new Uint8Array([0xff, 0xff, 0xff]), { headers: h });
    await eventually(() => consumers[0]!.counts.deadLettered === 1, `${a}'s monitoring dead-lettered the log`);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(predictionLogNames(a).deadLetterStream)).state.messages).toBe(1);
    expect((await jsm.streams.info(predictionLogNames(b).deadLetterStream)).state.messages).toBe(0);
    expect(consumers[1]!.counts.deadLettered).toBe(0);
  });
});
