import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMemoryEventBus,
  EVENTS_STREAM,
  openNatsEventBus,
  type BusEvent,
} from "../../libs/events/index.js";
import { AliasMovedSchema, type AliasMoved } from "../../libs/gen/tessera/events/v1/registry_events_pb.js";
import { connectNats, type NatsConnection } from "../../libs/nats/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { eventBusContract } from "./event-bus.contract.js";
import { Inbox } from "./inbox.js";

let pubConn: NatsConnection;
let subConn: NatsConnection;
beforeAll(async () => {
  pubConn = await connectNats({ servers: testNatsUrl(), name: "contract-bus-publisher" });
  subConn = await connectNats({ servers: testNatsUrl(), name: "contract-bus-subscriber" });
});
afterAll(async () => {
  await pubConn.close();
  await subConn.close();
});

eventBusContract("embedded (in-process)", async () => {
  const bus = createMemoryEventBus();
  return { publisher: bus, subscriber: bus, dispose: () => bus.close() };
});

eventBusContract("NATS (durable, JetStream publish)", async () => {
  const publisher = await openNatsEventBus(pubConn);
  const subscriber = await openNatsEventBus(subConn);
  return { publisher, subscriber, dispose: async () => Promise.all([publisher.close(), subscriber.close()]).then(() => {}) };
});

eventBusContract("NATS (core publish only)", async () => {
  const publisher = await openNatsEventBus(pubConn, { durable: false });
  const subscriber = await openNatsEventBus(subConn, { durable: false });
  return { publisher, subscriber, dispose: async () => Promise.all([publisher.close(), subscriber.close()]).then(() => {}) };
});

describe("openNatsEventBus() on the wire", () => {
  const moved = create(AliasMovedSchema, { model: "iris", alias: "production", version: 7, previousVersion: 6 });
  const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  it("sends a CloudEvent in binary mode: ce-* headers and the protobuf bytes", async () => {
    const subject = `tessera.test.${uniqueName("wire")}.alias.moved`;
    const raw = subConn.subscribe(subject, { max: 1 });
    await subConn.flush();
    const bus = await openNatsEventBus(pubConn);
    await bus.publish(subject, AliasMovedSchema, moved, { source: "tessera/registry", traceparent });
    let seen = 0;
    for await (const m of raw) {
      seen++;
      expect(m.headers?.get("ce-specversion")).toBe("1.0");
      expect(m.headers?.get("ce-type")).toBe("tessera.events.v1.AliasMoved");
      expect(m.headers?.get("ce-source")).toBe("tessera/registry");
      expect(m.headers?.get("ce-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Date(m.headers?.get("ce-time") ?? "").toISOString()).toBe(m.headers?.get("ce-time"));
      expect(m.headers?.get("content-type")).toBe("application/protobuf");
      expect(m.headers?.get("traceparent")).toBe(traceparent);
      expect(fromBinary(AliasMovedSchema, m.data)).toEqual(moved);
    }
    expect(seen).toBe(1);
  });

  it("keeps the event in the TESSERA_EVENTS stream, deduplicated by ce-id", async () => {
    const subject = `tessera.test.${uniqueName("durable")}.alias.moved`;
    const bus = await openNatsEventBus(pubConn);
    await bus.publish(subject, AliasMovedSchema, moved, { source: "tessera/registry" });
    const jsm = await jetstreamManager(pubConn);
    const stored = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject });
    expect(stored?.header.get("ce-type")).toBe("tessera.events.v1.AliasMoved");
    expect(stored?.header.get("Nats-Msg-Id")).toBe(stored?.header.get("ce-id"));
    expect(fromBinary(AliasMovedSchema, stored?.data ?? new Uint8Array())).toEqual(moved);
  });

  it("decodes events another client published with the same headers", async () => {
    const subject = `tessera.test.${uniqueName("foreign")}.alias.moved`;
    const bus = await openNatsEventBus(subConn, { durable: false });
    const inbox = new Inbox<BusEvent<AliasMoved>>();
    await bus.subscribe(subject, AliasMovedSchema, inbox.push);
    const h = natsHeaders();
    // Header names in another case, as a Go or Java CloudEvents SDK might send them.
    h.set("Ce-Specversion", "1.0");
    h.set("Ce-Type", "tessera.events.v1.AliasMoved");
    h.set("Ce-Source", "go-client");
    h.set("Ce-Id", "e-1");
    h.set("Ce-Time", "2025-01-02T03:04:05Z");
    h.set("Content-Type", "application/protobuf");
    pubConn.publish(subject, toBinary(AliasMovedSchema, moved), { headers: h });
    const [event] = await inbox.first(1);
    expect(event?.id).toBe("e-1");
    expect(event?.source).toBe("go-client");
    expect(event?.time.toISOString()).toBe("2025-01-02T03:04:05.000Z");
    expect(event?.message).toEqual(moved);
    await bus.close();
  });
});
