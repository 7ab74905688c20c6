import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code } from "../../libs/errors/index.js";
import type { ObjectStore } from "../../libs/store/index.js";
import { expectCode } from "./expect-code.js";

export interface ObjectStoreFixture {
  store: ObjectStore;
  /** Removes what the store holds. */
  dispose(): Promise<void>;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

// Compare large buffers by hash: vitest's toEqual walks them element by element, slowly.

/** Deterministic, incompressible-looking bytes (so chunking bugs show up as wrong hashes). */
export function patternBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** `bytes` as a stream of chunks of `chunkSize`, the way a file or upload arrives. */
export async function* chunked(bytes: Uint8Array, chunkSize: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
}

async function readAll(source: AsyncIterable<Uint8Array> | undefined): Promise<{ bytes: Uint8Array; chunks: number }> {
  if (source === undefined) throw new Error("expected an object, got undefined");
  const parts: Uint8Array[] = [];
  for await (const chunk of source) parts.push(chunk);
  return { bytes: new Uint8Array(Buffer.concat(parts)), chunks: parts.length };
}

/** The behaviour every ObjectStore adapter must have; `open` gives a fresh, empty store per test. */
export function objectStoreContract(name: string, open: () => Promise<ObjectStoreFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: ObjectStoreFixture;
    let store: ObjectStore;
    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    it("renames an object without changing its content, refusing an absent source or a taken name", async () => {
      const bytes = patternBytes(300_000, 7);
      await store.put("uploads/tmp-1", chunked(bytes, 65_536));
      await store.put("taken", new Uint8Array([1]));
      const renamed = await store.rename("uploads/tmp-1", "sha256-abc");
      expect(renamed).toEqual({ name: "sha256-abc", size: bytes.byteLength, sha256: sha256(bytes) });
      expect(await store.has("uploads/tmp-1")).toBe(false);
      expect(sha256((await readAll(await store.get("sha256-abc"))).bytes)).toBe(sha256(bytes));
      await expectCode(store.rename("uploads/tmp-1", "other"), Code.NotFound);
      await expectCode(store.rename("sha256-abc", "taken"), Code.AlreadyExists);
      expect(await store.has("sha256-abc")).toBe(true);
    });

    it("stores a buffer and gives back the same bytes, size and sha256", async () => {
      const bytes = new TextEncoder().encode("hello, model");
      const info = await store.put("models/iris/1/model.onnx", bytes);
      expect(info).toEqual({ name: "models/iris/1/model.onnx", size: bytes.byteLength, sha256: sha256(bytes) });
      expect(await store.info("models/iris/1/model.onnx")).toEqual(info);
      expect(await store.has("models/iris/1/model.onnx")).toBe(true);
      expect((await readAll(await store.get("models/iris/1/model.onnx"))).bytes).toEqual(bytes);
    });

    it("streams a multi-megabyte object in and out in chunks, hash intact", async () => {
      const bytes = patternBytes(5 * 1024 * 1024 + 123);
      const info = await store.put("sha256/big", chunked(bytes, 64 * 1024 + 7));
      expect(info.size).toBe(bytes.byteLength);
      expect(info.sha256).toBe(sha256(bytes));
      const back = await readAll(await store.get("sha256/big"));
      expect(back.chunks).toBeGreaterThan(1);
      expect(back.bytes.byteLength).toBe(bytes.byteLength);
      expect(sha256(back.bytes)).toBe(info.sha256);
    });

    it("stores nothing when the source fails midway, and rethrows the source's error", async () => {
      const failure = new Error("upload interrupted");
      async function* broken(): AsyncIterable<Uint8Array> {
        yield patternBytes(300 * 1024, 2);
        yield patternBytes(300 * 1024, 3);
        throw failure;
      }
      await expect(store.put("models/partial", broken())).rejects.toBe(failure);
      expect(await store.has("models/partial")).toBe(false);
      expect(await store.info("models/partial")).toBeUndefined();
      expect(await store.get("models/partial")).toBeUndefined();
    });

    it("keeps the previous object when replacing it fails midway", async () => {
      const original = patternBytes(200 * 1024, 4);
      await store.put("models/keep", original);
      async function* broken(): AsyncIterable<Uint8Array> {
        yield patternBytes(200 * 1024, 5);
        throw new Error("upload interrupted");
      }
      await expect(store.put("models/keep", broken())).rejects.toThrow("upload interrupted");
      expect((await store.info("models/keep"))?.sha256).toBe(sha256(original));
      expect(sha256((await readAll(await store.get("models/keep"))).bytes)).toBe(sha256(original));
    });

    it("replaces an object put again under the same name", async () => {
      await store.put("models/x", patternBytes(1000, 6));
      const second = patternBytes(2000, 7);
      const info = await store.put("models/x", second);
      expect(info.sha256).toBe(sha256(second));
      expect(sha256((await readAll(await store.get("models/x"))).bytes)).toBe(sha256(second));
    });

    it("stores an empty object", async () => {
      const info = await store.put("models/empty", new Uint8Array(0));
      expect(info).toEqual({ name: "models/empty", size: 0, sha256: sha256(new Uint8Array(0)) });
      const back = await readAll(await store.get("models/empty"));
      expect(back.bytes.byteLength).toBe(0);
    });

    it("answers undefined/false for an object that is not there", async () => {
      expect(await store.get("models/none")).toBeUndefined();
      expect(await store.info("models/none")).toBeUndefined();
      expect(await store.has("models/none")).toBe(false);
      expect(await store.delete("models/none")).toBe(false);
    });

    it("delete() removes an object and says it did", async () => {
      await store.put("models/gone", patternBytes(1000, 8));
      expect(await store.delete("models/gone")).toBe(true);
      expect(await store.has("models/gone")).toBe(false);
      expect(await store.get("models/gone")).toBeUndefined();
    });

    it("stays usable after a reader stops early", async () => {
      const bytes = patternBytes(3 * 1024 * 1024, 9);
      await store.put("models/early", bytes);
      const source = await store.get("models/early");
      for await (const chunk of source ?? []) {
        expect(chunk.byteLength).toBeGreaterThan(0);
        break;
      }
      expect(sha256((await readAll(await store.get("models/early"))).bytes)).toBe(sha256(bytes));
    });

    it.each(["", "a b", "naïve", "x".repeat(256), "a\\b", "a:b"])("answers INVALID_ARGUMENT for the name %j", async (bad) => {
      await expectCode(store.put(bad, new Uint8Array(1)), Code.InvalidArgument);
      await expectCode(store.get(bad), Code.InvalidArgument);
      await expectCode(store.has(bad), Code.InvalidArgument);
    });

    it("accepts every character of the name alphabet, and a 255-character name", async () => {
      await store.put("a-b/c_d=e.F9", new Uint8Array([1]));
      expect(await store.has("a-b/c_d=e.F9")).toBe(true);
      await store.put("n".repeat(255), new Uint8Array([2]));
      expect(await store.has("n".repeat(255))).toBe(true);
    });
  });
}
