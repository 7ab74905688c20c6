import { describe, expect, it } from "vitest";
import { readInferenceConfig } from "../../services/inference/config.js";
import { readMonitoringConfig } from "../../services/monitoring/config.js";
import { readRegistryConfig } from "../../services/registry/config.js";
import { readFeatureConfig } from "../../services/feature/config.js";
import { readRouterConfig } from "../../services/router/config.js";
import { dialAddress, featureEnv, monitoringEnv, registryEnv, replicaEnv, routerEnv } from "./service-env.js";
import { parseTopology } from "./topology.js";

const topology = parseTopology(
  [
    "bind_host: 0.0.0.0",
    "log_level: debug",
    "registry: {grpc_port: 6000, http_port: 6001, env: {TESSERA_REGISTRY_BUCKET: mine}}",
    "inference:",
    "  - {id: gpu-0, device: cuda:1, serve: [fraud, wide@2], instance_count: 2, frontend_loops: 3, allow_cpu_fallback: true, env: {TESSERA_INTRA_OP_THREADS: 2}}",
  ].join("\n"),
  "t.yaml",
);

describe("registryEnv()", () => {
  it("configures the registry as its own config reader expects, the topology's env last", () => {
    const config = readRegistryConfig(registryEnv(topology, { kind: "nats", natsUrl: "nats://n:4222" }));
    expect(config).toMatchObject({ host: "0.0.0.0", grpcPort: 6000, httpPort: 6001, store: "nats", natsUrl: "nats://n:4222", metadataBucket: "mine", logLevel: "debug" });
  });

  it("leaves NATS_URL out for the embedded stores", () => {
    const env = registryEnv(topology, { kind: "embedded" });
    expect(env.TESSERA_STORE).toBe("embedded");
    expect(env).not.toHaveProperty("NATS_URL");
  });
});

describe("replicaEnv()", () => {
  it("configures a replica as its own config reader expects", () => {
    const config = readInferenceConfig(replicaEnv(topology, topology.replicas[0]!, { registryAddress: "127.0.0.1:6000", store: { kind: "nats", natsUrl: "nats://n:4222" } }));
    expect(config).toMatchObject({
      grpcPort: 8001,
      httpPort: 8000,
      bindHost: "0.0.0.0",
      registryAddress: "127.0.0.1:6000",
      natsUrl: "nats://n:4222",
      device: { kind: "cuda", index: 1 },
      allowCpuFallback: true,
      serve: [{ model: "fraud", alias: "production" }, { model: "wide", version: 2 }],
      instanceCount: 2,
      frontendLoops: 3,
      replicaId: "gpu-0",
      logLevel: "debug",
    });
    expect(config.session.intraOpThreads).toBe(2);
  });
});

describe("dialAddress()", () => {
  it.each([
    ["0.0.0.0:8001", "127.0.0.1:8001"],
    ["[::]:8001", "[::1]:8001"],
    ["127.0.0.1:8001", "127.0.0.1:8001"],
    ["10.0.0.5:50051", "10.0.0.5:50051"],
  ])("dials %s as %s", (bound, dialled) => {
    expect(dialAddress(bound)).toBe(dialled);
  });
});

describe("monitoringEnv()", () => {
  const store = { kind: "nats", natsUrl: "nats://n:4222" } as const;

  it("gives monitoring the router's address when the topology has a router, for rollouts", () => {
    const routed = parseTopology("bind_host: 0.0.0.0\nrouter: {grpc_port: 7001}\n", "t.yaml");
    expect(readMonitoringConfig(monitoringEnv(routed, { registryAddress: "127.0.0.1:6000", store })).routerAddress).toBe("127.0.0.1:7001");
  });

  it("prefers the address the started router listens on (a free port in the demo)", () => {
    const routed = parseTopology("router: {grpc_port: 0}\n", "t.yaml");
    expect(readMonitoringConfig(monitoringEnv(routed, { registryAddress: "127.0.0.1:6000", store })).routerAddress).toBeUndefined();
    expect(readMonitoringConfig(monitoringEnv(routed, { registryAddress: "127.0.0.1:6000", store, routerAddress: "127.0.0.1:41234" })).routerAddress).toBe("127.0.0.1:41234");
  });

  it("leaves it out without a router", () => {
    expect(readMonitoringConfig(monitoringEnv(topology, { registryAddress: "127.0.0.1:6000", store })).routerAddress).toBeUndefined();
  });
});

describe("the mesh (TESSERA_MESH)", () => {
  const blue = parseTopology("mesh: blue\nrouter: {}\nfeature: {}\n", "t.yaml");

  it("is given to every service, whose config then names its buckets after it", () => {
    const store = { kind: "nats", natsUrl: "nats://n:4222" } as const;
    expect(readRegistryConfig(registryEnv(blue, store)).mesh).toBe("blue");
    expect(readInferenceConfig(replicaEnv(blue, blue.replicas[0]!, { registryAddress: "r:1", store })).mesh).toBe("blue");
    expect(readMonitoringConfig(monitoringEnv(blue, { registryAddress: "r:1", store })).mesh).toBe("blue");
    const router = readRouterConfig({ ...routerEnv(blue, blue.router!, { registryAddress: "r:1" }), TESSERA_ROUTER_AUTH: "off" });
    expect([router.mesh, router.routesBucket, router.replicasBucket]).toEqual(["blue", "blue_routes", "blue_replicas"]);
    const feature = readFeatureConfig(featureEnv(blue, store, { redisUrl: "redis://x", onlineStore: "redis" }));
    expect([feature.mesh, feature.keyPrefix, feature.pushSubjectPrefix, feature.pushStream]).toEqual(["blue", "blue:tf:", "blue_feature_push", "BLUE_FEATURE_PUSH"]);
  });

  it("is left to the environment when the topology names none", () => {
    expect(registryEnv(topology, { kind: "embedded" })).not.toHaveProperty("TESSERA_MESH");
  });

  it("must be a valid mesh name", () => {
    expect(() => parseTopology("mesh: Blue\n", "t.yaml")).toThrow(/^t\.yaml: mesh: "Blue" is not a valid mesh name/);
  });
});
