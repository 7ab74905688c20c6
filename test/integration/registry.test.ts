import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect } from "@nats-io/transport-node";
import { AliasMovedSchema, ModelVersionCreatedSchema } from "../../libs/gen/tessera/events/v1/registry_events_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { Stage, UploadModelVersionRequest_HeaderSchema } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { downloadArtifact, uploadModelVersion } from "../../libs/registry-client/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { openNatsEventBus, type BusEvent } from "../../libs/events/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { callCode } from "../support/call-outcome.js";

const fraud = exampleModel("fraud").build();
const fixed = exampleModel("fixed").build();

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "";
  } catch (error) {
    return ConnectError.from(error).rawMessage;
  }
}

describe.each(["nats", "embedded"] as const)("registry over %s", (mode) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ mode, maxArtifactBytes: 8 * 1024 * 1024 });
  });
  afterAll(async () => registry.stop());

  it("creates, gets and lists models", async () => {
    const name = uniqueName("m").replace(/_/g, "-");
    const { model } = await registry.client.createModel({ name, description: "scores card payments", tags: { team: "risk" } });
    expect(model).toMatchObject({ name, description: "scores card payments", tags: { team: "risk" }, latestVersion: 0 });
    expect((await registry.client.getModel({ name })).model?.name).toBe(name);
    expect(await callCode(registry.client.createModel({ name }))).toBe(Code.AlreadyExists);
    const listed = await registry.client.listModels({});
    expect(listed.models.map((m) => m.name)).toContain(name);
  });

  it("pages through models with page tokens", async () => {
    const names = [0, 1, 2].map((i) => `${uniqueName("p").replace(/_/g, "-")}-${i}`);
    for (const name of names) await registry.client.createModel({ name });
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await registry.client.listModels({ pageSize: 2, pageToken });
      expect(page.models.length).toBeLessThanOrEqual(2);
      seen.push(...page.models.map((m) => m.name));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    for (const name of names) expect(seen).toContain(name);
    expect(new Set(seen).size).toBe(seen.length);
    expect(await callCode(registry.client.listModels({ pageToken: "bm9wZQ" }))).toBe(Code.InvalidArgument);
  });

  it("uploads an ONNX model as a version and records its signature", async () => {
    const name = uniqueName("f").replace(/_/g, "-");
    const version = await uploadModelVersion(registry.client, { model: name, createModel: true, aliases: ["production"], metrics: { auc: 0.91 } }, fraud);
    expect(version.version).toBe(1);
    expect(version.aliases).toEqual(["production"]);
    expect(version.stage).toBe(Stage.NONE);
    expect(version.metrics).toEqual({ auc: 0.91 });
    expect(version.artifact?.sha256).toBe(createHash("sha256").update(fraud).digest("hex"));
    const input = version.signature?.inputs[0];
    expect(input?.name).toBe("features");
    expect(input?.dtype).toBe(DataType.FLOAT32);
    expect(input?.shape.map((d) => Number(d.size))).toEqual([-1, 16]);
    expect(input?.shape[0]?.name).toBe("batch");

    const second = await uploadModelVersion(registry.client, { model: name }, fraud);
    expect(second.version).toBe(2);
    const got = await registry.client.getModelVersion({ version: { model: name, selector: { case: "alias", value: "production" } } });
    expect(got.modelVersion?.version).toBe(1);
    const latest = await registry.client.getModelVersion({ version: { model: name } });
    expect(latest.modelVersion?.version).toBe(2);

    const downloaded = await downloadArtifact(registry.client, { model: name, selector: { case: "version", value: 2 } });
    expect(Buffer.compare(Buffer.from(downloaded.bytes), Buffer.from(fraud))).toBe(0);
  });

  it("moves and deletes aliases, and answers NOT_FOUND for unknown ones", async () => {
    const name = uniqueName("a").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model: name, createModel: true, aliases: ["production"] }, fraud);
    await uploadModelVersion(registry.client, { model: name }, fraud);
    const moved = await registry.client.setAlias({ model: name, alias: "production", version: 2 });
    expect(moved.previousVersion).toBe(1);
    expect(moved.model?.aliases).toEqual({ production: 2 });
    expect(await callCode(registry.client.setAlias({ model: name, alias: "production", version: 9 }))).toBe(Code.NotFound);
    expect(await callCode(registry.client.setAlias({ model: name, alias: "Bad Alias", version: 1 }))).toBe(Code.InvalidArgument);
    await registry.client.deleteAlias({ model: name, alias: "production" });
    const message = await messageOf(registry.client.getModelVersion({ version: { model: name, selector: { case: "alias", value: "production" } } }));
    expect(message).toMatch(/has no alias "production"/);
    expect(await callCode(registry.client.deleteAlias({ model: name, alias: "production" }))).toBe(Code.NotFound);
  });

  it("moves stages, archiving the previous production version in one write", async () => {
    const name = uniqueName("s").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model: name, createModel: true }, fraud);
    await uploadModelVersion(registry.client, { model: name }, fraud);
    await registry.client.transitionStage({ model: name, version: 1, stage: Stage.PRODUCTION });
    const second = await registry.client.transitionStage({ model: name, version: 2, stage: Stage.PRODUCTION, archiveExisting: true });
    expect(second.archivedVersions).toEqual([1]);
    expect(second.modelVersion?.stage).toBe(Stage.PRODUCTION);
    const production = await registry.client.listModelVersions({ model: name, stage: Stage.PRODUCTION });
    expect(production.modelVersions.map((v) => v.version)).toEqual([2]);
    const archived = await registry.client.listModelVersions({ model: name, stage: Stage.ARCHIVED });
    expect(archived.modelVersions.map((v) => v.version)).toEqual([1]);
    expect(await callCode(registry.client.transitionStage({ model: name, version: 1, stage: Stage.UNSPECIFIED }))).toBe(Code.InvalidArgument);
  });

  it("updates descriptions, tags and metrics", async () => {
    const name = uniqueName("u").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model: name, createModel: true, tags: { a: "1", b: "2" } }, fraud);
    const updated = await registry.client.updateModelVersion({ model: name, version: 1, description: "retrained", setTags: { c: "3" }, removeTags: ["a"], setMetrics: { f1: 0.8 } });
    expect(updated.modelVersion).toMatchObject({ description: "retrained", tags: { b: "2", c: "3" }, metrics: { f1: 0.8 } });
    const model = await registry.client.updateModel({ name, description: "fraud scores", setTags: { owner: "risk" } });
    expect(model.model).toMatchObject({ description: "fraud scores", tags: { owner: "risk" } });
    expect(await callCode(registry.client.updateModelVersion({ model: name, version: 1, setMetrics: { bad: Number.NaN } }))).toBe(Code.InvalidArgument);
  });

  it("paginates versions", async () => {
    const name = uniqueName("v").replace(/_/g, "-");
    for (let i = 0; i < 3; i++) await uploadModelVersion(registry.client, { model: name, createModel: true }, fraud);
    const first = await registry.client.listModelVersions({ model: name, pageSize: 2 });
    expect(first.modelVersions.map((v) => v.version)).toEqual([1, 2]);
    const second = await registry.client.listModelVersions({ model: name, pageSize: 2, pageToken: first.nextPageToken });
    expect(second.modelVersions.map((v) => v.version)).toEqual([3]);
    expect(second.nextPageToken).toBe("");
  });

  describe("refuses bad uploads and stores nothing", () => {
    async function expectNothingStored(name: string) {
      expect(await callCode(registry.client.getModel({ name }))).toBe(Code.NotFound);
    }
    function rawUpload(header: Parameters<typeof create<typeof UploadModelVersionRequest_HeaderSchema>>[1], chunks: Uint8Array[]) {
      async function* messages() {
        yield { payload: { case: "header" as const, value: create(UploadModelVersionRequest_HeaderSchema, header) } };
        for (const chunk of chunks) yield { payload: { case: "chunk" as const, value: chunk } };
      }
      return registry.client.uploadModelVersion(messages());
    }

    it("a file that is not an ONNX model", async () => {
      const name = uniqueName("x").replace(/_/g, "-");
      const junk = new TextEncoder().encode("this is not a model, just some text that happens to be uploaded");
      const message = await messageOf(uploadModelVersion(registry.client, { model: name, createModel: true }, junk));
      expect(message).toMatch(/not an ONNX model/);
      await expectNothingStored(name);
    });

    it("a stream that ends before size_bytes", async () => {
      const name = uniqueName("t").replace(/_/g, "-");
      const message = await messageOf(rawUpload({ model: name, createModel: true, sizeBytes: BigInt(fraud.byteLength) }, [fraud.subarray(0, 100)]));
      expect(message).toMatch(/upload ended after 100 of \d+ bytes; nothing was stored/);
      await expectNothingStored(name);
    });

    it("a sha256 that does not match", async () => {
      const name = uniqueName("h").replace(/_/g, "-");
      const code = await callCode(rawUpload({ model: name, createModel: true, sizeBytes: BigInt(fraud.byteLength), sha256: "0".repeat(64) }, [fraud]));
      expect(code).toBe(Code.InvalidArgument);
      await expectNothingStored(name);
    });

    it("more bytes than size_bytes, a missing header, an artifact over the limit", async () => {
      const name = uniqueName("o").replace(/_/g, "-");
      expect(await callCode(rawUpload({ model: name, createModel: true, sizeBytes: 10n }, [fraud]))).toBe(Code.InvalidArgument);
      expect(await callCode(rawUpload({ model: name, createModel: true, sizeBytes: 0n }, []))).toBe(Code.InvalidArgument);
      expect(await callCode(rawUpload({ model: name, createModel: true, sizeBytes: 64n * 1024n * 1024n }, []))).toBe(Code.InvalidArgument);
      async function* chunkFirst() {
        yield { payload: { case: "chunk" as const, value: fraud } };
      }
      expect(await callCode(registry.client.uploadModelVersion(chunkFirst()))).toBe(Code.InvalidArgument);
      await expectNothingStored(name);
    });

    it("an upload to a model that does not exist, without create_model", async () => {
      const name = uniqueName("n").replace(/_/g, "-");
      expect(await callCode(uploadModelVersion(registry.client, { model: name }, fraud))).toBe(Code.NotFound);
      await expectNothingStored(name);
    });

    it("batching on a model without a dynamic leading dimension (FAILED_PRECONDITION)", async () => {
      const name = uniqueName("b").replace(/_/g, "-");
      const message = uploadModelVersion(registry.client, { model: name, createModel: true, batching: { enabled: true, maxBatchSize: 8 } }, fixed);
      expect(await callCode(message)).toBe(Code.FailedPrecondition);
      await expectNothingStored(name);
    });
  });

  it("answers NOT_FOUND for unknown models and versions, INVALID_ARGUMENT for bad names", async () => {
    expect(await callCode(registry.client.getModel({ name: "no-such-model" }))).toBe(Code.NotFound);
    expect(await callCode(registry.client.getModel({ name: "Not Valid!" }))).toBe(Code.InvalidArgument);
    const name = uniqueName("k").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model: name, createModel: true }, fraud);
    expect(await callCode(registry.client.getModelVersion({ version: { model: name, selector: { case: "version", value: 7 } } }))).toBe(Code.NotFound);
    expect(await callCode(registry.client.getModelVersion({}))).toBe(Code.InvalidArgument);
  });

  it("lets exactly one of many racing writers claim each version number", async () => {
    const name = uniqueName("r").replace(/_/g, "-");
    await registry.client.createModel({ name });
    const versions = await Promise.all([1, 2, 3, 4, 5].map(() => uploadModelVersion(registry.client, { model: name }, fraud)));
    expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5]);
    await Promise.all([1, 2, 3, 4, 5].map((v) => registry.client.setAlias({ model: name, alias: `a${v}`, version: v })));
    expect((await registry.client.getModel({ name })).model?.aliases).toEqual({ a1: 1, a2: 2, a3: 3, a4: 4, a5: 5 });
    expect((await registry.client.getModel({ name })).model?.latestVersion).toBe(5);
  });
});

describe("registry events", () => {
  it("publishes version and alias events as CloudEvents on NATS", async () => {
    const registry = await startTestRegistry({ mode: "nats" });
    const nc = await connect({ servers: testNatsUrl() });
    const bus = await openNatsEventBus(nc, { durable: false });
    const received: BusEvent<unknown>[] = [];
    const raw: Array<{ subject: string; type: string | undefined; source: string | undefined }> = [];
    const sub = nc.subscribe("tessera.registry.>", {
      callback: (_error, message) => void raw.push({ subject: message.subject, type: message.headers?.get("ce-type"), source: message.headers?.get("ce-source") }),
    });
    const unsubscribe = await bus.subscribe("tessera.registry.>", [ModelVersionCreatedSchema, AliasMovedSchema], (event) => {
      received.push(event);
    });
    const name = uniqueName("e").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model: name, createModel: true, aliases: ["production"] }, fraud);
    await registry.client.setAlias({ model: name, alias: "staging", version: 1 });
    // Other test files publish on the same NATS: wait for this model's own three events.
    const ours = () => received.filter((e) => {
      const message = e.message as { model?: string; modelVersion?: { model: string } };
      return (message.model ?? message.modelVersion?.model) === name;
    });
    await expect.poll(() => ours().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    const moved = ours().filter((e) => e.type === "tessera.events.v1.AliasMoved").map((e) => e.message as { alias: string; version: number; model: string });
    expect(moved).toEqual(expect.arrayContaining([expect.objectContaining({ model: name, alias: "production", version: 1 }), expect.objectContaining({ model: name, alias: "staging", version: 1 })]));
    await expect.poll(() => raw, { timeout: 10_000 }).toEqual(expect.arrayContaining([{ subject: "tessera.registry.model_version.created", type: "tessera.events.v1.ModelVersionCreated", source: "tessera/registry" }]));
    await unsubscribe();
    sub.unsubscribe();
    await bus.close();
    await nc.close();
    await registry.stop();
  });
});
