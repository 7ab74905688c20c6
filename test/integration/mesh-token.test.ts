import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeatureService } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { createMeshClient } from "../../libs/host/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { ensureExampleModels, exampleModel } from "../../mesh/models/index.js";
import { failure } from "../support/call-outcome.js";
import { startTestFeature, type TestFeature } from "../support/feature-harness.js";
import { startTestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { startTestRouter } from "../support/router-harness.js";
import { runNode, tesseraCli } from "../support/run-node.js";
import { cardDefinitions } from "./feature-fixtures.js";

// Services started with TESSERA_MESH_TOKEN refuse writes from outside the mesh;
// the router, the replicas, the CLI and `tessera up` send it.
const TOKEN = "mesh-secret-0123456789";
const fraud = exampleModel("fraud");
const fraudBytes = fraud.build();
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array) };

async function until(check: () => boolean, limitMs = 20_000): Promise<void> {
  for (let waited = 0; waited < limitMs; waited += 50) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not met in ${limitMs} ms`);
}

const tessera = (args: string[], env: Record<string, string>) => runNode(tesseraCli, args, { env: { TESSERA_MESH_TOKEN: "", ...env } });

describe("mesh token on the registry", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats", meshToken: TOKEN });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("refuses writes without the token (UNAUTHENTICATED) or with a wrong one (PERMISSION_DENIED), saying what to set; reads stay open", async () => {
    const bare = createMeshClient(RegistryService, { address: registry.host.grpcAddress });
    const wrong = createMeshClient(RegistryService, { address: registry.host.grpcAddress, meshToken: "not-the-token" });
    try {
      const model = uniqueName("tok").replace(/_/g, "-");
      const missing = await failure(bare.client.createModel({ name: model }));
      expect(missing.code).toBe(Code.Unauthenticated);
      expect(missing.rawMessage).toContain("TESSERA_MESH_TOKEN");
      expect(missing.rawMessage).toContain("x-tessera-mesh-token");
      const denied = await failure(wrong.client.createModel({ name: model }));
      expect(denied.code).toBe(Code.PermissionDenied);
      // The harness's client sends the token: writes go through.
      await uploadModelVersion(registry.client, { model, createModel: true }, fraudBytes);
      expect((await bare.client.getModelVersion({ version: { model, selector: { case: "version", value: 1 } } })).modelVersion?.version).toBe(1);
      expect((await bare.client.listModels({})).models.map((m) => m.name)).toContain(model);
      expect((await failure(bare.client.setAlias({ model, alias: "production", version: 1 }))).code).toBe(Code.Unauthenticated);
    } finally {
      bare.close();
      wrong.close();
    }
  });

  it("refuses the same writes over HTTP (Connect): 401 without the token, 403 with a wrong one", async () => {
    const url = `http://${registry.host.httpAddress}/tessera.registry.v1.RegistryService/CreateModel`;
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ name: uniqueName("http").replace(/_/g, "-") }) });
    expect((await post({})).status).toBe(401);
    expect((await post({ "x-tessera-mesh-token": "wrong" })).status).toBe(403);
    expect((await post({ "x-tessera-mesh-token": TOKEN })).status).toBe(200);
    expect((await fetch(`http://${registry.host.httpAddress}/healthz`)).status).toBe(200);
  });

  it("keeps a mesh working whose router, replicas and registry share the token", async () => {
    const model = uniqueName("tokmesh").replace(/_/g, "-");
    const membershipBucket = uniqueName("replicas");
    await uploadModelVersion(registry.client, { model, createModel: true }, fraudBytes);
    const replica = await startTestReplica(registry, { serve: [{ model, version: 1 }], membershipBucket, config: { meshToken: TOKEN } });
    const router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket, config: { meshToken: TOKEN } });
    try {
      await until(() => router.router.table.serving(model, { version: 1 }).length === 1);
      await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] } });
      expect((await router.client.predict({ model, inputs: [input] })).version).toBe(1);
    } finally {
      await router.stop();
      await replica.stop();
    }
  });

  it("the CLI sends TESSERA_MESH_TOKEN, and says what to set when it is missing", async () => {
    if (!existsSync(tesseraCli)) throw new Error(`${tesseraCli} is missing: run \`npm run build\` first`);
    const dir = await mkdtemp(join(tmpdir(), "tessera-token-"));
    try {
      await ensureExampleModels(dir, [fraud]);
      const name = uniqueName("tokcli").replace(/_/g, "-");
      const env = { TESSERA_REGISTRY_ADDRESS: registry.host.grpcAddress };
      const refused = await tessera(["models", "push", join(dir, "fraud.onnx"), "--name", name], env);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("TESSERA_MESH_TOKEN");
      const pushed = await tessera(["models", "push", join(dir, "fraud.onnx"), "--name", name], { ...env, TESSERA_MESH_TOKEN: TOKEN });
      expect(pushed.stderr).toBe("");
      expect(pushed.code).toBe(0);
      expect((await tessera(["models", "ls"], env)).stdout).toContain(name);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("mesh token on the feature service", () => {
  let feature: TestFeature;
  beforeAll(async () => {
    feature = await startTestFeature({ mode: "nats", online: "memory", meshToken: TOKEN });
  });
  afterAll(async () => {
    await feature?.stop();
  });

  it("refuses definition and value writes without the token; lookups and listings stay open", async () => {
    const bare = createMeshClient(FeatureService, { address: feature.host.grpcAddress });
    try {
      expect((await failure(bare.client.applyDefinitions(cardDefinitions()))).code).toBe(Code.Unauthenticated);
      await feature.client.applyDefinitions(cardDefinitions());
      expect((await bare.client.listEntities({})).entities.map((e) => e.name)).toContain("card");
      expect((await failure(bare.client.writeOnlineFeatures({ view: "card_stats", rows: [] }))).code).toBe(Code.Unauthenticated);
    } finally {
      bare.close();
    }
  });
});
