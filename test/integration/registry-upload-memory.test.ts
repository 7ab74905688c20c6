import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { uploadModelVersionStream } from "../../libs/registry-client/index.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { largeModel } from "../support/large-model.js";

const MiB = 1024 * 1024;

// The registry runs in this process, so this process's RSS is the registry's
// (plus the client's, which generates the model as it sends it).
describe("a large upload", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ maxArtifactBytes: 512 * MiB });
  });
  afterAll(async () => registry.stop());

  it("streams a 200 MB model into the store with memory bounded by a chunk, not the artifact", async () => {
    const model = largeModel(200 * MiB);
    const hash = createHash("sha256");
    for await (const chunk of model.chunks()) hash.update(chunk);
    const sha256 = hash.digest("hex");

    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let version;
    try {
      version = await uploadModelVersionStream(registry.client, { model: "large", createModel: true, sizeBytes: model.sizeBytes, sha256 }, model.chunks());
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);

    expect(version.artifact?.sha256).toBe(sha256);
    expect(version.artifact?.sizeBytes).toBe(BigInt(model.sizeBytes));
    expect(version.signature?.inputs.map((t) => [t.name, t.dtype])).toEqual([["x", DataType.FLOAT32]]);
    const info = await (await registry.backends.objects(registry.artifactBucket)).info(`sha256-${sha256}`);
    expect(info).toEqual({ name: `sha256-${sha256}`, size: model.sizeBytes, sha256 });
    // Holding the artifact whole (as the registry once did, twice over with Buffer.concat) grows RSS by 200-400 MB.
    expect((peak - baseline) / MiB).toBeLessThan(100);
  }, 300_000);
});
