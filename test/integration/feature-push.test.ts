import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { openNatsEventBus, type BusEvent, type EventBus } from "../../libs/events/index.js";
import { FeatureDeadLetterSchema, type FeatureDeadLetter } from "../../libs/gen/tessera/events/v1/feature_events_pb.js";
import { FeatureRowSchema, FeatureStatus, ValueType } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { connectNats, type NatsConnection } from "../../libs/nats/index.js";
import { testNatsUrl } from "../../libs/testing/index.js";
import { startTestFeature, type TestFeature } from "../support/feature-harness.js";

/** Polls `read` until `done` says yes (bounded): ingestion is asynchronous, and the box is busy. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 200 && !done(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

describe("push ingestion (JetStream durable consumer per view)", () => {
  let nc: NatsConnection;
  let feature: TestFeature;
  let bus: EventBus;
  const deadLetters: BusEvent<FeatureDeadLetter>[] = [];
  let subject: string;

  beforeAll(async () => {
    nc = await connectNats({ servers: testNatsUrl(), name: "test-feature-push" });
    feature = await startTestFeature({ nats: nc });
    subject = `${feature.pushSubjectPrefix}.card_push`;
    bus = await openNatsEventBus(nc);
    await bus.subscribe("tessera.feature.dead_letter.card_push", FeatureDeadLetterSchema, (event) => void deadLetters.push(event));
    await feature.client.applyDefinitions({
      entities: [{ name: "card" }],
      featureViews: [
        {
          name: "card_push",
          entities: ["card"],
          pushSource: { subject },
          features: [
            { name: "amount", type: ValueType.DOUBLE },
            { name: "embedding", type: ValueType.FLOAT_VECTOR, vectorLength: 2 },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await feature?.stop();
    await bus?.close();
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) if (name.startsWith("PUSH_")) await jsm.streams.delete(name).catch(() => undefined);
    await nc?.close();
  });

  const read = (keys: string[]) => feature.client.getOnlineFeatures({ features: ["card_push:amount"], entityKeys: keys });

  it("writes JSON and protobuf pushes to the online store", async () => {
    const js = jetstream(nc);
    await js.publish(subject, JSON.stringify({ entity_key: "p1", event_time: Date.now(), values: { amount: 4.5, embedding: [1, 2] } }));
    const h = headers();
    h.set("content-type", "application/protobuf");
    const row = create(FeatureRowSchema, { entityKey: "p2", eventTime: timestampFromMs(Date.now()), values: { amount: { kind: { case: "doubleValue", value: 9 } } } });
    await js.publish(subject, toBinary(FeatureRowSchema, row), { headers: h });
    const response = await eventually(() => read(["p1", "p2"]), (r) => r.columns[0]!.statuses.every((s) => s === FeatureStatus.PRESENT));
    expect(response.columns[0]!.values.map((v) => v.kind.value)).toEqual([4.5, 9]);
  });

  it("sends poison messages to the dead-letter subject with the reason, and keeps consuming", async () => {
    const js = jetstream(nc);
    await js.publish(subject, "{not json");
    await js.publish(subject, JSON.stringify({ entity_key: "bad1", event_time: Date.now(), values: { amount: "lots" } }));
    await js.publish(subject, JSON.stringify({ entity_key: "bad2", event_time: Date.now(), values: { embedding: [1, 2, 3] } }));
    await js.publish(subject, JSON.stringify({ entity_key: "bad3", event_time: Date.now() + 24 * 3600_000, values: { amount: 1 } }));
    await js.publish(subject, JSON.stringify({ entity_key: "good", event_time: Date.now(), values: { amount: 1 } }));
    await eventually(async () => deadLetters.length, (n) => n >= 4);
    const reasons = deadLetters.map((event) => event.message.reason);
    expect(reasons).toHaveLength(4);
    expect(reasons.some((r) => /not JSON/.test(r))).toBe(true);
    expect(reasons.some((r) => /amount.*number/.test(r))).toBe(true);
    expect(reasons.some((r) => /length 2, got 3/.test(r))).toBe(true);
    expect(reasons.some((r) => /in the future/.test(r))).toBe(true);
    expect(deadLetters[0]!.message).toMatchObject({ view: "card_push", subject });
    expect(new TextDecoder().decode(deadLetters[0]!.message.payload)).toBe("{not json");
    const response = await eventually(() => read(["good", "bad1"]), (r) => r.columns[0]!.statuses[0] === FeatureStatus.PRESENT);
    expect(response.columns[0]!.statuses).toEqual([FeatureStatus.PRESENT, FeatureStatus.NOT_FOUND]);
  });

  it("reports ingestion lag and rejected rows as metrics", async () => {
    const text = await feature.host.metrics.metrics();
    expect(text).toMatch(/tessera_feature_ingest_lag_seconds\{view="card_push"\} \d/);
    expect(text).toMatch(/tessera_feature_rows_rejected_total\{view="card_push",source="push"\} [1-9]/);
    expect(text).toMatch(/tessera_feature_rows_written_total\{view="card_push",source="push"\} [1-9]/);
  });
});
