import { readEnum, readInt, readOptionalString, readPort, readString, type Env } from "../../libs/config/index.js";
import type { LogLevel } from "../../libs/log/index.js";
import { meshNames, readMeshName } from "../../libs/mesh-names/index.js";

export interface FeatureConfig {
  /** Address both ports bind to. */
  host: string;
  grpcPort: number;
  httpPort: number;
  /** Where definitions live: "nats" (JetStream KV) or "embedded" (memory, one process). */
  store: "nats" | "embedded";
  natsUrl: string;
  /** The mesh (TESSERA_MESH): namespaces the definitions bucket, events, the push stream and subjects, and the Redis keys. */
  mesh: string;
  /** KV bucket for entities and feature views (logical name: the backends namespace it by the mesh). */
  definitionsBucket: string;
  /** The online store: one Redis, a Redis Cluster, or memory (embedded; values are gone when the process stops). */
  onlineStore: "redis" | "redis-cluster" | "memory";
  /** One Redis URL, or the cluster's seed nodes (host:port, comma-separated). */
  redisUrl: string;
  /** Prefix of every Redis key, so meshes can share one Redis. Default `tf:` in the default mesh, `<mesh>:tf:` in others. */
  keyPrefix: string;
  /** How long one Redis command may take before the call answers UNAVAILABLE. */
  redisTimeoutMs: number;
  /** Event times further than this in the future are refused (clock skew allowance). */
  maxFutureSkewMs: number;
  /** Subjects under this prefix are push sources; one JetStream stream captures them. Default `feature_push` in the default mesh, `<mesh>_feature_push` in others. */
  pushSubjectPrefix: string;
  /** Wire name of the push stream: TESSERA_FEATURE_PUSH_STREAM is a logical name (TESSERA_FEATURE_PUSH → `<MESH>_FEATURE_PUSH`). */
  pushStream: string;
  /** In-process cache of read rows: 0 (default) turns it off. */
  cacheTtlMs: number;
  cacheMaxEntries: number;
  /**
   * TESSERA_MESH_TOKEN: when set, writes (every RPC but Get*, List*, Watch*,
   * Describe*, Download*) need it as x-tessera-mesh-token (docs/router.md, Auth).
   */
  meshToken?: string;
  logLevel: LogLevel;
}

/** Reads the feature service's configuration; a bad value throws a ConfigError naming the key. */
export function readFeatureConfig(env: Env): FeatureConfig {
  const store = readEnum(env, "TESSERA_STORE", ["nats", "embedded"] as const, "nats");
  const mesh = readMeshName(env);
  const names = meshNames(mesh);
  return {
    host: readString(env, "TESSERA_BIND_HOST", "127.0.0.1"),
    grpcPort: readPort(env, "TESSERA_FEATURE_GRPC_PORT", 50052),
    httpPort: readPort(env, "TESSERA_FEATURE_HTTP_PORT", 8082),
    store,
    natsUrl: readString(env, "NATS_URL", "nats://127.0.0.1:4222"),
    mesh,
    definitionsBucket: readString(env, "TESSERA_FEATURE_BUCKET", "tessera_features"),
    // Embedded means no servers at all, so no Redis either unless asked for.
    onlineStore: readEnum(env, "TESSERA_FEATURE_ONLINE_STORE", ["redis", "redis-cluster", "memory"] as const, store === "embedded" ? "memory" : "redis"),
    redisUrl: readString(env, "REDIS_URL", "redis://127.0.0.1:6379"),
    keyPrefix: readString(env, "TESSERA_FEATURE_KEY_PREFIX", names.prefixed("tf:", ":")),
    // 2 s: a loopback Redis answers in well under a millisecond; past this it is gone.
    redisTimeoutMs: readInt(env, "TESSERA_FEATURE_REDIS_TIMEOUT_MS", 2000, { min: 10 }),
    // 5 minutes: ordinary clock drift between producers, not a typo'd year.
    maxFutureSkewMs: readInt(env, "TESSERA_FEATURE_MAX_FUTURE_SKEW_MS", 5 * 60 * 1000, { min: 0 }),
    // Outside `<mesh>.>`: the events stream must not capture pushed rows (JetStream refuses overlapping streams).
    pushSubjectPrefix: readString(env, "TESSERA_FEATURE_PUSH_PREFIX", names.prefixed("feature_push")),
    pushStream: names.stream(readString(env, "TESSERA_FEATURE_PUSH_STREAM", "TESSERA_FEATURE_PUSH")),
    // Off by default: a cached row can be up to this old, and freshness usually matters more.
    cacheTtlMs: readInt(env, "TESSERA_FEATURE_CACHE_TTL_MS", 0, { min: 0 }),
    cacheMaxEntries: readInt(env, "TESSERA_FEATURE_CACHE_MAX_ENTRIES", 10_000, { min: 1 }),
    meshToken: readOptionalString(env, "TESSERA_MESH_TOKEN"),
    logLevel: readEnum(env, "TESSERA_LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info"),
  };
}
