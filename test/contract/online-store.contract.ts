import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OnlineStore, OnlineWrite } from "../../libs/online-store/index.js";
import { uniqueName } from "../../libs/testing/index.js";

export interface OnlineStoreFixture {
  store: OnlineStore;
  dispose(): Promise<void>;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));

/** The behaviour every OnlineStore adapter must have; each test uses its own table names. */
export function onlineStoreContract(name: string, open: () => Promise<OnlineStoreFixture>): void {
  describe(`OnlineStore contract: ${name}`, () => {
    let fixture: OnlineStoreFixture;
    let store: OnlineStore;
    let table: string;
    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
      table = uniqueName("view");
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    const row = (entityKey: string, eventTimeMs: number, fields: Record<string, string>, extra: Partial<OnlineWrite> = {}): OnlineWrite => ({
      table,
      entityKey,
      eventTimeMs,
      fields: new Map(Object.entries(fields).map(([k, v]) => [k, bytes(v)])),
      ...extra,
    });

    it("answers undefined for an entity never written", async () => {
      expect(await store.read([{ table, entityKey: "card:none", fields: ["a"] }])).toEqual([undefined]);
    });

    it("reads back what was written, with its event time, only the asked fields", async () => {
      expect((await store.write([row("card:1", 1000, { a: "x", b: "y" })])).applied).toEqual([true]);
      const [record] = await store.read([{ table, entityKey: "card:1", fields: ["b", "missing"] }]);
      expect(record?.eventTimeMs).toBe(1000);
      expect([...record!.fields.keys()]).toEqual(["b"]);
      expect(text(record!.fields.get("b"))).toBe("y");
    });

    it("keeps binary values byte for byte (zeros, high bytes)", async () => {
      const value = Uint8Array.of(0, 255, 0, 128, 10, 13);
      await store.write([{ table, entityKey: "card:bin", eventTimeMs: 1, fields: new Map([["v", value]]) }]);
      const [record] = await store.read([{ table, entityKey: "card:bin", fields: ["v"] }]);
      expect([...record!.fields.get("v")!]).toEqual([...value]);
    });

    it("never lets an older event overwrite a newer one; an equal one does", async () => {
      await store.write([row("card:2", 2000, { a: "new" })]);
      expect((await store.write([row("card:2", 1000, { a: "old" })])).applied).toEqual([false]);
      let [record] = await store.read([{ table, entityKey: "card:2", fields: ["a"] }]);
      expect(text(record!.fields.get("a"))).toBe("new");
      expect(record!.eventTimeMs).toBe(2000);
      expect((await store.write([row("card:2", 2000, { a: "retry" })])).applied).toEqual([true]);
      [record] = await store.read([{ table, entityKey: "card:2", fields: ["a"] }]);
      expect(text(record!.fields.get("a"))).toBe("retry");
    });

    it("replaces the row: fields left out of a newer write are gone", async () => {
      await store.write([row("card:3", 1, { a: "1", b: "2" })]);
      await store.write([row("card:3", 2, { a: "3" })]);
      const [record] = await store.read([{ table, entityKey: "card:3", fields: ["a", "b"] }]);
      expect(text(record!.fields.get("a"))).toBe("3");
      expect(record!.fields.has("b")).toBe(false);
    });

    it("reads many entities and tables at once, in order, duplicates answered each time", async () => {
      const other = uniqueName("view");
      const rows = Array.from({ length: 50 }, (_, i) => row(`user:${i}`, i + 1, { n: String(i) }));
      await store.write([...rows, { ...row("user:7", 5, { m: "seven" }), table: other }]);
      const keys = [
        ...Array.from({ length: 50 }, (_, i) => ({ table, entityKey: `user:${49 - i}`, fields: ["n"] })),
        { table, entityKey: "user:3", fields: ["n"] },
        { table: other, entityKey: "user:7", fields: ["m"] },
        { table, entityKey: "user:none", fields: ["n"] },
      ];
      const records = await store.read(keys);
      expect(records).toHaveLength(53);
      expect(records.slice(0, 50).map((r) => text(r?.fields.get("n")))).toEqual(Array.from({ length: 50 }, (_, i) => String(49 - i)));
      expect(text(records[50]?.fields.get("n"))).toBe("3");
      expect(text(records[51]?.fields.get("m"))).toBe("seven");
      expect(records[52]).toBeUndefined();
    });

    it("decides each row of a batch by its own event time", async () => {
      await store.write([row("card:a", 10, { a: "a10" }), row("card:b", 10, { a: "b10" })]);
      const result = await store.write([row("card:a", 5, { a: "a5" }), row("card:b", 20, { a: "b20" }), row("card:c", 1, { a: "c1" })]);
      expect(result.applied).toEqual([false, true, true]);
      const records = await store.read(["card:a", "card:b", "card:c"].map((entityKey) => ({ table, entityKey, fields: ["a"] })));
      expect(records.map((r) => text(r?.fields.get("a")))).toEqual(["a10", "b20", "c1"]);
    });

    it("expires a row after its TTL", async () => {
      await store.write([row("card:ttl", 1, { a: "x" }, { ttlMs: 50 }), row("card:keep", 1, { a: "y" })]);
      // Wait for the expiry itself (bounded), not for a fixed time: the box may be slow.
      for (let i = 0; i < 200; i++) {
        const [record] = await store.read([{ table, entityKey: "card:ttl", fields: ["a"] }]);
        if (!record) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const [gone, kept] = await store.read(["card:ttl", "card:keep"].map((entityKey) => ({ table, entityKey, fields: ["a"] })));
      expect(gone).toBeUndefined();
      expect(text(kept?.fields.get("a"))).toBe("y");
    });

    it("answers an empty read and an empty write without a round trip error", async () => {
      expect(await store.read([])).toEqual([]);
      expect((await store.write([])).applied).toEqual([]);
      expect(await store.ping()).toBe(true);
    });
  });
}
