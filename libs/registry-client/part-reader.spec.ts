import { describe, expect, it } from "vitest";
import { artifactDigest } from "./artifact-digest.js";
import { PartReader } from "./part-reader.js";

async function* from(chunks: number[][]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield Uint8Array.from(chunk);
}

async function collect(part: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of part) out.push(...chunk);
  return out;
}

describe("PartReader", () => {
  it("cuts chunks that span parts, and says when nothing is left", async () => {
    const reader = new PartReader(from([[1, 2, 3], [], [4, 5, 6, 7], [8]])[Symbol.asyncIterator]());
    expect(await collect(reader.take(2))).toEqual([1, 2]);
    expect(await collect(reader.take(5))).toEqual([3, 4, 5, 6, 7]);
    expect(await collect(reader.take(0))).toEqual([]);
    expect(await collect(reader.take(1))).toEqual([8]);
    expect(await reader.hasMore()).toBe(false);
  });

  it("ends a part early when the source ends, and reports bytes beyond the last part", async () => {
    const short = new PartReader(from([[1, 2]])[Symbol.asyncIterator]());
    expect(await collect(short.take(4))).toEqual([1, 2]);
    expect(await collect(short.take(4))).toEqual([]);
    const long = new PartReader(from([[1, 2, 3]])[Symbol.asyncIterator]());
    expect(await collect(long.take(2))).toEqual([1, 2]);
    expect(await long.hasMore()).toBe(true);
    expect(await collect(long.take(9))).toEqual([3]);
  });
});

describe("artifactDigest()", () => {
  const model = "a".repeat(64);
  it("is the model's sha256 for a single file, and changes with any file beside it", () => {
    expect(artifactDigest({ sha256: model, externalData: [] })).toBe(model);
    const one = artifactDigest({ sha256: model, externalData: [{ path: "w.bin", sha256: "b".repeat(64) }] });
    expect(one).toMatch(/^[0-9a-f]{64}$/);
    expect(one).not.toBe(model);
    expect(artifactDigest({ sha256: model, externalData: [{ path: "w.bin", sha256: "c".repeat(64) }] })).not.toBe(one);
    expect(artifactDigest({ sha256: model, externalData: [{ path: "v.bin", sha256: "b".repeat(64) }] })).not.toBe(one);
  });

  it("does not depend on the order files are listed in", () => {
    const a = { path: "a.bin", sha256: "1".repeat(64) };
    const b = { path: "b.bin", sha256: "2".repeat(64) };
    expect(artifactDigest({ sha256: model, externalData: [a, b] })).toBe(artifactDigest({ sha256: model, externalData: [b, a] }));
  });
});
