import { ConfigError, readEnum, readInt, readOptionalString, readPort, readString, type Env } from "../../libs/config/index.js";
import type { LogLevel } from "../../libs/log/index.js";
import { DEFAULT_MESH, readMeshName } from "../../libs/mesh-names/index.js";
import { REPLICAS_BUCKET } from "../../libs/membership/index.js";
import { resolveDriftOptions, type DriftOptions } from "./drift/index.js";
import { LEGACY_ROLLOUTS_BUCKET, ROLLOUT_LEASES_BUCKET, ROLLOUTS_BUCKET } from "./rollouts/rollout-buckets.js";

/** Everything the monitoring service reads from its environment, validated. */
export interface MonitoringConfig {
  host: string;
  /** gRPC port. Default 50053. */
  grpcPort: number;
  /** HTTP port (Connect, /metrics). Default 8083. */
  httpPort: number;
  natsUrl: string;
  /** The mesh (TESSERA_MESH): namespaces its event subjects and the prediction-log stream it reads. */
  mesh: string;
  /** The registry's gRPC host:port, for reference profiles. */
  registryAddress: string;
  /** Values kept per feature and version. Default 10,000 (the benchmark's window). */
  windowSize: number;
  /** How often every window is tested and metrics and events updated, ms. Default 30 s. */
  reportIntervalMs: number;
  /** Durable consumer name on the mesh's TESSERA_PREDICTIONS. */
  consumerName: string;
  /** Logs in flight from JetStream at most. */
  maxAckPending: number;
  /** JSON: drift options per model, "*" for all (e.g. {"*": {"driftShare": 0.3}}). */
  driftOptions: Record<string, DriftOptions>;
  /** An alert rules YAML file; none: no rules. */
  rulesFile: string | undefined;
  /** How often alert rules are evaluated, ms. Default 15 s. */
  alertIntervalMs: number;
  /** The router's gRPC host:port (TESSERA_ROUTER_ADDRESS); none: no rollouts. */
  routerAddress: string | undefined;
  /** An API key for a router that requires keys (TESSERA_ROUTER_API_KEY); `tessera up` gives it the dev key. */
  routerApiKey: string | undefined;
  /** How often active rollouts are checked, ms. Default 5 s. */
  rolloutTickMs: number;
  /** A rollout's lease lasts this long without renewal; a crashed controller's rollouts resume after it. Default 15 s. */
  rolloutLeaseMs: number;
  /** KV buckets of rollout states and leases, logical names the mesh namespaces; default `tessera_rollouts` / `tessera_rollout_leases`. The demo keeps its own. */
  rolloutsBucket: string;
  rolloutLeasesBucket: string;
  /** The pre-mesh bucket whose rollouts to adopt at start (legacy-rollouts.ts): `rollouts` in the default mesh on the default bucket, else none. */
  legacyRolloutsBucket: string | undefined;
  /** The replicas' membership bucket (TESSERA_REPLICAS_BUCKET; logical, namespaced by the mesh), for queue_depth. */
  replicasBucket: string;
  /**
   * TESSERA_MESH_TOKEN: when set, writes (every RPC but Get*, List*, Watch*,
   * Describe*, Download*) need it as x-tessera-mesh-token (docs/router.md, Auth).
   */
  meshToken?: string;
  logLevel: LogLevel;
}

export function readMonitoringConfig(env: Env): MonitoringConfig {
  const mesh = readMeshName(env);
  const rolloutsBucket = readString(env, "TESSERA_ROLLOUTS_BUCKET", ROLLOUTS_BUCKET);
  return {
    host: readString(env, "TESSERA_BIND_HOST", "127.0.0.1"),
    grpcPort: readPort(env, "TESSERA_MONITORING_GRPC_PORT", 50053),
    httpPort: readPort(env, "TESSERA_MONITORING_HTTP_PORT", 8083),
    natsUrl: readString(env, "NATS_URL", "nats://127.0.0.1:4222"),
    mesh,
    registryAddress: readString(env, "TESSERA_REGISTRY_ADDRESS", "127.0.0.1:50051"),
    windowSize: readInt(env, "TESSERA_MONITORING_WINDOW", 10_000, { min: 10, max: 1_000_000 }),
    reportIntervalMs: readInt(env, "TESSERA_MONITORING_REPORT_INTERVAL_MS", 30_000, { min: 100 }),
    consumerName: readString(env, "TESSERA_MONITORING_CONSUMER", "tessera-monitoring"),
    maxAckPending: readInt(env, "TESSERA_MONITORING_MAX_ACK_PENDING", 1000, { min: 1, max: 100_000 }),
    driftOptions: readDriftOptions(env, "TESSERA_DRIFT_OPTIONS"),
    rulesFile: readOptionalString(env, "TESSERA_ALERT_RULES"),
    alertIntervalMs: readInt(env, "TESSERA_ALERT_INTERVAL_MS", 15_000, { min: 100 }),
    routerAddress: readOptionalString(env, "TESSERA_ROUTER_ADDRESS"),
    routerApiKey: readOptionalString(env, "TESSERA_ROUTER_API_KEY"),
    rolloutTickMs: readInt(env, "TESSERA_ROLLOUT_TICK_MS", 5_000, { min: 100 }),
    rolloutLeaseMs: readInt(env, "TESSERA_ROLLOUT_LEASE_MS", 15_000, { min: 1_000 }),
    rolloutsBucket,
    rolloutLeasesBucket: readString(env, "TESSERA_ROLLOUT_LEASES_BUCKET", ROLLOUT_LEASES_BUCKET),
    // Only the default mesh ever used `rollouts` by default; another mesh's state there cannot be told apart.
    legacyRolloutsBucket: mesh === DEFAULT_MESH && rolloutsBucket === ROLLOUTS_BUCKET ? LEGACY_ROLLOUTS_BUCKET : undefined,
    replicasBucket: readString(env, "TESSERA_REPLICAS_BUCKET", REPLICAS_BUCKET),
    meshToken: readOptionalString(env, "TESSERA_MESH_TOKEN"),
    logLevel: readEnum(env, "TESSERA_LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info"),
  };
}

function readDriftOptions(env: Env, key: string): Record<string, DriftOptions> {
  const text = readOptionalString(env, key);
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(key, `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ConfigError(key, 'expected an object of model name to options, e.g. {"*": {"driftShare": 0.3}}');
  for (const [model, options] of Object.entries(parsed)) {
    try {
      resolveDriftOptions(options as DriftOptions);
    } catch (error) {
      throw new ConfigError(key, `model "${model}": ${error instanceof Error ? error.message.replace(/^\[\w+\] /, "") : String(error)}`);
    }
  }
  return parsed as Record<string, DriftOptions>;
}
