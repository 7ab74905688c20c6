import type { ReplicaTopology, RouterTopology, Topology } from "./topology.js";

/** TESSERA_MESH for every child, when the topology (or `tessera up --mesh`) names a mesh; else each inherits the environment's. */
function meshEnv(topology: Topology): Record<string, string> {
  return topology.mesh ? { TESSERA_MESH: topology.mesh } : {};
}

/** How the services keep state: NATS (one process each) or the embedded stores (one process for all). */
export type StoreMode = { readonly kind: "nats"; readonly natsUrl: string } | { readonly kind: "embedded" };

/**
 * The environment a registry process reads (services/registry/config.ts),
 * from the topology. The topology's own `env` comes last, so it can set
 * anything the topology has no key for (buckets, artifact limits).
 */
export function registryEnv(topology: Topology, store: StoreMode): Record<string, string> {
  return {
    ...meshEnv(topology),
    TESSERA_BIND_HOST: topology.bindHost,
    TESSERA_REGISTRY_GRPC_PORT: String(topology.registry.grpcPort),
    TESSERA_REGISTRY_HTTP_PORT: String(topology.registry.httpPort),
    TESSERA_STORE: store.kind,
    ...(store.kind === "nats" ? { NATS_URL: store.natsUrl } : {}),
    TESSERA_DATA_DIR: topology.registry.dataDir,
    TESSERA_LOG_LEVEL: topology.logLevel,
    ...topology.registry.env,
  };
}

/** The environment an inference replica reads (services/inference/config.ts). */
export function replicaEnv(
  topology: Topology,
  replica: ReplicaTopology,
  options: { registryAddress: string; store: StoreMode; featureAddress?: string },
): Record<string, string> {
  return {
    ...(options.featureAddress ? { TESSERA_FEATURE_ADDRESS: options.featureAddress } : {}),
    ...meshEnv(topology),
    TESSERA_BIND_HOST: topology.bindHost,
    TESSERA_INFERENCE_GRPC_PORT: String(replica.grpcPort),
    TESSERA_INFERENCE_HTTP_PORT: String(replica.httpPort),
    TESSERA_REGISTRY_ADDRESS: options.registryAddress,
    // Without NATS_URL a replica uses the in-process bus, which only works when it shares the registry's process.
    ...(options.store.kind === "nats" ? { NATS_URL: options.store.natsUrl } : {}),
    TESSERA_DEVICE: replica.device,
    TESSERA_SERVE: replica.serve.join(","),
    TESSERA_INSTANCE_COUNT: String(replica.instanceCount),
    TESSERA_FRONTEND_LOOPS: String(replica.frontendLoops),
    TESSERA_ALLOW_CPU_FALLBACK: String(replica.allowCpuFallback),
    TESSERA_REPLICA_ID: replica.id,
    TESSERA_LOG_LEVEL: topology.logLevel,
    ...replica.env,
  };
}

/** The environment the monitoring service reads (services/monitoring/config.ts). */
export function monitoringEnv(topology: Topology, options: { registryAddress: string; store: StoreMode; routerAddress?: string }): Record<string, string> {
  const bound = topology.bindHost === "0.0.0.0" ? "127.0.0.1" : topology.bindHost;
  // Rollouts move the router's weights: the started router's address (the launchers start it first), else the topology's port (0, free, leaves them off).
  const router = options.routerAddress ?? (topology.router && topology.router.grpcPort !== 0 ? `${bound}:${topology.router.grpcPort}` : undefined);
  return {
    ...meshEnv(topology),
    TESSERA_BIND_HOST: topology.bindHost,
    TESSERA_MONITORING_GRPC_PORT: String(topology.monitoring.grpcPort),
    TESSERA_MONITORING_HTTP_PORT: String(topology.monitoring.httpPort),
    TESSERA_REGISTRY_ADDRESS: options.registryAddress,
    ...(options.store.kind === "nats" ? { NATS_URL: options.store.natsUrl } : {}),
    ...(router ? { TESSERA_ROUTER_ADDRESS: router } : {}),
    TESSERA_LOG_LEVEL: topology.logLevel,
    ...topology.monitoring.env,
  };
}

/**
 * The environment the feature service reads (services/feature/config.ts).
 * `onlineStore` overrides the topology's (memory when Redis does not answer).
 */
export function featureEnv(topology: Topology, store: StoreMode, options: { redisUrl: string; onlineStore: string }): Record<string, string> {
  return {
    ...meshEnv(topology),
    TESSERA_BIND_HOST: topology.bindHost,
    TESSERA_FEATURE_GRPC_PORT: String(topology.feature?.grpcPort ?? 50052),
    TESSERA_FEATURE_HTTP_PORT: String(topology.feature?.httpPort ?? 8082),
    TESSERA_STORE: store.kind,
    ...(store.kind === "nats" ? { NATS_URL: store.natsUrl } : {}),
    REDIS_URL: options.redisUrl,
    TESSERA_FEATURE_ONLINE_STORE: options.onlineStore,
    TESSERA_LOG_LEVEL: topology.logLevel,
    ...topology.feature?.env,
  };
}

/** The environment the router reads (services/router/config.ts). */
export function routerEnv(topology: Topology, router: RouterTopology, options: { registryAddress: string; natsUrl?: string }): Record<string, string> {
  return {
    ...meshEnv(topology),
    TESSERA_BIND_HOST: topology.bindHost,
    TESSERA_ROUTER_GRPC_PORT: String(router.grpcPort),
    TESSERA_ROUTER_HTTP_PORT: String(router.httpPort),
    TESSERA_REGISTRY_ADDRESS: options.registryAddress,
    ...(options.natsUrl ? { NATS_URL: options.natsUrl } : {}),
    TESSERA_LOG_LEVEL: topology.logLevel,
    ...router.env,
  };
}

/** Where a client on this machine reaches a service bound to `address` (0.0.0.0 and :: are not dialable). */
export function dialAddress(address: string): string {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (host === "0.0.0.0" || host === "") return `127.0.0.1:${port}`;
  if (host === "::" || host === "[::]") return `[::1]:${port}`;
  return address;
}
