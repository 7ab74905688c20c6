import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AliasMovedSchema } from "../gen/tessera/events/v1/registry_events_pb.js";
import { meshNames } from "../mesh-names/index.js";
import { testNatsUrl, uniqueName } from "../testing/index.js";
import { consumeEvents } from "./consume-events.js";
import type { EventBus } from "./event-bus.js";
import { openNatsEventBus } from "./nats-event-bus.js";

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("consumeEvents()", () => {
  // A mesh of its own, so this stream holds only this file's events.
  const names = meshNames(`c${uniqueName("").replace(/[^a-z0-9]/g, "").slice(-10)}`);
  let nc: NatsConnection;
  let bus: EventBus;
  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl(), name: "test-consume" });
    bus = await openNatsEventBus(nc, { names });
  });
  afterAll(async () => {
    await bus.close();
    await nc.drain();
  });

  const moved = (version: number) =>
    bus.publish("tessera.registry.alias.moved", AliasMovedSchema, create(AliasMovedSchema, { model: "m", alias: "production", version }), { source: "test" });

  it("resumes after the last acknowledged event: what was published while it was stopped arrives", async () => {
    const seen: number[] = [];
    const options = { durable: "replica-1", pattern: "tessera.registry.alias.moved", schemas: AliasMovedSchema, names, handler: ({ message }: { message: { version: number } }) => void seen.push(message.version) };
    let stop = await consumeEvents(nc, options);
    await moved(1);
    await until(() => seen.length === 1);
    await stop();

    await moved(2);
    await moved(3);
    expect(seen).toEqual([1]);
    stop = await consumeEvents(nc, options);
    await until(() => seen.length === 3);
    expect(seen).toEqual([1, 2, 3]);
    await stop();
  });

  it("delivers an event again when its handler fails, and hands subscribers the logical subject", async () => {
    const attempts: string[] = [];
    const stop = await consumeEvents(nc, {
      durable: "flaky",
      pattern: "tessera.registry.>",
      schemas: AliasMovedSchema,
      names,
      retryDelayMs: 10,
      handler: (event) => {
        attempts.push(event.subject);
        if (attempts.length < 3) throw new Error("not yet");
      },
    });
    await moved(4);
    await until(() => attempts.length === 3);
    expect(attempts).toEqual(Array(3).fill("tessera.registry.alias.moved"));
    await stop();
  });
});
