import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { ModelCache } from "./model-cache.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("ModelCache", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "model-cache-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a model once under its sha256 and hands back its path", async () => {
    const cache = new ModelCache(dir);
    const bytes = new TextEncoder().encode("pretend onnx");
    const path = await cache.put(sha(bytes), bytes);
    expect(path).toBe(join(dir, sha(bytes), "model.onnx"));
    expect(new Uint8Array(await readFile(path))).toEqual(bytes);
    expect(await cache.put(sha(bytes), bytes)).toBe(path);
    // Nothing but the model in its folder: the temporary file was renamed, not left behind.
    expect(await readdir(join(dir, sha(bytes)))).toEqual(["model.onnx"]);
    expect(await cache.has(sha(bytes))).toBe(true);
  });

  it("refuses bytes that do not hash to the sha256 given", async () => {
    const cache = new ModelCache(dir);
    const bytes = new TextEncoder().encode("one");
    await expect(cache.put(sha(new TextEncoder().encode("other")), bytes)).rejects.toMatchObject({ code: Code.DataLoss });
    expect(await readdir(dir)).toEqual([]);
  });

  it("replaces a damaged file rather than loading it", async () => {
    const cache = new ModelCache(dir);
    const bytes = new TextEncoder().encode("the real model");
    const path = cache.pathOf(sha(bytes));
    await cache.put(sha(bytes), bytes);
    await writeFile(path, "truncated");
    expect(await cache.has(sha(bytes))).toBe(false);
    await cache.put(sha(bytes), bytes);
    expect(new Uint8Array(await readFile(path))).toEqual(bytes);
  });

  it("takes only a sha256 as a folder name", () => {
    expect(() => new ModelCache(dir).pathOf("../../etc")).toThrow(/not a sha256/);
  });

  it("streams a version's files into one folder, the external data under the paths the model names", async () => {
    const cache = new ModelCache(dir);
    const model = new TextEncoder().encode("model");
    const weights = new TextEncoder().encode("weights");
    const digest = "d".repeat(64);
    const files = [
      { path: "", sha256: sha(model) },
      { path: "data/w.bin", sha256: sha(weights) },
    ];
    expect(await cache.hasFiles(digest, files)).toBe(false);
    await cache.writeFile(digest, files[0]!, [model.subarray(0, 2), model.subarray(2)]);
    expect(await cache.hasFiles(digest, files)).toBe(false); // the weights are not there yet
    await cache.writeFile(digest, files[1]!, [weights]);
    expect(await cache.hasFiles(digest, files)).toBe(true);
    expect(new Uint8Array(await readFile(join(dir, digest, "data", "w.bin")))).toEqual(weights);
    expect((await readdir(join(dir, digest))).sort()).toEqual(["data", "model.onnx"]);
  });

  it("keeps nothing of a stream that fails or hashes wrong", async () => {
    const cache = new ModelCache(dir);
    const digest = "e".repeat(64);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(4);
      throw new Error("connection lost");
    }
    await expect(cache.writeFile(digest, { path: "w.bin", sha256: "0".repeat(64) }, failing())).rejects.toThrow(/connection lost/);
    await expect(cache.writeFile(digest, { path: "w.bin", sha256: "0".repeat(64) }, [new Uint8Array(4)])).rejects.toMatchObject({ code: Code.DataLoss });
    expect(await readdir(join(dir, digest))).toEqual([]);
  });

  it("refuses an external data path that would leave the version's folder", async () => {
    const cache = new ModelCache(dir);
    await expect(cache.writeFile("f".repeat(64), { path: "../../escape.bin", sha256: "0".repeat(64) }, [])).rejects.toThrow(/cannot be cached/);
  });
});
