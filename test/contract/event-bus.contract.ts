import { create } from "@bufbuild/protobuf";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BusEvent, EventBus } from "../../libs/events/index.js";
import { Code } from "../../libs/errors/index.js";
import {
  AliasDeletedSchema,
  AliasMovedSchema,
  type AliasDeleted,
  type AliasMoved,
} from "../../libs/gen/tessera/events/v1/registry_events_pb.js";
import { uniqueName } from "../../libs/testing/index.js";
import { expectCode } from "./expect-code.js";
import { Inbox } from "./inbox.js";

export interface EventBusFixture {
  /** Two ends, as two services would hold them (the same bus when embedded). */
  publisher: EventBus;
  subscriber: EventBus;
  dispose(): Promise<void>;
}

const source = { source: "tessera/contract-test" };
const moved = (version: number): AliasMoved =>
  create(AliasMovedSchema, { model: "iris", alias: "production", version, previousVersion: version - 1 });
const deleted = (): AliasDeleted => create(AliasDeletedSchema, { model: "iris", alias: "staging", previousVersion: 3 });

/** The behaviour every EventBus adapter must have. */
export function eventBusContract(name: string, open: () => Promise<EventBusFixture>): void {
  describe(`EventBus contract: ${name}`, () => {
    let fixture: EventBusFixture;
    let pub: EventBus;
    let sub: EventBus;
    // Each test gets subjects of its own under tessera.test.<unique>.
    let base: string;
    beforeEach(async () => {
      fixture = await open();
      pub = fixture.publisher;
      sub = fixture.subscriber;
      base = `tessera.test.${uniqueName("bus")}`;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    it("delivers a published message with its CloudEvents attributes", async () => {
      const inbox = new Inbox<BusEvent<AliasMoved>>();
      await sub.subscribe(`${base}.alias.moved`, AliasMovedSchema, inbox.push);
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      await pub.publish(`${base}.alias.moved`, AliasMovedSchema, moved(4), { ...source, traceparent });
      const [event] = await inbox.first(1);
      expect(event?.subject).toBe(`${base}.alias.moved`);
      expect(event?.type).toBe("tessera.events.v1.AliasMoved");
      expect(event?.source).toBe("tessera/contract-test");
      expect(event?.traceparent).toBe(traceparent);
      expect(event?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(Number.isNaN(event?.time.getTime())).toBe(false);
      expect(event?.message).toEqual(moved(4));
    });

    it("leaves traceparent out when none was given", async () => {
      const inbox = new Inbox<BusEvent<AliasMoved>>();
      await sub.subscribe(`${base}.x`, AliasMovedSchema, inbox.push);
      await pub.publish(`${base}.x`, AliasMovedSchema, moved(1), source);
      const [event] = await inbox.first(1);
      expect(event && "traceparent" in event).toBe(false);
    });

    it("gives every event its own id", async () => {
      const inbox = new Inbox<BusEvent<AliasMoved>>();
      await sub.subscribe(`${base}.x`, AliasMovedSchema, inbox.push);
      await pub.publish(`${base}.x`, AliasMovedSchema, moved(1), source);
      await pub.publish(`${base}.x`, AliasMovedSchema, moved(2), source);
      const [a, b] = await inbox.first(2);
      expect(a?.id).not.toBe(b?.id);
    });

    it("delivers events to one subscriber in the order they were published", async () => {
      const inbox = new Inbox<number>();
      await sub.subscribe(`${base}.x`, AliasMovedSchema, (e) => inbox.push(e.message.version));
      const versions = Array.from({ length: 20 }, (_, i) => i + 1);
      for (const v of versions) await pub.publish(`${base}.x`, AliasMovedSchema, moved(v), source);
      expect(await inbox.first(20)).toEqual(versions);
    });

    it("matches * to one token and > to one or more", async () => {
      const star = new Inbox<string>();
      const tail = new Inbox<string>();
      await sub.subscribe(`${base}.*.moved`, AliasMovedSchema, (e) => star.push(e.subject));
      await sub.subscribe(`${base}.>`, AliasMovedSchema, (e) => tail.push(e.subject));
      for (const s of ["a.moved", "a.b.moved", "a.deleted", "b.moved"]) {
        await pub.publish(`${base}.${s}`, AliasMovedSchema, moved(1), source);
      }
      // Order is kept, so once the last matching event is in, no earlier one is still on its way.
      expect(await star.first(2)).toEqual([`${base}.a.moved`, `${base}.b.moved`]);
      expect(await tail.first(4)).toEqual(["a.moved", "a.b.moved", "a.deleted", "b.moved"].map((s) => `${base}.${s}`));
    });

    it("skips events of types the subscriber did not ask for", async () => {
      const inbox = new Inbox<string>();
      await sub.subscribe(`${base}.x`, AliasMovedSchema, (e) => inbox.push(e.type));
      await pub.publish(`${base}.x`, AliasDeletedSchema, deleted(), source);
      await pub.publish(`${base}.x`, AliasMovedSchema, moved(1), source);
      await inbox.first(1);
      expect(inbox.items).toEqual(["tessera.events.v1.AliasMoved"]);
    });

    it("decodes each event with its own schema when subscribed to several", async () => {
      const inbox = new Inbox<AliasMoved | AliasDeleted>();
      await sub.subscribe(`${base}.>`, [AliasMovedSchema, AliasDeletedSchema], (e) => inbox.push(e.message));
      await pub.publish(`${base}.moved`, AliasMovedSchema, moved(2), source);
      await pub.publish(`${base}.deleted`, AliasDeletedSchema, deleted(), source);
      const [a, b] = await inbox.first(2);
      expect(a?.$typeName).toBe("tessera.events.v1.AliasMoved");
      expect(b).toEqual(deleted());
    });

    it("keeps delivering after a handler throws", async () => {
      const inbox = new Inbox<number>();
      await sub.subscribe(`${base}.x`, AliasMovedSchema, (e) => {
        inbox.push(e.message.version);
        if (e.message.version === 1) throw new Error("handler bug");
      });
      await pub.publish(`${base}.x`, AliasMovedSchema, moved(1), source);
      await pub.publish(`${base}.x`, AliasMovedSchema, moved(2), source);
      expect(await inbox.first(2)).toEqual([1, 2]);
    });

    it("delivers nothing after unsubscribe", async () => {
      const gone = new Inbox<number>();
      const unsubscribe = await sub.subscribe(`${base}.x`, AliasMovedSchema, (e) => gone.push(e.message.version));
      const live = new Inbox<number>();
      await sub.subscribe(`${base}.x`, AliasMovedSchema, (e) => live.push(e.message.version));
      await pub.publish(`${base}.x`, AliasMovedSchema, moved(1), source);
      await gone.first(1);
      await unsubscribe();
      await pub.publish(`${base}.x`, AliasMovedSchema, moved(2), source);
      await live.first(2);
      expect(gone.items).toEqual([1]);
    });

    it.each(["", "a..b", ".a", "a.", "a b", "a.*", "a.>", "a*b"])(
      "answers INVALID_ARGUMENT when publishing on %j",
      async (subject) => {
        await expectCode(pub.publish(subject, AliasMovedSchema, moved(1), source), Code.InvalidArgument);
      },
    );

    it.each(["", "a..b", "a.>.b", "a b", "a.b*"])("answers INVALID_ARGUMENT when subscribing to %j", async (pattern) => {
      await expectCode(sub.subscribe(pattern, AliasMovedSchema, () => {}), Code.InvalidArgument);
    });

    it("answers INVALID_ARGUMENT for an event without a source, or a subscription without schemas", async () => {
      await expectCode(pub.publish(`${base}.x`, AliasMovedSchema, moved(1), { source: " " }), Code.InvalidArgument);
      await expectCode(sub.subscribe(`${base}.x`, [], () => {}), Code.InvalidArgument);
    });
  });
}
