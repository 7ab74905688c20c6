import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code } from "../../libs/errors/index.js";
import { KV_MAX_VALUE_BYTES, type KvChange, type KvStore } from "../../libs/store/index.js";
import { expectCode } from "./expect-code.js";
import { Inbox } from "./inbox.js";

export interface KvStoreFixture {
  store: KvStore;
  /** Closes the store and removes what it stored. */
  dispose(): Promise<void>;
}

const text = (s: string) => new TextEncoder().encode(s);
const read = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));

/** The behaviour every KvStore adapter must have; `open` gives a fresh, empty store per test. */
export function kvStoreContract(name: string, open: () => Promise<KvStoreFixture>): void {
  describe(`KvStore contract: ${name}`, () => {
    let fixture: KvStoreFixture;
    let kv: KvStore;
    beforeEach(async () => {
      fixture = await open();
      kv = fixture.store;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    it("answers undefined for a key that was never written", async () => {
      expect(await kv.get("models.none")).toBeUndefined();
    });

    it("returns what create() stored, with the revision it returned", async () => {
      const revision = await kv.create("models.iris", text("v1"));
      expect(revision).toBeGreaterThan(0);
      const entry = await kv.get("models.iris");
      expect(read(entry?.value)).toBe("v1");
      expect(entry?.revision).toBe(revision);
    });

    it("answers ALREADY_EXISTS to a second create() and keeps the first value", async () => {
      await kv.create("models.iris", text("first"));
      await expectCode(kv.create("models.iris", text("second")), Code.AlreadyExists);
      expect(read((await kv.get("models.iris"))?.value)).toBe("first");
    });

    it("lets exactly one of several concurrent create() calls win", async () => {
      const results = await Promise.allSettled(
        ["a", "b", "c", "d", "e"].map((v) => kv.create("models.race", text(v))),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") expect((r.reason as { code: Code }).code).toBe(Code.AlreadyExists);
      }
    });

    it("update() with the current revision writes and returns a higher revision", async () => {
      const r1 = await kv.create("models.iris", text("v1"));
      const r2 = await kv.update("models.iris", text("v2"), r1);
      expect(r2).toBeGreaterThan(r1);
      expect(await kv.get("models.iris")).toEqual({ value: text("v2"), revision: r2 });
    });

    it("answers ABORTED to update() with a stale revision and keeps the value", async () => {
      const r1 = await kv.create("models.iris", text("v1"));
      await kv.update("models.iris", text("v2"), r1);
      const err = await expectCode(kv.update("models.iris", text("v3"), r1), Code.Aborted);
      expect(err.message).toMatch(/changed concurrently.*retry/);
      expect(read((await kv.get("models.iris"))?.value)).toBe("v2");
    });

    it("lets exactly one of two writers racing from the same revision win", async () => {
      const r1 = await kv.create("models.iris", text("v1"));
      const results = await Promise.allSettled([
        kv.update("models.iris", text("writer-a"), r1),
        kv.update("models.iris", text("writer-b"), r1),
      ]);
      const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i === 0 ? "writer-a" : "writer-b"] : []));
      expect(won).toHaveLength(1);
      const lost = results.find((r) => r.status === "rejected");
      expect((lost as PromiseRejectedResult).reason.code).toBe(Code.Aborted);
      expect(read((await kv.get("models.iris"))?.value)).toBe(won[0]);
    });

    it("answers ABORTED to update() of a key deleted meanwhile", async () => {
      const r1 = await kv.create("models.iris", text("v1"));
      await kv.delete("models.iris");
      await expectCode(kv.update("models.iris", text("v2"), r1), Code.Aborted);
      expect(await kv.get("models.iris")).toBeUndefined();
    });

    it("put() writes whatever the key holds, each time with a higher revision", async () => {
      const r1 = await kv.put("members.a", text("1"));
      const r2 = await kv.put("members.a", text("2"));
      expect(r2).toBeGreaterThan(r1);
      expect(await kv.get("members.a")).toEqual({ value: text("2"), revision: r2 });
    });

    it("keeps its own copy of a value: changing the caller's buffer later changes nothing", async () => {
      const value = text("abc");
      await kv.put("models.copy", value);
      value[0] = 0x7a;
      expect(read((await kv.get("models.copy"))?.value)).toBe("abc");
    });

    it("delete() removes a key, and create() may then write it again", async () => {
      await kv.create("models.iris", text("v1"));
      await kv.delete("models.iris");
      expect(await kv.get("models.iris")).toBeUndefined();
      expect(await kv.keys("models.")).toEqual([]);
      await kv.create("models.iris", text("again"));
      expect(read((await kv.get("models.iris"))?.value)).toBe("again");
    });

    it("delete() of an absent key succeeds", async () => {
      await kv.delete("models.never");
      expect(await kv.get("models.never")).toBeUndefined();
    });

    it("delete() with a stale revision answers ABORTED and keeps the key; with the current one it deletes", async () => {
      const r1 = await kv.create("models.iris", text("v1"));
      const r2 = await kv.update("models.iris", text("v2"), r1);
      await expectCode(kv.delete("models.iris", r1), Code.Aborted);
      expect(read((await kv.get("models.iris"))?.value)).toBe("v2");
      await kv.delete("models.iris", r2);
      expect(await kv.get("models.iris")).toBeUndefined();
    });

    it("keys() lists live keys by plain string prefix, sorted", async () => {
      for (const key of ["models.b", "models.a", "models.ab", "modelsx", "versions.a.1", "models.gone"]) {
        await kv.put(key, text(key));
      }
      await kv.delete("models.gone");
      expect(await kv.keys()).toEqual(["models.a", "models.ab", "models.b", "modelsx", "versions.a.1"]);
      expect(await kv.keys("models.")).toEqual(["models.a", "models.ab", "models.b"]);
      expect(await kv.keys("models.a")).toEqual(["models.a", "models.ab"]);
      expect(await kv.keys("model")).toEqual(["models.a", "models.ab", "models.b", "modelsx"]);
      expect(await kv.keys("versions.a.")).toEqual(["versions.a.1"]);
      expect(await kv.keys("nothing.")).toEqual([]);
    });

    it.each(["", "a b", ".a", "a.", "a..b", "a*", "a.>", "naïve", "a\nb"])(
      "answers INVALID_ARGUMENT for the key %j",
      async (key) => {
        await expectCode(kv.put(key, text("x")), Code.InvalidArgument);
        await expectCode(kv.get(key), Code.InvalidArgument);
      },
    );

    it("accepts every character of the key alphabet", async () => {
      const key = "a-b/c_d=e.F9";
      await kv.put(key, text("ok"));
      expect(await kv.keys("a-b/")).toEqual([key]);
    });

    it("answers INVALID_ARGUMENT for a bad prefix or revision", async () => {
      await expectCode(kv.keys("a b"), Code.InvalidArgument);
      await expectCode(kv.update("models.x", text("x"), 0), Code.InvalidArgument);
      await expectCode(kv.delete("models.x", -1), Code.InvalidArgument);
    });

    it("answers INVALID_ARGUMENT for a value over the limit, pointing at the object store", async () => {
      const err = await expectCode(kv.put("models.big", new Uint8Array(KV_MAX_VALUE_BYTES + 1)), Code.InvalidArgument);
      expect(err.message).toMatch(/object store/);
      await kv.put("models.big", new Uint8Array(KV_MAX_VALUE_BYTES));
      expect((await kv.get("models.big"))?.value.byteLength).toBe(KV_MAX_VALUE_BYTES);
    });

    it("watch() reports puts and deletes under its prefix, in revision order", async () => {
      const seen = new Inbox<KvChange>();
      const stop = await kv.watch("models.", seen.push);
      const r1 = await kv.put("models.a", text("1"));
      await kv.put("other.x", text("ignored"));
      const r2 = await kv.update("models.a", text("2"), r1);
      await kv.delete("models.a");
      const changes = await seen.first(3);
      await stop();
      expect(changes.map((c) => [c.key, c.operation, read(c.value)])).toEqual([
        ["models.a", "put", "1"],
        ["models.a", "put", "2"],
        ["models.a", "delete", undefined],
      ]);
      expect(changes[0]?.revision).toBe(r1);
      expect(changes[1]?.revision).toBe(r2);
      expect(changes[2]?.revision).toBeGreaterThan(r2);
    });

    it("watch() uses a plain string prefix, like keys()", async () => {
      const seen = new Inbox<KvChange>();
      const stop = await kv.watch("models.a", seen.push);
      await kv.put("models.b", text("no"));
      await kv.put("models.ab", text("yes"));
      const [change] = await seen.first(1);
      await stop();
      expect(change?.key).toBe("models.ab");
    });

    it("delivers nothing to a stopped watch", async () => {
      const stopped = new Inbox<KvChange>();
      const stopFirst = await kv.watch("models.", stopped.push);
      const live = new Inbox<KvChange>();
      const stopLive = await kv.watch("models.", live.push);
      await kv.put("models.a", text("1"));
      await stopped.first(1);
      await stopFirst();
      await kv.put("models.b", text("2"));
      await live.first(2);
      await stopLive();
      expect(stopped.items.map((c) => c.key)).toEqual(["models.a"]);
    });

    it("keeps watching after a change handler throws", async () => {
      const seen = new Inbox<string>();
      const stop = await kv.watch("models.", (c) => {
        seen.push(c.key);
        if (c.key === "models.a") throw new Error("handler bug");
      });
      await kv.put("models.a", text("1"));
      await kv.put("models.b", text("2"));
      expect(await seen.first(2)).toEqual(["models.a", "models.b"]);
      await stop();
    });
  });
}
