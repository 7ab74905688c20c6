import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { Objm } from "@nats-io/obj";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { UploadModelVersionRequest_HeaderSchema } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { buildMlp, withExternalData } from "../../libs/onnx/index.js";
import { DEFAULT_REGISTRY_LIMITS } from "../../services/registry/registry-limits.js";
import { downloadArtifact, uploadModelVersion } from "../../libs/registry-client/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { failure } from "../support/call-outcome.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const modelName = (prefix: string) => uniqueName(prefix).replace(/_/g, "-");

// Weights in two files, one in a subfolder, as exporters that split by tensor write them.
const inline = buildMlp({ name: "ext", layers: [16, 32, 1], seed: 7 });
const split = withExternalData(inline, (_tensor, index) => (index % 2 === 0 ? "weights.bin" : "data/odd.bin"));
const files = [...split.files].map(([path, bytes]) => ({ path, bytes }));

/** Bounded poll: the registry removes a cancelled upload's temporary objects once it notices the cancel. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(["nats", "embedded"] as const)("a model with external data, over %s", (mode) => {
  let registry: TestRegistry;
  let nc: NatsConnection | undefined;
  const limits = { ...DEFAULT_REGISTRY_LIMITS, maxExternalDataFiles: 3, maxVersionBytes: 1024 * 1024 };

  /** Every object in the artifact store, to show a refused upload left nothing behind. */
  async function storedObjects(): Promise<string[]> {
    if (mode === "embedded") return (await readdir(join(registry.dataDir, registry.artifactBucket))).sort();
    const store = await new Objm(nc!).open(registry.artifactBucket);
    return (await store.list()).map((info) => info.name).sort();
  }

  function rawUpload(header: Parameters<typeof create<typeof UploadModelVersionRequest_HeaderSchema>>[1], chunks: Uint8Array[], signal?: AbortSignal, hold?: Promise<void>) {
    async function* messages() {
      yield { payload: { case: "header" as const, value: create(UploadModelVersionRequest_HeaderSchema, header) } };
      for (const chunk of chunks) yield { payload: { case: "chunk" as const, value: chunk } };
      if (hold) await hold;
    }
    return registry.client.uploadModelVersion(messages(), { signal });
  }

  const headerFor = (model: string, externalData = files) => ({
    model,
    createModel: true,
    sizeBytes: BigInt(split.model.byteLength),
    sha256: sha(split.model),
    externalData: externalData.map((file) => ({ path: file.path, sizeBytes: BigInt(file.bytes.byteLength), sha256: sha(file.bytes) })),
  });

  beforeAll(async () => {
    registry = await startTestRegistry({ mode, maxArtifactBytes: 1024 * 1024, limits });
    if (mode === "nats") nc = await connect({ servers: testNatsUrl(), name: "test-external-data" });
  });
  afterAll(async () => {
    await nc?.drain();
    await registry?.stop();
  });

  it("stores the model and every file, records each with its size and sha256, and gives them all back", async () => {
    const model = modelName("ext");
    const version = await uploadModelVersion(registry.client, { model, createModel: true }, split.model, { externalData: files });
    expect(version.artifact?.sha256).toBe(sha(split.model));
    expect(version.artifact?.externalData.map((f) => ({ path: f.path, sizeBytes: f.sizeBytes, sha256: f.sha256 }))).toEqual(
      files.map((f) => ({ path: f.path, sizeBytes: BigInt(f.bytes.byteLength), sha256: sha(f.bytes) })),
    );
    expect(version.signature?.inputs.map((i) => i.name)).toEqual(["x"]);
    // Content-addressed like every artifact.
    const objects = await registry.backends.objects(registry.artifactBucket);
    for (const file of files) expect(await objects.info(`sha256-${sha(file.bytes)}`)).toMatchObject({ size: file.bytes.byteLength });

    const all = await downloadArtifact(registry.client, { model, selector: { case: "version", value: 1 } }, { includeExternalData: true, chunkSize: 1000 });
    expect(sha(all.bytes)).toBe(sha(split.model));
    expect(all.externalData.map((f) => [f.path, sha(f.bytes)])).toEqual(files.map((f) => [f.path, sha(f.bytes)]));
    // A client that predates external data asks for the artifact alone, and gets exactly the model file.
    const old = await downloadArtifact(registry.client, { model, selector: { case: "version", value: 1 } });
    expect(sha(old.bytes)).toBe(sha(split.model));
    expect(old.externalData).toEqual([]);
  });

  it("keeps a model in one file as it was: no external data in its record", async () => {
    const version = await uploadModelVersion(registry.client, { model: modelName("one"), createModel: true }, inline);
    expect(version.artifact?.externalData).toEqual([]);
  });

  it.each([
    ["a path that leaves the model's folder", "../weights.bin", /external_data\[0\]\.path "\.\.\/weights\.bin" is not a plain relative file path: it contains "\.\."/],
    ["an absolute path", "/etc/weights.bin", /is absolute/],
    ["a path with odd characters", "we ights.bin", /not letters, digits/],
  ])("refuses %s with INVALID_ARGUMENT, storing nothing", async (_case, path, message) => {
    const model = modelName("bad");
    const before = await storedObjects();
    const error = await failure(rawUpload(headerFor(model, [{ path, bytes: files[0]!.bytes }, files[1]!]), [split.model, files[0]!.bytes, files[1]!.bytes]));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(message);
    expect(await storedObjects()).toEqual(before);
    expect((await failure(registry.client.getModel({ name: model }))).code).toBe(Code.NotFound);
  });

  it("refuses a repeated path with INVALID_ARGUMENT", async () => {
    const error = await failure(rawUpload(headerFor(modelName("dup"), [files[0]!, files[0]!]), []));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(/repeats "weights\.bin"/);
  });

  it("refuses a model whose data file is not in the upload with FAILED_PRECONDITION naming it, storing nothing", async () => {
    const model = modelName("miss");
    const before = await storedObjects();
    const error = await failure(rawUpload(headerFor(model, [files[0]!]), [split.model, files[0]!.bytes]));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toMatch(/keeps tensor data in "data\/odd\.bin" \(tensor "[^"]+" reads "data\/odd\.bin"\), which the upload does not include: send it in header\.external_data/);
    expect(await storedObjects()).toEqual(before);
    expect((await failure(registry.client.getModel({ name: model }))).code).toBe(Code.NotFound);
  });

  it("refuses a data file shorter than what the model reads from it (FAILED_PRECONDITION)", async () => {
    const short = { path: "data/odd.bin", bytes: files[1]!.bytes.subarray(0, 8) };
    const error = await failure(uploadModelVersion(registry.client, { model: modelName("short"), createModel: true }, split.model, { externalData: [files[0]!, short] }));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toMatch(/reads bytes \d+\.\.\d+ of "data\/odd\.bin", which holds 8 bytes/);
  });

  it("refuses more files, or more bytes in all, than the caps allow (INVALID_ARGUMENT, before any byte is sent)", async () => {
    const four = ["a.bin", "b.bin", "c.bin", "d.bin"].map((path) => ({ path, bytes: new Uint8Array(4) }));
    const many = await failure(rawUpload(headerFor(modelName("cap"), four), []));
    expect(many.code).toBe(Code.InvalidArgument);
    expect(many.rawMessage).toMatch(/lists 4 files; at most 3 \(TESSERA_MAX_EXTERNAL_DATA_FILES\)/);
    const big = await failure(rawUpload({ ...headerFor(modelName("cap")), externalData: [{ path: "w.bin", sizeBytes: 2n * 1024n * 1024n }] }, []));
    expect(big.code).toBe(Code.InvalidArgument);
    expect(big.rawMessage).toMatch(/TESSERA_MAX_VERSION_BYTES/);
  });

  it("leaves nothing behind when the stream ends inside a data file", async () => {
    const model = modelName("cut");
    const before = await storedObjects();
    const error = await failure(rawUpload(headerFor(model), [split.model, files[0]!.bytes, files[1]!.bytes.subarray(0, 10)]));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(/ended after 10 of \d+ bytes of external data file "data\/odd\.bin"; nothing was stored/);
    expect(await storedObjects()).toEqual(before);
    expect((await failure(registry.client.getModel({ name: model }))).code).toBe(Code.NotFound);
  });

  it("leaves nothing behind when the client goes away in the middle of a data file", async () => {
    const model = modelName("gone");
    const before = await storedObjects();
    const controller = new AbortController();
    // The model and the first bytes of a data file, then silence until the client gives up.
    const upload = rawUpload(headerFor(model), [split.model, files[0]!.bytes.subarray(0, 16)], controller.signal, new Promise<void>(() => {}));
    // The model file is stored (under its temporary name) once the data file's first bytes arrive: the upload is mid-way.
    await eventually(async () => (await storedObjects()).length > before.length, "the upload has stored the model file");
    controller.abort();
    expect((await failure(upload)).code).toBe(Code.Canceled);
    await eventually(async () => JSON.stringify(await storedObjects()) === JSON.stringify(before), "the cancelled upload's temporary objects are gone");
    expect((await failure(registry.client.getModel({ name: model }))).code).toBe(Code.NotFound);
  });

  it("answers a retry with the same idempotency key with the same version, and another set of files under it with FAILED_PRECONDITION", async () => {
    const model = modelName("idem");
    const header = { ...headerFor(model), idempotencyKey: "push-1" };
    const chunks = [split.model, ...files.map((f) => f.bytes)];
    const first = await rawUpload(header, chunks);
    const again = await rawUpload(header, chunks);
    expect(again.modelVersion?.version).toBe(first.modelVersion?.version);
    // Same model file, other weights: the key was for the first set.
    const other = withExternalData(buildMlp({ name: "ext", layers: [16, 32, 1], seed: 8 }), (_t, i) => (i % 2 === 0 ? "weights.bin" : "data/odd.bin"));
    expect(sha(other.model)).toBe(sha(split.model));
    const otherFiles = [...other.files].map(([path, bytes]) => ({ path, bytes }));
    const error = await failure(rawUpload({ ...headerFor(model, otherFiles), idempotencyKey: "push-1" }, [other.model, ...otherFiles.map((f) => f.bytes)]));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toMatch(/idempotency_key "push-1" was used for another artifact/);
  });
});
