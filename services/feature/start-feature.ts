import { Registry } from "prom-client";
import type { Backends } from "../../libs/backends/index.js";
import { FeatureService } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { serve, startService, writesOnly, type ServiceHost } from "../../libs/host/index.js";
import type { Logger } from "../../libs/log/index.js";
import { withCache, type OnlineStore } from "../../libs/online-store/index.js";
import type { FeatureConfig } from "./config.js";
import { DefinitionCatalog } from "./definition-catalog.js";
import { FeatureEvents } from "./feature-events.js";
import { createFeatureMetrics } from "./feature-metrics.js";
import { createFeatureService } from "./feature-service.js";
import { FeatureWriter } from "./feature-writer.js";
import { PushIngestion } from "./push-ingestion.js";
import type { NatsConnection } from "../../libs/nats/index.js";

export interface FeatureDependencies {
  config: Pick<FeatureConfig, "host" | "grpcPort" | "httpPort" | "definitionsBucket" | "maxFutureSkewMs" | "pushSubjectPrefix"> & Partial<Pick<FeatureConfig, "pushStream" | "cacheTtlMs" | "cacheMaxEntries" | "meshToken">>;
  backends: Backends;
  onlineStore: OnlineStore;
  logger: Logger;
  /** Close the backends and the online store when the service stops. Default true; false when the caller shares them. */
  ownsBackends?: boolean;
  /** NATS for push ingestion (views with a push source); without it, pushes are not consumed. The connection stays the caller's. */
  nats?: NatsConnection;
  /** For tests: the clock that judges max age and future skew. */
  now?: () => number;
}

/** A started feature service. */
export interface FeatureHost extends ServiceHost {
  readonly catalog: DefinitionCatalog;
  readonly ingestion?: PushIngestion;
}

/** Starts the feature service on its two ports over the given backends and online store. */
export async function startFeature(deps: FeatureDependencies): Promise<FeatureHost> {
  const { config, backends, logger } = deps;
  const catalog = await DefinitionCatalog.open(await backends.kv(config.definitionsBucket), logger);
  const registry = new Registry();
  const metrics = createFeatureMetrics(registry);
  // The optional in-process cache sits in front of the store for reads and writes alike.
  const onlineStore = config.cacheTtlMs
    ? withCache(deps.onlineStore, { ttlMs: config.cacheTtlMs, maxEntries: config.cacheMaxEntries ?? 10_000, onLookup: (result) => metrics.cacheLookups.inc({ result }) })
    : deps.onlineStore;
  const writer = new FeatureWriter(catalog, onlineStore, metrics, { maxFutureSkewMs: config.maxFutureSkewMs, now: deps.now });
  const events = new FeatureEvents(backends.events, logger);
  const ingestion = deps.nats
    ? await PushIngestion.start({ nc: deps.nats, catalog, writer, events, metrics, logger, stream: config.pushStream ?? "TESSERA_FEATURE_PUSH", subjectPrefix: config.pushSubjectPrefix })
    : undefined;
  const impl = createFeatureService({ catalog, store: onlineStore, writer, events, metrics, pushSubjectPrefix: config.pushSubjectPrefix, now: deps.now });
  const host = await startService({
    name: "feature",
    services: [serve(FeatureService, impl)],
    ...(config.meshToken ? { meshToken: { token: config.meshToken, guards: writesOnly } } : {}),
    host: config.host,
    grpcPort: config.grpcPort,
    httpPort: config.httpPort,
    logger,
    metrics: registry,
    onClose: async () => {
      await ingestion?.close();
      await catalog.close();
      if (deps.ownsBackends !== false) {
        await onlineStore.close();
        await backends.close();
      }
    },
  });
  logger.info("online store", { kind: onlineStore.kind });
  host.setReady(true);
  return Object.assign(host, { catalog, ingestion });
}
