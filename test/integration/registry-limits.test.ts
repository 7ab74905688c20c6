import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { openNatsEventBus, type BusEvent, type EventBus } from "../../libs/events/index.js";
import { AliasMovedSchema, ModelVersionCreatedSchema } from "../../libs/gen/tessera/events/v1/registry_events_pb.js";
import { UploadModelVersionRequest_HeaderSchema, type UploadModelVersionRequest } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { meshNames } from "../../libs/mesh-names/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { openNatsKv } from "../../libs/store/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { DEFAULT_REGISTRY_LIMITS } from "../../services/registry/registry-limits.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";

const fraud = exampleModel("fraud").build();
const fraudSha = createHash("sha256").update(fraud).digest("hex");
const name = () => uniqueName("l").replace(/_/g, "-");

async function errorOf(promise: Promise<unknown>): Promise<ConnectError | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
}

/** An upload that sends its header and then `chunks`, holding the stream open until `release` resolves. */
function stalledUpload(registry: TestRegistry, model: string, release: Promise<void>) {
  async function* messages(): AsyncGenerator<UploadModelVersionRequest> {
    yield { $typeName: "tessera.registry.v1.UploadModelVersionRequest", payload: { case: "header", value: create(UploadModelVersionRequest_HeaderSchema, { model, createModel: true, sizeBytes: BigInt(fraud.byteLength) }) } };
    await release;
  }
  return registry.client.uploadModelVersion(messages(), { timeoutMs: 30_000 });
}

describe("registry limits", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ limits: { ...DEFAULT_REGISTRY_LIMITS, maxConcurrentUploads: 1, uploadIdleTimeoutMs: 3000, maxAliases: 3, maxTags: 2 } });
  });
  afterAll(async () => registry.stop());

  it("refuses an upload past the concurrency cap with RESOURCE_EXHAUSTED, and takes it once the slot is free", async () => {
    let release!: () => void;
    const held = stalledUpload(registry, name(), new Promise<void>((resolve) => (release = resolve)));
    // The first upload holds the only slot until it times out as idle. A probe with a bad model
    // name answers INVALID_ARGUMENT while a slot is free, so it shows when the slot is taken.
    await expect.poll(async () => (await errorOf(uploadModelVersion(registry.client, { model: "Bad!" }, fraud)))?.code, { timeout: 5_000, interval: 20 }).toBe(Code.ResourceExhausted);
    const refused = await errorOf(uploadModelVersion(registry.client, { model: name(), createModel: true }, fraud));
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.rawMessage).toMatch(/TESSERA_MAX_CONCURRENT_UPLOADS/);
    const idle = await errorOf(held);
    release();
    expect(idle?.code).toBe(Code.DeadlineExceeded);
    expect(idle?.rawMessage).toMatch(/sent nothing for 3000 ms; nothing was stored/);
    expect((await uploadModelVersion(registry.client, { model: name(), createModel: true }, fraud)).version).toBe(1);
  });

  it("refuses too many aliases or tags before storing the artifact, saying what to do", async () => {
    const objects = await registry.backends.objects(registry.artifactBucket);
    await objects.delete(`sha256-${fraudSha}`);
    const model = name();
    const tooMany = await errorOf(uploadModelVersion(registry.client, { model, createModel: true, aliases: ["a", "b", "c", "d"] }, fraud));
    expect(tooMany?.code).toBe(Code.FailedPrecondition);
    expect(tooMany?.rawMessage).toMatch(/would have 4 aliases; at most 3 \(TESSERA_MAX_ALIASES\): delete unused aliases first/);
    const tags = await errorOf(uploadModelVersion(registry.client, { model, createModel: true, tags: { a: "1", b: "2", c: "3" } }, fraud));
    expect(tags?.code).toBe(Code.InvalidArgument);
    expect(await objects.has(`sha256-${fraudSha}`)).toBe(false);

    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["a", "b", "c"] }, fraud);
    expect((await errorOf(registry.client.setAlias({ model, alias: "d", version: 1 })))?.code).toBe(Code.FailedPrecondition);
    expect(await errorOf(registry.client.setAlias({ model, alias: "a", version: 1 }))).toBeUndefined();
  });

  it("refuses a record that would not fit in one KV value before storing the artifact", async () => {
    const objects = await registry.backends.objects(registry.artifactBucket);
    await objects.delete(`sha256-${fraudSha}`);
    const error = await errorOf(uploadModelVersion(registry.client, { model: name(), createModel: true, metrics: Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`m${i}`, i])) }, fraud));
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(error?.rawMessage).toMatch(/over the 1000000 bytes one record may hold: remove tags, aliases or metrics/);
    expect(await objects.has(`sha256-${fraudSha}`)).toBe(false);
  });

  it("treats constructor and __proto__ as names, not as Object.prototype's", async () => {
    const model = name();
    await uploadModelVersion(registry.client, { model, createModel: true }, fraud);
    const missing = await errorOf(registry.client.deleteAlias({ model, alias: "constructor" }));
    expect(missing?.code).toBe(Code.NotFound);
    const proto = await errorOf(registry.client.getModelVersion({ version: { model, selector: { case: "alias", value: "__proto__" } } }));
    expect(proto?.code).toBe(Code.InvalidArgument);
    expect((await errorOf(registry.client.getModelVersion({ version: { model, selector: { case: "alias", value: "constructor" } } })))?.code).toBe(Code.NotFound);
    await registry.client.setAlias({ model, alias: "constructor", version: 1 });
    expect((await registry.client.getModelVersion({ version: { model, selector: { case: "alias", value: "constructor" } } })).modelVersion?.version).toBe(1);
  });
});

describe("registry events and mesh names", () => {
  const mesh = `m${uniqueName("").replace(/[^a-z0-9]/g, "").slice(-10)}`;
  let registry: TestRegistry;
  let nc: NatsConnection;
  let bus: EventBus;
  beforeAll(async () => {
    registry = await startTestRegistry({ mesh, metadataBucket: "tessera_registry", artifactBucket: "tessera_artifacts" });
    nc = await connect({ servers: testNatsUrl(), name: "test-events" });
    bus = await openNatsEventBus(nc, { names: meshNames(mesh) });
  });
  afterAll(async () => {
    await bus.close();
    await nc.drain();
    await registry.stop();
  });

  it("publishes under the mesh's subjects, keeps records in its buckets, and stamps each event with the record's revision", async () => {
    const moved: BusEvent<{ version: number; revision: bigint }>[] = [];
    const created: bigint[] = [];
    const unsubscribe = await bus.subscribe("tessera.registry.alias.moved", AliasMovedSchema, (event) => void moved.push(event));
    const unsubscribeCreated = await bus.subscribe("tessera.registry.model_version.created", ModelVersionCreatedSchema, (event) => void created.push(event.message.revision));
    // A subscriber in the default mesh sees none of it. Other test files share this NATS and write in the
    // default mesh, so only events about this test's model count as leaked.
    const model = name();
    const other = await openNatsEventBus(nc, { names: meshNames() });
    const leaked: string[] = [];
    const unsubscribeOther = await other.subscribe("tessera.registry.>", [AliasMovedSchema, ModelVersionCreatedSchema], (event) => {
      const message = event.message;
      const about = message.$typeName === "tessera.events.v1.AliasMoved" ? message.model : message.modelVersion?.model;
      if (about === model) leaked.push(event.subject);
    });

    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud);
    await uploadModelVersion(registry.client, { model }, fraud);
    await registry.client.setAlias({ model, alias: "production", version: 2 });
    while (moved.length < 2 || created.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));

    expect(moved.map((e) => e.subject)).toEqual(["tessera.registry.alias.moved", "tessera.registry.alias.moved"]);
    expect(moved.map((e) => e.message.version)).toEqual([1, 2]);
    const kv = await openNatsKv(nc, { bucket: `${mesh}_registry` });
    const record = await kv.get(`models.${model}`);
    // The last write's event carries the revision the model record now has; earlier ones carry smaller ones.
    expect(moved[1]!.message.revision).toBe(BigInt(record!.revision));
    expect(moved[0]!.message.revision).toBeLessThan(moved[1]!.message.revision);
    expect(created[0]!).toBeLessThan(created[1]!);
    expect(leaked).toEqual([]);
    await Promise.all([unsubscribe(), unsubscribeCreated(), unsubscribeOther(), other.close(), kv.close()]);
  });
});
