import { ConfigError, readEnum, readInt, readOptionalString, readPort, readString, type Env } from "../../libs/config/index.js";
import type { LogLevel } from "../../libs/log/index.js";
import { MEMBERSHIP_TTL_MS, REPLICAS_BUCKET } from "../../libs/membership/index.js";
import { meshNames, readMeshName } from "../../libs/mesh-names/index.js";

/** The bucket routes are stored in, one key per model. */
export const ROUTES_BUCKET = "tessera_routes";

/** Everything the router reads from its environment, validated. */
export interface RouterConfig {
  /** gRPC port. Default 8001, Triton's: the front door takes the port clients look for. */
  grpcPort: number;
  /** HTTP port (Connect, gRPC-Web, OIP REST, /metrics). Default 8000, Triton's. */
  httpPort: number;
  bindHost: string;
  /** The registry's gRPC host:port: asked whether a route's versions exist. */
  registryAddress: string;
  natsUrl: string;
  /** The mesh (TESSERA_MESH): the buckets below are its own. */
  mesh: string;
  /** Wire names: TESSERA_ROUTES_BUCKET / TESSERA_REPLICAS_BUCKET are logical names the mesh namespaces, as the replicas' and registry's. */
  routesBucket: string;
  replicasBucket: string;
  /** A replica not heard from for this long gets no traffic. Default: the bucket's TTL. */
  staleAfterMs: number;
  /** How often RouterStats (degraded-answer counts, for monitoring's rules) goes out (TESSERA_ROUTER_STATS_INTERVAL_MS). Default 15 s. */
  statsIntervalMs: number;
  /** Deadline for a call that brings none. Default 30 s. */
  defaultTimeoutMs: number;
  /** Attempts per request, the first included. Default 3. */
  maxAttempts: number;
  /** Retries as a share of requests, percent. Default 20 (Envoy's retry budget). */
  retryBudgetPercent: number;
  /** Calls in flight to one replica before its circuit opens. Default 1024. */
  maxPendingPerReplica: number;
  /** Consecutive failures that eject a replica. Default 5. */
  ejectAfterFailures: number;
  /** First ejection, ms; doubles per repeat. Default 5000. */
  ejectionMs: number;
  /** At most this share of a version's replicas ejected at once, percent. Default 50. */
  maxEjectedPercent: number;
  /** Largest request, bytes, on both ports. Default 16 MiB, as every service. */
  maxMessageBytes: number;
  /** "keys": API keys / JWT required (the default); "off": open, only when asked for. */
  auth: "keys" | "off";
  /** JSON file of API keys and JWT settings (docs/router.md, Auth). */
  authFile: string | undefined;
  /**
   * How the gRPC path calls replicas: "h2", node:http2 sessions with the
   * gRPC framing done here (cheaper per call), or "grpc-js" channels.
   */
  upstream: "h2" | "grpc-js";
  /** Shared token sent to replicas so they can refuse calls that bypassed the router. */
  meshToken: string | undefined;
  logLevel: LogLevel;
}

export function readRouterConfig(env: Env = process.env): RouterConfig {
  const mesh = readMeshName(env);
  const names = meshNames(mesh);
  const config: RouterConfig = {
    grpcPort: readPort(env, "TESSERA_ROUTER_GRPC_PORT", 8001),
    httpPort: readPort(env, "TESSERA_ROUTER_HTTP_PORT", 8000),
    bindHost: readString(env, "TESSERA_BIND_HOST", "127.0.0.1"),
    registryAddress: readString(env, "TESSERA_REGISTRY_ADDRESS", "127.0.0.1:50051"),
    natsUrl: readString(env, "NATS_URL", "nats://127.0.0.1:4222"),
    mesh,
    routesBucket: names.bucket(readString(env, "TESSERA_ROUTES_BUCKET", ROUTES_BUCKET)),
    replicasBucket: names.bucket(readString(env, "TESSERA_REPLICAS_BUCKET", REPLICAS_BUCKET)),
    staleAfterMs: readInt(env, "TESSERA_ROUTER_STALE_AFTER_MS", MEMBERSHIP_TTL_MS, { min: 100 }),
    statsIntervalMs: readInt(env, "TESSERA_ROUTER_STATS_INTERVAL_MS", 15_000, { min: 100 }),
    defaultTimeoutMs: readInt(env, "TESSERA_ROUTER_TIMEOUT_MS", 30_000, { min: 1 }),
    maxAttempts: readInt(env, "TESSERA_ROUTER_MAX_ATTEMPTS", 3, { min: 1, max: 10 }),
    retryBudgetPercent: readInt(env, "TESSERA_ROUTER_RETRY_BUDGET_PERCENT", 20, { min: 0, max: 100 }),
    maxPendingPerReplica: readInt(env, "TESSERA_ROUTER_MAX_PENDING", 1024, { min: 1 }),
    ejectAfterFailures: readInt(env, "TESSERA_ROUTER_EJECT_AFTER_FAILURES", 5, { min: 1 }),
    ejectionMs: readInt(env, "TESSERA_ROUTER_EJECTION_MS", 5_000, { min: 1 }),
    maxEjectedPercent: readInt(env, "TESSERA_ROUTER_MAX_EJECTED_PERCENT", 50, { min: 0, max: 100 }),
    maxMessageBytes: readInt(env, "TESSERA_ROUTER_MAX_MESSAGE_BYTES", 16 * 1024 * 1024, { min: 1024 }),
    auth: readEnum(env, "TESSERA_ROUTER_AUTH", ["keys", "off"] as const, "keys"),
    authFile: readOptionalString(env, "TESSERA_ROUTER_AUTH_FILE"),
    upstream: readEnum(env, "TESSERA_ROUTER_UPSTREAM", ["h2", "grpc-js"] as const, "h2"),
    meshToken: readOptionalString(env, "TESSERA_MESH_TOKEN"),
    logLevel: readEnum(env, "TESSERA_LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info"),
  };
  if (config.auth === "keys" && config.authFile === undefined) {
    throw new ConfigError("TESSERA_ROUTER_AUTH_FILE", "auth is on (TESSERA_ROUTER_AUTH=keys) but no key file is given; point this at one, or set TESSERA_ROUTER_AUTH=off to run open");
  }
  return config;
}
