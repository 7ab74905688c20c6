import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ModelSchema } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import type { KvStore, ObjectStore } from "../../libs/store/index.js";
import { faultyKvStore, startNatsServer, uniqueName, type FaultyKvStore, type NatsServerHandle } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { callCode } from "../support/call-outcome.js";

const require = createRequire(import.meta.url);
const fraud = exampleModel("fraud").build();
const fraudSha = createHash("sha256").update(fraud).digest("hex");
const MODEL_UPDATES = "models.";

/** What the registry left in its stores for `model`, read straight from the buckets. */
async function storedState(kv: KvStore, objects: ObjectStore, model: string) {
  const versions = (await kv.keys(`versions.${model}.`)).map((key) => Number(key.slice(key.lastIndexOf(".") + 1)));
  const entry = await kv.get(`models.${model}`);
  const record = entry && fromBinary(ModelSchema, entry.value);
  return {
    versions,
    aliases: record ? { ...record.aliases } : undefined,
    latestVersion: record?.latestVersion,
    artifactStored: await objects.has(`sha256-${fraudSha}`),
  };
}

function healthClient(address: string) {
  const healthProto = grpc.loadPackageDefinition(protoLoader.loadSync(require.resolve("grpc-health-check/proto/health/v1/health.proto"), { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const client = new healthProto.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  return {
    check: () =>
      new Promise<string>((resolve, reject) =>
        client.check!({ service: "" }, (error: grpc.ServiceError | null, response: { status: string }) => (error ? reject(error) : resolve(response.status))),
      ),
    close: () => client.close(),
  };
}

async function readyz(httpAddress: string): Promise<{ status: number; body: { status: string; reason?: string } }> {
  const response = await fetch(`http://${httpAddress}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; reason?: string } };
}

// A private nats-server, so stopping it does not disturb other test files.
describe("registry while NATS restarts", () => {
  let nats: NatsServerHandle;
  let registry: TestRegistry;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    registry = await startTestRegistry({ mode: "nats", natsUrl: nats.url });
  });

  afterAll(async () => {
    await registry.stop();
    await nats.stop();
  });

  it("reports not ready with the reason during the outage, fails writes cleanly, and is whole after reconnecting", async () => {
    const kv = await registry.backends.kv(registry.metadataBucket);
    const objects = await registry.backends.objects(registry.artifactBucket);
    const health = healthClient(registry.host.grpcAddress);
    await uploadModelVersion(registry.client, { model: "before", createModel: true, aliases: ["production"] }, fraud);
    expect((await readyz(registry.host.httpAddress)).status).toBe(200);
    expect(await health.check()).toBe("SERVING");

    await nats.stop({ keepStore: true });
    await expect.poll(async () => (await readyz(registry.host.httpAddress)).status, { timeout: 20_000, interval: 200 }).toBe(503);
    expect((await readyz(registry.host.httpAddress)).body.reason).toMatch(/lost the connection to NATS/);
    expect(await health.check()).toBe("NOT_SERVING");
    const during = await callCode(registry.client.setAlias({ model: "before", alias: "staging", version: 1 }, { timeoutMs: 15_000 }));
    expect([Code.Unavailable, Code.DeadlineExceeded]).toContain(during);

    await nats.restart();
    await expect.poll(async () => (await readyz(registry.host.httpAddress)).status, { timeout: 20_000, interval: 200 }).toBe(200);
    expect(await health.check()).toBe("SERVING");
    // The client reconnects on its own; the first writes may still race it.
    await expect
      .poll(async () => callCode(registry.client.setAlias({ model: "before", alias: "staging", version: 1 })), { timeout: 20_000, interval: 500 })
      .toBe("ok");

    expect(await storedState(kv, objects, "before")).toEqual({ versions: [1], aliases: { production: 1, staging: 1 }, latestVersion: 1, artifactStored: true });
    health.close();
  });
});

// Faults injected into the registry's metadata writes, over the shared NATS.
describe("registry writes that go wrong", () => {
  let faulty: FaultyKvStore;
  let registry: TestRegistry;
  let kv: KvStore;
  let objects: ObjectStore;

  beforeAll(async () => {
    registry = await startTestRegistry({
      wrapKv: (inner) => (faulty = faultyKvStore(inner)),
    });
    kv = await registry.backends.kv(registry.metadataBucket);
    objects = await registry.backends.objects(registry.artifactBucket);
  });
  afterAll(async () => registry.stop());

  const name = () => uniqueName("f").replace(/_/g, "-");

  it("retries a model update that conflicts several times and applies it once", async () => {
    const model = name();
    faulty.inject({ fault: "conflict", write: "update", keyPrefix: `${MODEL_UPDATES}${model}`, times: 3 });
    const version = await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud);
    expect(version.version).toBe(1);
    expect(faulty.hits.filter((h) => h.includes(model))).toHaveLength(3);
    expect(await storedState(kv, objects, model)).toEqual({ versions: [1], aliases: { production: 1 }, latestVersion: 1, artifactStored: true });
  });

  it("keeps the version when the publishing write landed but its answer was lost", async () => {
    const model = name();
    faulty.inject({ fault: "unavailable-after-write", write: "update", keyPrefix: `${MODEL_UPDATES}${model}` });
    const version = await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud);
    expect(version).toMatchObject({ version: 1, aliases: ["production"] });
    // Undoing it here would leave production and latest_version pointing at a deleted version.
    expect(await storedState(kv, objects, model)).toEqual({ versions: [1], aliases: { production: 1 }, latestVersion: 1, artifactStored: true });
  });

  it("writes the model again when a failed publishing write had not landed", async () => {
    const model = name();
    faulty.inject({ fault: "unavailable", write: "update", keyPrefix: `${MODEL_UPDATES}${model}` });
    const version = await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud);
    expect(version.version).toBe(1);
    expect(await storedState(kv, objects, model)).toEqual({ versions: [1], aliases: { production: 1 }, latestVersion: 1, artifactStored: true });
  });

  it("undoes the version record after a definite failure, so nothing is half-applied", async () => {
    const model = name();
    await registry.client.createModel({ name: model });
    faulty.inject({ fault: "conflict", write: "update", keyPrefix: `${MODEL_UPDATES}${model}`, times: 16 });
    expect(await callCode(uploadModelVersion(registry.client, { model, aliases: ["production"] }, fraud))).toBe(Code.Aborted);
    expect(await storedState(kv, objects, model)).toEqual({ versions: [], aliases: {}, latestVersion: 0, artifactStored: true });
  });

  it("answers a retry with the same idempotency key with the same version, and refuses the key for another artifact", async () => {
    const model = name();
    const header = { model, createModel: true, aliases: ["production"], idempotencyKey: "build-42" };
    const first = await uploadModelVersion(registry.client, header, fraud);
    const again = await uploadModelVersion(registry.client, header, fraud);
    expect(again.version).toBe(first.version);
    expect(await storedState(kv, objects, model)).toEqual({ versions: [1], aliases: { production: 1 }, latestVersion: 1, artifactStored: true });
    expect(await callCode(uploadModelVersion(registry.client, header, exampleModel("fixed").build()))).toBe(Code.FailedPrecondition);
  });

  it("leaves an unclear failure for a retry: the same key then finishes the version instead of making another", async () => {
    const model = name();
    const header = { model, createModel: true, aliases: ["production"], idempotencyKey: "ci-7" };
    faulty.inject({ fault: "unavailable", write: "update", keyPrefix: `${MODEL_UPDATES}${model}`, times: 2 });
    expect(await callCode(uploadModelVersion(registry.client, header, fraud))).toBe(Code.Unavailable);
    expect(await storedState(kv, objects, model)).toEqual({ versions: [1], aliases: {}, latestVersion: 0, artifactStored: true });
    const retried = await uploadModelVersion(registry.client, header, fraud);
    expect(retried).toMatchObject({ version: 1, aliases: ["production"] });
    expect(await storedState(kv, objects, model)).toEqual({ versions: [1], aliases: { production: 1 }, latestVersion: 1, artifactStored: true });
  });

  it("after a crash between the two writes, a retry with the key finishes the version and a restarted registry removes orphans", async () => {
    const kept = name();
    const orphaned = name();
    for (const model of [kept, orphaned]) {
      faulty.inject({ fault: "crash", write: "update", keyPrefix: `${MODEL_UPDATES}${model}` });
      expect(await callCode(uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], idempotencyKey: "k" }, fraud))).toBe(Code.Unavailable);
      expect(faulty.crashed).toBe(true);
      // The crashed process is gone; a new one starts over the same buckets.
      await registry.stop();
      registry = await startTestRegistry({ metadataBucket: registry.metadataBucket, artifactBucket: registry.artifactBucket, wrapKv: (inner) => (faulty = faultyKvStore(inner)) });
      kv = await registry.backends.kv(registry.metadataBucket);
      objects = await registry.backends.objects(registry.artifactBucket);
      expect(await storedState(kv, objects, model)).toEqual({ versions: [1], aliases: {}, latestVersion: 0, artifactStored: true });
    }

    const retried = await uploadModelVersion(registry.client, { model: kept, createModel: true, aliases: ["production"], idempotencyKey: "k" }, fraud);
    expect(retried).toMatchObject({ version: 1, aliases: ["production"] });
    expect(await storedState(kv, objects, kept)).toEqual({ versions: [1], aliases: { production: 1 }, latestVersion: 1, artifactStored: true });

    // A registry that reconciles with no grace period removes the orphan nobody came back for, and only it.
    const reconciling = await startTestRegistry({ metadataBucket: registry.metadataBucket, artifactBucket: registry.artifactBucket, orphanGraceMs: 0 });
    try {
      await expect.poll(async () => (await storedState(kv, objects, orphaned)).versions, { timeout: 10_000, interval: 100 }).toEqual([]);
      expect(await storedState(kv, objects, orphaned)).toEqual({ versions: [], aliases: {}, latestVersion: 0, artifactStored: true });
      expect(await storedState(kv, objects, kept)).toEqual({ versions: [1], aliases: { production: 1 }, latestVersion: 1, artifactStored: true });
    } finally {
      await reconciling.stop();
    }
  });
});
