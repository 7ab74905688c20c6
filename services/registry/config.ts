import { readEnum, readInt, readPort, readString, type Env } from "../../libs/config/index.js";
import type { LogLevel } from "../../libs/log/index.js";

export interface RegistryConfig {
  /** Address both ports bind to. */
  host: string;
  grpcPort: number;
  httpPort: number;
  /** "nats": JetStream KV + Object Store; "embedded": memory + a local directory (one process only). */
  store: "nats" | "embedded";
  natsUrl: string;
  /** Where the embedded store keeps artifacts. */
  dataDir: string;
  /** KV bucket for models and versions. */
  metadataBucket: string;
  /** Object Store bucket for artifacts. */
  artifactBucket: string;
  maxArtifactBytes: number;
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
    dataDir: readString(env, "TESSERA_DATA_DIR", ".tessera/data"),
    metadataBucket: readString(env, "TESSERA_REGISTRY_BUCKET", "tessera_registry"),
    artifactBucket: readString(env, "TESSERA_ARTIFACT_BUCKET", "tessera_artifacts"),
    // 2 GiB: ONNX's protobuf limit; larger models use external data, which
    // this registry does not take yet.
    maxArtifactBytes: readInt(env, "TESSERA_MAX_ARTIFACT_BYTES", 2 * 1024 * 1024 * 1024, { min: 1 }),
    logLevel: readEnum(env, "TESSERA_LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info"),
  };
}
