import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { modelBytes } from "./model-size.js";

describe("modelBytes()", () => {
  it("counts bytes, and a file's whole folder (external data beside it), stopping once past the limit", async () => {
    const dir = await mkdtemp(join(tmpdir(), "model-size-"));
    try {
      await writeFile(join(dir, "model.onnx"), new Uint8Array(100));
      await mkdir(join(dir, "data"));
      await writeFile(join(dir, "data", "weights.bin"), new Uint8Array(1000));
      expect(await modelBytes(new Uint8Array(42), 10)).toBe(42);
      expect(await modelBytes(join(dir, "model.onnx"), 1_000_000)).toBe(1100);
      expect(await modelBytes(join(dir, "model.onnx"), 50)).toBeGreaterThan(50);
      expect(await modelBytes(join(dir, "gone", "model.onnx"), 1_000_000)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
