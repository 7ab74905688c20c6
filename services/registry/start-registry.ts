import type { Backends } from "../../libs/backends/index.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { serve, startService, writesOnly, type ServiceHost } from "../../libs/host/index.js";
import type { Logger } from "../../libs/log/index.js";
import type { RegistryConfig } from "./config.js";
import { reconcileOrphans } from "./reconcile-orphans.js";
import { RegistryEvents } from "./registry-events.js";
import { DEFAULT_REGISTRY_LIMITS } from "./registry-limits.js";
import { createRegistryService } from "./registry-service.js";
import { RegistryStore } from "./registry-store.js";

export interface RegistryDependencies {
  config: Pick<RegistryConfig, "host" | "grpcPort" | "httpPort" | "metadataBucket" | "artifactBucket" | "maxArtifactBytes"> & Partial<Pick<RegistryConfig, "limits" | "meshToken">>;
  backends: Backends;
  logger: Logger;
  /** Close the backends when the service stops. Default true; false when the caller shares them. */
  ownsBackends?: boolean;
  /**
   * How often orphan versions are looked for (reconcileOrphans), after a
   * first pass at start-up. Default 10 minutes; 0: only at start-up.
   */
  reconcileIntervalMs?: number;
  /** See ReconcileOptions.graceMs. */
  orphanGraceMs?: number;
}

/** Starts the registry on its two ports over the given backends. */
export async function startRegistry(deps: RegistryDependencies): Promise<ServiceHost> {
  const { config, backends, logger } = deps;
  const store = new RegistryStore(await backends.kv(config.metadataBucket), await backends.objects(config.artifactBucket));
  const impl = createRegistryService({
    store,
    events: new RegistryEvents(backends.events, logger),
    logger,
    maxArtifactBytes: config.maxArtifactBytes,
    limits: config.limits ?? DEFAULT_REGISTRY_LIMITS,
  });
  let stopFollowing = () => {};
  let reconcileTimer: NodeJS.Timeout | undefined;
  const host = await startService({
    name: "registry",
    services: [serve(RegistryService, impl)],
    ...(config.meshToken ? { meshToken: { token: config.meshToken, guards: writesOnly } } : {}),
    host: config.host,
    grpcPort: config.grpcPort,
    httpPort: config.httpPort,
    logger,
    onClose: async () => {
      stopFollowing();
      if (reconcileTimer) clearInterval(reconcileTimer);
      if (deps.ownsBackends !== false) await backends.close();
    },
  });
  // The registry can serve nothing without its stores: not ready while NATS is away.
  stopFollowing = backends.followHealth((problem) => {
    if (problem) logger.warn("not ready: the metadata and artifact stores are unreachable", { problem });
    else logger.info("ready again: the stores are reachable");
    host.reportProblem("nats", problem);
  });
  const reconcile = () =>
    void reconcileOrphans(store, logger, { graceMs: deps.orphanGraceMs }).catch((error: unknown) => logger.warn("orphan reconciliation failed; will try again", { error }));
  reconcile();
  const interval = deps.reconcileIntervalMs ?? 10 * 60_000;
  if (interval > 0) {
    reconcileTimer = setInterval(reconcile, interval);
    reconcileTimer.unref();
  }
  host.setReady(true);
  return host;
}
