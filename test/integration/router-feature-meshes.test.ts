import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { openBackends, type Backends } from "../../libs/backends/index.js";
import { FeatureService, ValueType } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { silentLogger } from "../../libs/log/index.js";
import { REPLICAS_BUCKET } from "../../libs/membership/index.js";
import { meshNames } from "../../libs/mesh-names/index.js";
import { openRedisOnlineStore } from "../../libs/online-store/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { openNatsKv } from "../../libs/store/index.js";
import { testNatsUrl, testRedisUrl, uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { readFeatureConfig } from "../../services/feature/config.js";
import { startFeature, type FeatureHost } from "../../services/feature/start-feature.js";
import { readInferenceConfig } from "../../services/inference/config.js";
import { readMonitoringConfig } from "../../services/monitoring/config.js";
import { adoptLegacyRollouts } from "../../services/monitoring/rollouts/legacy-rollouts.js";
import { readRouterConfig } from "../../services/router/config.js";
import { failure } from "../support/call-outcome.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { startTestRouter, type TestRouter } from "../support/router-harness.js";

// Two meshes on one NATS and one Redis: a mesh of its own ("blue…", unique
// per run, since test files share the servers) and the default one. Every
// service takes its names from its own config reader given TESSERA_MESH,
// as its main.ts does; the same model, view and entity names in both.

const fraud = exampleModel("fraud");
const fraudBytes = fraud.build();
const features = Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array);
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features };
const enc = new TextEncoder();

interface Mesh {
  env: Record<string, string>;
  registry: TestRegistry;
  replica: TestReplica;
  router: TestRouter;
  featureBackends: Backends;
  feature: FeatureHost;
  featureClient: MeshClient<typeof FeatureService>["client"];
  monitoringBackends: Backends;
}

describe("two meshes on one NATS and one Redis", () => {
  const blue = `blue${uniqueName("").replace(/[^a-z0-9]/g, "").slice(-10)}`;
  const model = uniqueName("fraud").replace(/_/g, "-");
  const entity = uniqueName("card");
  const view = uniqueName("stats");
  const entityKey = uniqueName("c");
  const meshes = new Map<string, Mesh>();
  let nc: NatsConnection;

  async function startMesh(mesh: string | undefined, routedVersion: number): Promise<Mesh> {
    const env: Record<string, string> = mesh ? { TESSERA_MESH: mesh } : {};
    const registry = await startTestRegistry({ mesh });
    for (let v = 1; v <= 2; v++) await uploadModelVersion(registry.client, { model, createModel: v === 1 }, fraudBytes);
    // Where a replica of this mesh heartbeats (services/inference/main.ts: backends.kv(REPLICAS_BUCKET)).
    const replicaBucket = meshNames(readInferenceConfig(env).mesh).bucket(REPLICAS_BUCKET);
    const replica = await startTestReplica(registry, { serve: [{ model, version: 1 }, { model, version: 2 }], membershipBucket: replicaBucket });
    const routerConfig = readRouterConfig({ ...env, TESSERA_ROUTER_AUTH: "off" });
    const router = await startTestRouter(registry, { routesBucket: routerConfig.routesBucket, membershipBucket: routerConfig.replicasBucket });
    await until(() => router.router.table.serving(model, { version: 2 }).length > 0);
    await router.routes.setRoute({ route: { model, splits: [{ version: routedVersion, weight: 100 }] } });

    const featureConfig = readFeatureConfig({ ...env, REDIS_URL: testRedisUrl() });
    const featureBackends = await openBackends({ mode: "nats", natsUrl: testNatsUrl(), mesh: featureConfig.mesh, clientName: "test-feature", logger: silentLogger });
    const store = await openRedisOnlineStore({ url: featureConfig.redisUrl, keyPrefix: featureConfig.keyPrefix });
    const feature = await startFeature({ config: { ...featureConfig, host: "127.0.0.1", grpcPort: 0, httpPort: 0 }, backends: featureBackends, onlineStore: store, logger: silentLogger, nats: nc });
    const featureClient = createMeshClient(FeatureService, { address: feature.grpcAddress }).client;

    const monitoringConfig = readMonitoringConfig(env);
    const monitoringBackends = await openBackends({ mode: "nats", natsUrl: testNatsUrl(), mesh: monitoringConfig.mesh, clientName: "test-monitoring", logger: silentLogger });
    return { env, registry, replica, router, featureBackends, feature, featureClient, monitoringBackends };
  }

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl(), name: "test-meshes" });
    meshes.set(blue, await startMesh(blue, 2));
    meshes.set("tessera", await startMesh(undefined, 1));
  });

  afterAll(async () => {
    for (const mesh of meshes.values()) {
      await mesh.router.stop();
      await mesh.replica.stop();
      await mesh.feature.shutdown();
      await mesh.monitoringBackends.close();
      await mesh.registry.stop();
    }
    // Only blue's own streams and buckets: the default mesh's are shared with other test files.
    const jsm = await jetstreamManager(nc);
    for await (const info of jsm.streams.list()) {
      const name = info.config.name;
      if (name.startsWith(`KV_${blue}_`) || name.startsWith(`OBJ_${blue}_`) || name.startsWith(`${blue.toUpperCase()}_`)) await jsm.streams.delete(name).catch(() => false);
    }
    await nc?.close();
  });

  it("gives each mesh's router its own buckets, named after the mesh", () => {
    const config = readRouterConfig({ TESSERA_MESH: blue, TESSERA_ROUTER_AUTH: "off" });
    expect([config.routesBucket, config.replicasBucket]).toEqual([`${blue}_routes`, `${blue}_replicas`]);
    expect([readRouterConfig({ TESSERA_ROUTER_AUTH: "off" }).routesBucket, readRouterConfig({ TESSERA_ROUTER_AUTH: "off" }).replicasBucket]).toEqual(["tessera_routes", "tessera_replicas"]);
  });

  it("each router sees only its own mesh's replica and routes with its own route", async () => {
    for (const [name, mesh] of meshes) {
      const other = [...meshes.values()].find((m) => m !== mesh)!;
      const serving = mesh.router.router.table.serving(model, { version: 1 });
      expect(serving.map((r) => r.grpcAddress), name).toEqual([mesh.replica.replica.host.grpcAddress]);
      expect(serving.map((r) => r.grpcAddress)).not.toContain(other.replica.replica.host.grpcAddress);
      let replica: string | null = null;
      const response = await mesh.router.client.predict({ model, inputs: [input] }, { onHeader: (h) => (replica = h.get("x-tessera-replica")) });
      expect(response.version, name).toBe(name === blue ? 2 : 1);
      expect(replica).toBe(serving[0]!.replicaId);
      expect((await mesh.router.routes.getRoute({ model })).route?.splits.map((s) => s.version)).toEqual([name === blue ? 2 : 1]);
    }
  });

  it("keeps each mesh's feature definitions and online values apart on one Redis", async () => {
    const [blueMesh, plain] = [meshes.get(blue)!, meshes.get("tessera")!];
    const definitions = (owner: string) => ({
      entities: [{ name: entity, joinKey: `${entity}_id`, valueType: ValueType.STRING }],
      featureViews: [{ name: view, entities: [entity], owner, maxAge: { seconds: 3600n }, features: [{ name: "amount", type: ValueType.DOUBLE }] }],
    });
    // Only blue knows the view at first: definitions live in the mesh's own bucket.
    await blueMesh.featureClient.applyDefinitions(definitions("blue-team"));
    expect((await failure(plain.featureClient.getOnlineFeatures({ features: [`${view}:amount`], entityKeys: [entityKey] }))).code).toBe(Code.NotFound);
    await plain.featureClient.applyDefinitions(definitions("default-team"));
    // The same view and entity key in both meshes, different values: each reads its own.
    const write = (client: Mesh["featureClient"], amount: number) =>
      client.writeOnlineFeatures({ view, rows: [{ entityKey, eventTime: timestampFromMs(Date.now()), values: { amount: { kind: { case: "doubleValue", value: amount } } } }] });
    await write(blueMesh.featureClient, 2.5);
    await write(plain.featureClient, 1.5);
    for (const [mesh, amount] of [[blueMesh, 2.5], [plain, 1.5]] as const) {
      const response = await mesh.featureClient.getOnlineFeatures({ features: [`${view}:amount`], entityKeys: [entityKey] });
      expect(response.columns[0]!.values[0]!.kind).toEqual({ case: "doubleValue", value: amount });
    }
    // Both push streams exist side by side (one `feature_push.>` for both would overlap, which JetStream refuses).
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(`${blue.toUpperCase()}_FEATURE_PUSH`)).config.subjects).toEqual([`${blue}_feature_push.>`]);
  });

  it("keeps each mesh's rollout state in its own bucket", async () => {
    const [blueMesh, plain] = [meshes.get(blue)!, meshes.get("tessera")!];
    const blueConfig = readMonitoringConfig(blueMesh.env);
    expect(blueMesh.monitoringBackends.names.bucket(blueConfig.rolloutsBucket)).toBe(`${blue}_rollouts`);
    expect(blueConfig.legacyRolloutsBucket).toBeUndefined();
    const plainConfig = readMonitoringConfig(plain.env);
    expect(plain.monitoringBackends.names.bucket(plainConfig.rolloutsBucket)).toBe("tessera_rollouts");
    const blueStates = await blueMesh.monitoringBackends.kv(blueConfig.rolloutsBucket);
    const plainStates = await plain.monitoringBackends.kv(plainConfig.rolloutsBucket);
    await blueStates.put(model, enc.encode("blue's rollout"));
    expect(await plainStates.get(model)).toBeUndefined();
    expect(new TextDecoder().decode((await blueStates.get(model))!.value)).toBe("blue's rollout");
  });

  it("adopts the rollouts of a pre-mesh bucket that the new one lacks, and creates nothing when there is none", async () => {
    const legacy = uniqueName("legacy");
    const old = await openNatsKv(nc, { bucket: legacy });
    await old.put("a", enc.encode("old a"));
    await old.put("b", enc.encode("old b"));
    const states = await openNatsKv(nc, { bucket: uniqueName("states") });
    await states.put("b", enc.encode("new b"));
    expect(await adoptLegacyRollouts(nc, states, silentLogger, legacy)).toBe(1);
    expect(new TextDecoder().decode((await states.get("a"))!.value)).toBe("old a");
    expect(new TextDecoder().decode((await states.get("b"))!.value)).toBe("new b");
    const missing = uniqueName("missing");
    expect(await adoptLegacyRollouts(nc, states, silentLogger, missing)).toBe(0);
    const jsm = await jetstreamManager(nc);
    await expect(jsm.streams.info(`KV_${missing}`)).rejects.toThrow();
    await old.close();
    await states.close();
  });
});

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the condition");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
