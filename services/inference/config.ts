import { hostname } from "node:os";
import { readMeshName } from "../../libs/mesh-names/index.js";
import { readNatsOptions, type NatsOptions } from "../../libs/nats/index.js";
import { REPLICAS_BUCKET } from "../../libs/membership/index.js";
import { ConfigError, readBool, readEnum, readInt, readOptionalString, readPort, readString, type Env } from "../../libs/config/index.js";
import { parseBatchingOverrides, type BatchingOverrides } from "../../libs/batching/index.js";
import type { LogLevel } from "../../libs/log/index.js";
import { parseDevice, type Device } from "./runtime/device.js";
import { DEFAULT_MODEL_CACHE_DIR } from "./runtime/model-cache.js";
import { DEFAULT_DRAIN_GRACE_MS } from "./runtime/drain-grace.js";
import { GRAPH_OPTIMIZATIONS, type GraphOptimization, type SessionTuning } from "./runtime/session-options.js";
import { PLACEMENT_SETTINGS, type PlacementSetting } from "./runtime/session-placement.js";
import { parseServeList, type ServeSpec } from "./serve-list.js";

/** Everything an inference replica reads from its environment, validated. */
export interface InferenceConfig {
  /** gRPC port (InferenceService, GRPCInferenceService). Default 8001, Triton's. */
  grpcPort: number;
  /** HTTP port (Connect, OIP REST, /metrics). Default 8000, Triton's. */
  httpPort: number;
  /** Address both ports bind to. Default 127.0.0.1; 0.0.0.0 in containers. */
  bindHost: string;
  /** The registry's gRPC host:port. */
  /** The feature service's gRPC address, for entity-keyed Predicts; unset: none. */
  featureAddress?: string;
  registryAddress: string;
  /** NATS for registry events and membership; undefined: the in-process bus. */
  natsUrl: string | undefined;
  /** Credentials, TLS and the JetStream replica count for NATS (readNatsOptions). */
  nats: NatsOptions;
  /** The mesh (TESSERA_MESH): namespaces event subjects and the membership bucket. */
  mesh: string;
  /**
   * The membership bucket this replica heartbeats into
   * (TESSERA_REPLICAS_BUCKET; logical, namespaced by the mesh): the one the
   * router and monitoring read.
   */
  replicasBucket: string;
  /** The device asked for; resolveDevice() decides whether it is usable. */
  device: Device;
  /** Run on the CPU, with a warning, when the asked-for GPU cannot be used. */
  allowCpuFallback: boolean;
  /** Versions to load at start-up. */
  serve: ServeSpec[];
  /** This replica's batching settings, over every served version's registry config. */
  batchingOverrides: BatchingOverrides | undefined;
  /**
   * Event loops serving the gRPC port (TESSERA_FRONTEND_LOOPS); undefined:
   * the default for the machine (frontend/loop-count.ts). 1 is one loop,
   * the main thread's, with no hop; more need Node >= 22.12 on Linux.
   */
  frontendLoops: number | undefined;
  /** ONNX Runtime sessions per model version: runs that may go on at once. */
  instanceCount: number;
  session: SessionTuning;
  /**
   * Where each version's sessions run (TESSERA_SESSION_PLACEMENT): "thread",
   * "event-loop", or "auto" (default): the event loop for a small, fast
   * model on the CPU with one session, threads otherwise (session-placement.ts).
   */
  sessionPlacement: PlacementSetting;
  /**
   * How long unloading a version (an unload, an alias switch, shutdown)
   * waits for its queued and running requests before answering them
   * UNAVAILABLE and ending its session threads, ms. Default 10 s.
   */
  drainGraceMs: number;
  /** Where downloaded artifacts are written for the sessions to load, one folder per sha256. */
  modelCacheDir: string;
  /** This replica's id in membership and events. */
  replicaId: string;
  /** When set, only calls carrying it (x-tessera-mesh-token, sent by the router) are served. */
  meshToken: string | undefined;
  logLevel: LogLevel;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * Reads and checks the replica's environment. A bad value throws a
 * ConfigError naming the key, so start-up stops with one clear line.
 */
export function readInferenceConfig(env: Env = process.env): InferenceConfig {
  const config: InferenceConfig = {
    grpcPort: readPort(env, "TESSERA_INFERENCE_GRPC_PORT", 8001),
    httpPort: readPort(env, "TESSERA_INFERENCE_HTTP_PORT", 8000),
    bindHost: readString(env, "TESSERA_BIND_HOST", "127.0.0.1"),
    registryAddress: readAddress(env, "TESSERA_REGISTRY_ADDRESS", "127.0.0.1:50051"),
    featureAddress: env.TESSERA_FEATURE_ADDRESS ? readAddress(env, "TESSERA_FEATURE_ADDRESS", "") : undefined,
    natsUrl: readOptionalString(env, "NATS_URL"),
    nats: readNatsOptions(env),
    mesh: readMeshName(env),
    replicasBucket: readString(env, "TESSERA_REPLICAS_BUCKET", REPLICAS_BUCKET),
    device: readParsed(env, "TESSERA_DEVICE", "cpu", parseDevice),
    allowCpuFallback: readBool(env, "TESSERA_ALLOW_CPU_FALLBACK", false),
    serve: readParsed(env, "TESSERA_SERVE", "", parseServeList),
    batchingOverrides: readParsed(env, "TESSERA_BATCHING", "", parseBatchingOverrides),
    frontendLoops: readFrontendLoops(env, "TESSERA_FRONTEND_LOOPS"),
    // Above 64 sessions of one version is a typo: each holds a copy of the weights.
    instanceCount: readInt(env, "TESSERA_INSTANCE_COUNT", 1, { min: 1, max: 64 }),
    session: {
      intraOpThreads: readInt(env, "TESSERA_INTRA_OP_THREADS", 0, { min: 0, max: 1024 }),
      interOpThreads: readInt(env, "TESSERA_INTER_OP_THREADS", 0, { min: 0, max: 1024 }),
      graphOptimization: readEnum<GraphOptimization>(env, "TESSERA_GRAPH_OPTIMIZATION", GRAPH_OPTIMIZATIONS, "all"),
      memoryArena: readBool(env, "TESSERA_MEMORY_ARENA", true),
      spinning: readBool(env, "TESSERA_THREAD_SPINNING", false),
    },
    sessionPlacement: readEnum<PlacementSetting>(env, "TESSERA_SESSION_PLACEMENT", PLACEMENT_SETTINGS, "auto"),
    drainGraceMs: readInt(env, "TESSERA_DRAIN_GRACE_MS", DEFAULT_DRAIN_GRACE_MS, { min: 0, max: 3_600_000 }),
    modelCacheDir: readString(env, "TESSERA_MODEL_CACHE_DIR", DEFAULT_MODEL_CACHE_DIR),
    // hostname-pid: a pod name in Kubernetes, and still unique for several replicas on one laptop.
    replicaId: readReplicaId(env, "TESSERA_REPLICA_ID", `${hostname()}-${process.pid}`),
    logLevel: readEnum<LogLevel>(env, "TESSERA_LOG_LEVEL", LOG_LEVELS, "info"),
    meshToken: readOptionalString(env, "TESSERA_MESH_TOKEN"),
  };
  // Sessions on one event loop take turns: more would hold more copies of the weights and run nothing at once.
  if (config.sessionPlacement === "event-loop" && config.instanceCount > 1) {
    throw new ConfigError(
      "TESSERA_SESSION_PLACEMENT",
      `"event-loop" runs one session at a time, but TESSERA_INSTANCE_COUNT is ${config.instanceCount}; set TESSERA_INSTANCE_COUNT=1, or use "thread" (or "auto") for sessions that run at once`,
    );
  }
  return config;
}

function readParsed<T>(env: Env, key: string, fallback: string, parse: (text: string) => T): T {
  const text = readString(env, key, fallback);
  try {
    return parse(text);
  } catch (error) {
    throw new ConfigError(key, error instanceof Error ? error.message : String(error));
  }
}

// "auto" or unset: the machine's default; above 64 loops on one main thread is a typo.
function readFrontendLoops(env: Env, key: string): number | undefined {
  const text = env[key]?.trim();
  if (text === undefined || text === "" || text === "auto") return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 64) throw new ConfigError(key, `expected "auto" or a number of event loops from 1 to 64, got "${text}"`);
  return Number(text);
}

function readAddress(env: Env, key: string, fallback: string): string {
  const value = readString(env, key, fallback);
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new ConfigError(key, `expected host:port (e.g. "127.0.0.1:50051" or "registry:50051"), got "${value}"`);
  }
  return value;
}

// Replica ids become NATS KV keys (tessera_replicas), so they keep to that alphabet.
function readReplicaId(env: Env, key: string, fallback: string): string {
  const value = readString(env, key, fallback.replace(/[^-_a-zA-Z0-9]/g, "-"));
  if (!/^[-_a-zA-Z0-9]{1,128}$/.test(value)) {
    throw new ConfigError(key, `expected 1-128 letters, digits, '-' or '_', got "${value}"`);
  }
  return value;
}
