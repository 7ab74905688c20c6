import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelState } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { buildMlp, withExternalData } from "../../libs/onnx/index.js";
import { artifactDigest, uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const spec = (seed: number) => ({ name: "ext", layers: [16, 64, 32, 1], seed });
/** Weights split over two files, one in a subfolder. */
const split = (seed: number) => withExternalData(buildMlp(spec(seed)), (_tensor, index) => (index % 2 === 0 ? "weights.bin" : "layers/odd.bin"));
const filesOf = (model: ReturnType<typeof split>) => [...model.files].map(([path, bytes]) => ({ path, bytes }));

const rows = 3;
const input = Float32Array.from({ length: rows * 16 }, (_, i) => Math.sin(i * 0.37));

describe("a replica serving a model with external data", () => {
  let registry: TestRegistry;
  let replica: TestReplica;
  let cacheDir: string;
  const external = uniqueName("ext").replace(/_/g, "-");
  const inline = uniqueName("inl").replace(/_/g, "-");
  const v1 = split(1);
  const v2 = split(2);

  beforeAll(async () => {
    // Seeds 1 and 2 differ only in their weights: their model files are the same bytes, their data files are not.
    expect(sha(v1.model)).toBe(sha(v2.model));
    cacheDir = await mkdtemp(join(tmpdir(), "tessera-ext-cache-"));
    registry = await startTestRegistry({ mode: "nats" });
    await uploadModelVersion(registry.client, { model: external, createModel: true }, v1.model, { externalData: filesOf(v1) });
    await uploadModelVersion(registry.client, { model: external }, v2.model, { externalData: filesOf(v2) });
    await uploadModelVersion(registry.client, { model: inline, createModel: true }, buildMlp(spec(1)));
    await uploadModelVersion(registry.client, { model: inline }, buildMlp(spec(2)));
    replica = await startTestReplica(registry, {
      serve: [
        { model: external, version: 1 },
        { model: external, version: 2 },
        { model: inline, version: 1 },
        { model: inline, version: 2 },
      ],
      config: { modelCacheDir: cacheDir },
    });
  });

  afterAll(async () => {
    await replica?.stop();
    await registry?.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  async function predict(model: string, version: number): Promise<number[]> {
    const response = await replica.client.predict({ model, version, inputs: [{ name: "x", dtype: DataType.FLOAT32, shape: [BigInt(rows), 16n], floatData: Array.from(input) }] });
    expect(response).toMatchObject({ model, version });
    return response.outputs[0]!.floatData;
  }

  it("loads every version READY", async () => {
    const { models } = await replica.client.listServedModels({});
    const mine = models.filter((m) => m.model === external).map((m) => [m.version, m.state]);
    expect(mine.sort()).toEqual([
      [1, ModelState.READY],
      [2, ModelState.READY],
    ]);
  });

  it("answers Predict over gRPC exactly as the same model with its weights inline", async () => {
    for (const version of [1, 2]) {
      const fromExternal = await predict(external, version);
      expect(fromExternal).toHaveLength(rows);
      expect(fromExternal).toEqual(await predict(inline, version));
    }
    // Two versions with one model file and different weights answer differently: each loaded its own data files.
    expect(await predict(external, 1)).not.toEqual(await predict(external, 2));
  });

  it("keeps each version's files in a cache folder of their own, checked against the record", async () => {
    for (const [version, model] of [
      [1, v1],
      [2, v2],
    ] as const) {
      const { modelVersion } = await registry.client.getModelVersion({ version: { model: external, selector: { case: "version", value: version } } });
      const folder = join(cacheDir, artifactDigest(modelVersion!.artifact!));
      expect(sha(await readFile(join(folder, "model.onnx")))).toBe(sha(model.model));
      expect(sha(await readFile(join(folder, "weights.bin")))).toBe(sha(model.files.get("weights.bin")!));
      expect(sha(await readFile(join(folder, "layers", "odd.bin")))).toBe(sha(model.files.get("layers/odd.bin")!));
      expect((await readdir(folder)).sort()).toEqual(["layers", "model.onnx", "weights.bin"]);
    }
  });
});
