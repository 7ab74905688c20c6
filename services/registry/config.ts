import { readEnum, readInt, readPort, readString, type Env } from "../../libs/config/index.js";
import type { LogLevel } from "../../libs/log/index.js";
import { readMeshName } from "../../libs/mesh-names/index.js";
import { readNatsOptions, type NatsOptions } from "../../libs/nats/index.js";
import { DEFAULT_REGISTRY_LIMITS, type RegistryLimits } from "./registry-limits.js";

export interface RegistryConfig {
  /** Address both ports bind to. */
  host: string;
  grpcPort: number;
  httpPort: number;
  /** "nats": JetStream KV + Object Store; "embedded": memory + a local directory (one process only). */
  store: "nats" | "embedded";
  natsUrl: string;
  /** Credentials, TLS and the JetStream replica count (NATS_CREDS, NATS_TLS_*, TESSERA_JETSTREAM_REPLICAS, ...). */
  nats: NatsOptions;
  /** The mesh (TESSERA_MESH): namespaces buckets and event subjects. */
  mesh: string;
  /** Where the embedded store keeps artifacts. */
  dataDir: string;
  /** KV bucket for models and versions (a logical name: the mesh namespaces `tessera_…`). */
  metadataBucket: string;
  /** Object Store bucket for artifacts (a logical name, as metadataBucket). */
  artifactBucket: string;
  maxArtifactBytes: number;
  /** Upload concurrency, idle timeout and record caps. */
  limits: RegistryLimits;
  logLevel: LogLevel;
}

/** Reads the registry's configuration; a bad value throws a ConfigError naming the key. */
export function readRegistryConfig(env: Env): RegistryConfig {
  return {
    host: readString(env, "TESSERA_BIND_HOST", "127.0.0.1"),
    grpcPort: readPort(env, "TESSERA_REGISTRY_GRPC_PORT", 50051),
    httpPort: readPort(env, "TESSERA_REGISTRY_HTTP_PORT", 8081),
    store: readEnum(env, "TESSERA_STORE", ["nats", "embedded"] as const, "nats"),
    natsUrl: readString(env, "NATS_URL", "nats://127.0.0.1:4222"),
    nats: readNatsOptions(env),
    mesh: readMeshName(env),
    dataDir: readString(env, "TESSERA_DATA_DIR", ".tessera/data"),
    metadataBucket: readString(env, "TESSERA_REGISTRY_BUCKET", "tessera_registry"),
    artifactBucket: readString(env, "TESSERA_ARTIFACT_BUCKET", "tessera_artifacts"),
    // 2 GiB: ONNX's protobuf limit; larger models keep their weights in
    // external data files, capped together by TESSERA_MAX_VERSION_BYTES.
    maxArtifactBytes: readInt(env, "TESSERA_MAX_ARTIFACT_BYTES", 2 * 1024 * 1024 * 1024, { min: 1 }),
    limits: {
      maxConcurrentUploads: readInt(env, "TESSERA_MAX_CONCURRENT_UPLOADS", DEFAULT_REGISTRY_LIMITS.maxConcurrentUploads, { min: 1 }),
      uploadIdleTimeoutMs: readInt(env, "TESSERA_UPLOAD_IDLE_TIMEOUT_MS", DEFAULT_REGISTRY_LIMITS.uploadIdleTimeoutMs, { min: 1 }),
      maxTags: readInt(env, "TESSERA_MAX_TAGS", DEFAULT_REGISTRY_LIMITS.maxTags, { min: 0, max: 1000 }),
      maxAliases: readInt(env, "TESSERA_MAX_ALIASES", DEFAULT_REGISTRY_LIMITS.maxAliases, { min: 1, max: 1000 }),
      maxExternalDataFiles: readInt(env, "TESSERA_MAX_EXTERNAL_DATA_FILES", DEFAULT_REGISTRY_LIMITS.maxExternalDataFiles, { min: 0, max: 4096 }),
      maxVersionBytes: readInt(env, "TESSERA_MAX_VERSION_BYTES", DEFAULT_REGISTRY_LIMITS.maxVersionBytes, { min: 1 }),
    },
    logLevel: readEnum(env, "TESSERA_LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info"),
  };
}
