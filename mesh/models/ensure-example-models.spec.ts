import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readSignature } from "../../libs/onnx/index.js";
import { ensureExampleModels } from "./ensure-example-models.js";
import { exampleModels } from "./example-models.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("ensureExampleModels()", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-models-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes every catalogue model, then leaves identical files alone", async () => {
    const first = await ensureExampleModels(join(dir, "models"));
    expect(first.map((f) => [f.name, f.written])).toEqual(exampleModels.map((m) => [m.name, true]));
    for (const file of first) expect(sha256(await readFile(file.path))).toBe(file.sha256);

    const second = await ensureExampleModels(join(dir, "models"));
    expect(second.map((f) => f.written)).toEqual(exampleModels.map(() => false));
    expect(second.map((f) => f.sha256)).toEqual(first.map((f) => f.sha256));
    expect((await readdir(join(dir, "models"))).sort()).toEqual(exampleModels.map((m) => m.file).sort());
  });

  it("replaces a damaged file", async () => {
    const [fraud] = await ensureExampleModels(dir);
    await writeFile(join(dir, "fraud.onnx"), "not a model");
    const again = await ensureExampleModels(dir);
    expect(again.find((f) => f.name === "fraud")?.written).toBe(true);
    expect(sha256(await readFile(join(dir, "fraud.onnx")))).toBe(fraud?.sha256);
  });

  it("writes files readSignature reads back from disk (Node Buffers, pooled or not)", async () => {
    const files = await ensureExampleModels(dir);
    for (const file of files) {
      const signature = readSignature(await readFile(file.path));
      expect(signature.inputs.length).toBeGreaterThan(0);
      expect(signature.producerName).toBe("tessera");
    }
  });

  it("keeps wide.onnx under 40 MB", async () => {
    const files = await ensureExampleModels(dir);
    expect(files.find((f) => f.name === "wide")?.bytes).toBeLessThan(40e6);
  });
});

describe("example model builds", () => {
  it.each(exampleModels.map((m) => [m.name, m] as const))("%s: building twice gives byte-identical output", (_name, model) => {
    expect(sha256(model.build())).toBe(sha256(model.build()));
  });
});
