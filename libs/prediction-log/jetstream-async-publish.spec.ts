import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { testNatsUrl, uniqueName } from "../testing/index.js";
import { JetStreamAsyncPublisher } from "./jetstream-async-publish.js";

const envelope = (id: string, text = id) => ({ headers: { "ce-id": id, "ce-type": "test.Event" }, data: new TextEncoder().encode(text) });

describe("JetStreamAsyncPublisher", () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const stream = uniqueName("ASYNC_PUB");
  const subject = `${stream.toLowerCase()}.logs`;

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl(), name: "test-async-publish" });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], duplicate_window: 60_000_000_000 });
  });

  afterAll(async () => {
    await jsm?.streams.delete(stream).catch(() => false);
    await nc?.close();
  });

  it("resolves each publish once the stream stored it, headers and all, deduplicated by ce-id", async () => {
    const publisher = new JetStreamAsyncPublisher(nc);
    await Promise.all(Array.from({ length: 50 }, (_, i) => publisher.publish(`${subject}.a`, envelope(`id-${i}`))));
    await publisher.publish(`${subject}.a`, envelope("id-7", "again")); // a retry of a stored log
    expect((await jsm.streams.info(stream)).state.messages).toBe(50);
    const stored = await jsm.streams.getMessage(stream, { seq: 8 });
    expect(stored?.string()).toBe("id-7");
    expect(stored?.header.get("ce-type")).toBe("test.Event");
    expect(stored?.header.get("Nats-Msg-Id")).toBe("id-7");
  });

  it("rejects a header value with a line break, which would forge a header, and sends nothing", async () => {
    const publisher = new JetStreamAsyncPublisher(nc);
    const before = (await jsm.streams.info(stream)).state.messages;
    const forged = { headers: { "ce-id": "forged-1", "ce-type": "test.Event\r\nce-source: elsewhere" }, data: new Uint8Array(1) };
    await expect(publisher.publish(`${subject}.f`, forged)).rejects.toThrow(/header ce-type holds a line break/);
    await publisher.publish(`${subject}.f`, envelope("after-forged"));
    expect((await jsm.streams.info(stream)).state.messages).toBe(before + 1);
  });

  it("rejects a publish no stream stores, naming the subject", async () => {
    const publisher = new JetStreamAsyncPublisher(nc);
    await expect(publisher.publish(`${uniqueName("nowhere")}.x`, envelope("n-1"))).rejects.toThrow(/no JetStream stream stores nowhere/);
  });

  it("rejects a publish JetStream refuses", async () => {
    const full = uniqueName("ASYNC_FULL");
    await jsm.streams.add({ name: full, subjects: [`${full.toLowerCase()}.>`], max_msgs: 1, discard: "new" as never });
    try {
      const publisher = new JetStreamAsyncPublisher(nc);
      await publisher.publish(`${full.toLowerCase()}.x`, envelope("f-1"));
      await expect(publisher.publish(`${full.toLowerCase()}.x`, envelope("f-2"))).rejects.toThrow(/JetStream refused the publish/);
    } finally {
      await jsm.streams.delete(full).catch(() => false);
    }
  });

  it("rejects what waits for an ack when the connection closes, and everything after", async () => {
    const own = await connect({ servers: testNatsUrl(), name: "test-async-publish-close" });
    const publisher = new JetStreamAsyncPublisher(own);
    await publisher.publish(`${subject}.b`, envelope("c-1"));
    await own.close();
    await expect(publisher.publish(`${subject}.b`, envelope("c-2"))).rejects.toThrow();
    await expect(new JetStreamAsyncPublisher(own).publish(`${subject}.b`, envelope("c-3"))).rejects.toThrow();
  });
});
