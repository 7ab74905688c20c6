import { describe, expect, it } from "vitest";
import { ConfigError } from "../../libs/config/index.js";
import { readInferenceConfig } from "./config.js";

describe("readInferenceConfig()", () => {
  it("takes Triton's ports, the CPU and one instance by default", () => {
    const config = readInferenceConfig({});
    expect(config).toMatchObject({
      grpcPort: 8001,
      httpPort: 8000,
      bindHost: "127.0.0.1",
      registryAddress: "127.0.0.1:50051",
      natsUrl: undefined,
      device: { kind: "cpu" },
      allowCpuFallback: false,
      serve: [],
      instanceCount: 1,
      frontendLoops: undefined,
      sessionPlacement: "auto",
      replicasBucket: "tessera_replicas",
      session: { intraOpThreads: 0, interOpThreads: 0, graphOptimization: "all", memoryArena: true, spinning: false },
      logLevel: "info",
    });
    expect(config.replicaId).toMatch(/^[-_a-zA-Z0-9]+$/);
  });

  it("reads every key", () => {
    const config = readInferenceConfig({
      TESSERA_INFERENCE_GRPC_PORT: "9001",
      TESSERA_INFERENCE_HTTP_PORT: "0",
      TESSERA_BIND_HOST: "0.0.0.0",
      TESSERA_REGISTRY_ADDRESS: "registry:50051",
      NATS_URL: "nats://nats:4222",
      TESSERA_DEVICE: "cuda:1",
      TESSERA_ALLOW_CPU_FALLBACK: "true",
      TESSERA_SERVE: "fraud@production,wide@3",
      TESSERA_INSTANCE_COUNT: "2",
      TESSERA_FRONTEND_LOOPS: "3",
      TESSERA_SESSION_PLACEMENT: "thread",
      TESSERA_BATCHING: '{"maxBatchSize": 32, "maxQueueDelayUs": 1000}',
      TESSERA_INTRA_OP_THREADS: "4",
      TESSERA_INTER_OP_THREADS: "1",
      TESSERA_GRAPH_OPTIMIZATION: "extended",
      TESSERA_MEMORY_ARENA: "off",
      TESSERA_THREAD_SPINNING: "on",
      TESSERA_REPLICA_ID: "replica-a",
      TESSERA_LOG_LEVEL: "debug",
      TESSERA_REPLICAS_BUCKET: "tessera_blue_replicas",
    });
    expect(config).toMatchObject({
      grpcPort: 9001,
      httpPort: 0,
      bindHost: "0.0.0.0",
      registryAddress: "registry:50051",
      natsUrl: "nats://nats:4222",
      device: { kind: "cuda", index: 1 },
      allowCpuFallback: true,
      serve: [
        { model: "fraud", alias: "production" },
        { model: "wide", version: 3 },
      ],
      instanceCount: 2,
      frontendLoops: 3,
      sessionPlacement: "thread",
      batchingOverrides: { maxBatchSize: 32, maxQueueDelayUs: 1000 },
      session: { intraOpThreads: 4, interOpThreads: 1, graphOptimization: "extended", memoryArena: false, spinning: true },
      replicaId: "replica-a",
      logLevel: "debug",
      replicasBucket: "tessera_blue_replicas",
    });
  });

  it('reads TESSERA_FRONTEND_LOOPS "auto" as the default', () => {
    expect(readInferenceConfig({ TESSERA_FRONTEND_LOOPS: "auto" }).frontendLoops).toBeUndefined();
  });

  it("reads TESSERA_SESSION_PLACEMENT event-loop, and refuses it with more than one instance", () => {
    expect(readInferenceConfig({ TESSERA_SESSION_PLACEMENT: "event-loop" }).sessionPlacement).toBe("event-loop");
    expect(() => readInferenceConfig({ TESSERA_SESSION_PLACEMENT: "event-loop", TESSERA_INSTANCE_COUNT: "2" })).toThrow(
      /^TESSERA_SESSION_PLACEMENT: "event-loop" runs one session at a time, but TESSERA_INSTANCE_COUNT is 2/,
    );
    expect(readInferenceConfig({ TESSERA_SESSION_PLACEMENT: "auto", TESSERA_INSTANCE_COUNT: "2" }).instanceCount).toBe(2);
  });

  it.each([
    ["TESSERA_INFERENCE_GRPC_PORT", "70000"],
    ["TESSERA_DEVICE", "gpu0"],
    ["TESSERA_SERVE", "Fraud"],
    ["TESSERA_INSTANCE_COUNT", "0"],
    ["TESSERA_FRONTEND_LOOPS", "0"],
    ["TESSERA_FRONTEND_LOOPS", "two"],
    ["TESSERA_GRAPH_OPTIMIZATION", "max"],
    ["TESSERA_THREAD_SPINNING", "sometimes"],
    ["TESSERA_SESSION_PLACEMENT", "main"],
    ["TESSERA_REGISTRY_ADDRESS", "localhost"],
    ["TESSERA_REPLICA_ID", "a b"],
    ["TESSERA_ALLOW_CPU_FALLBACK", "maybe"],
    ["TESSERA_BATCHING", '{"maxBatch": 1}'],
  ])("stops with a ConfigError naming %s for %j", (key, value) => {
    let caught: unknown;
    try {
      readInferenceConfig({ [key]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).key).toBe(key);
    expect((caught as ConfigError).message).toMatch(new RegExp(`^${key}: `));
  });
});
