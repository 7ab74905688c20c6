import { Registry } from "prom-client";
import { GRPCInferenceService } from "../../libs/gen/inference/grpc_service_pb.js";
import { InferenceService } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import type { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { RouterService } from "../../libs/gen/tessera/router/v1/router_pb.js";
import { sendJson, serve, startService, type MeshClient, type ServiceHost } from "../../libs/host/index.js";
import type { Logger } from "../../libs/log/index.js";
import { PredictionLogPublisher, type PredictionLogTransport } from "../../libs/prediction-log/index.js";
import type { KvStore } from "../../libs/store/index.js";
import { openAccess, type Authorizer } from "./auth/authorizer.js";
import { guardService } from "./auth/guard-service.js";
import type { RouterConfig } from "./config.js";
import { watchMembership } from "./discovery/membership-watch.js";
import { ReplicaTable } from "./discovery/replica-table.js";
import { Dispatcher } from "./forwarding/dispatcher.js";
import { Forwarder, UPSTREAM_MAX_RESPONSE_BYTES } from "./forwarding/forward-unary.js";
import { H2Sessions } from "./forwarding/h2-sessions.js";
import { MODEL_INFER, MODEL_METADATA, MODEL_STATISTICS, PREDICT } from "./forwarding/method-specs.js";
import { UpstreamChannels } from "./forwarding/upstream-channels.js";
import { inferenceServiceImpl } from "./handlers/inference-service.js";
import { oipRestProxy } from "./handlers/oip-rest-proxy.js";
import { oipServiceImpl } from "./handlers/oip-service.js";
import { rawForward } from "./handlers/raw-forward.js";
import { routerServiceImpl } from "./handlers/router-service.js";
import { RouterMetrics } from "./router-metrics.js";
import { RouteStore } from "./routes/route-store.js";

export const ROUTER_VERSION = "0.1.0";

export interface StartRouterOptions {
  config: Omit<RouterConfig, "natsUrl" | "mesh" | "registryAddress" | "routesBucket" | "replicasBucket" | "authFile" | "logLevel" | "auth">;
  /** The routes bucket. */
  routesKv: KvStore;
  /** The replicas bucket (TTL), as inference replicas write it. */
  membershipKv: KvStore;
  registry: MeshClient<typeof RegistryService>["client"];
  logger: Logger;
  /** Auth; default open (the caller decided auth is off). */
  authorizer?: Authorizer;
  /** Whether NATS is reachable; while it is not, routes and membership are served as last known. Default: always. */
  natsConnected?: () => boolean;
  /** What carries routes and membership: NATS (default), or the embedded in-process stores of `tessera up --embedded`, where there is no NATS to report on. */
  bus?: "nats" | "embedded";
  shutdownGraceMs?: number;
  /**
   * Where shadow comparisons are published (natsPredictionLogTransport: the
   * prediction-log stream); without it they are only a metric.
   */
  predictionLogs?: PredictionLogTransport;
  /** Runs after the ports close. */
  onClose?: () => Promise<void>;
}

export interface RunningRouter {
  readonly host: ServiceHost;
  readonly table: ReplicaTable;
  readonly routes: RouteStore;
  readonly dispatcher: Dispatcher;
  /** Tell the router NATS is back (membership gets a fresh TTL). */
  reconnected(): void;
  stop(): Promise<void>;
}

/**
 * Starts the router, the mesh's front door: InferenceService, the OIP (gRPC
 * and REST) and RouterService on one gRPC port and one HTTP port, replicas
 * found by watching membership, routes followed from KV.
 */
export async function startRouter(options: StartRouterOptions): Promise<RunningRouter> {
  const { config, logger } = options;
  const connected = options.natsConnected ?? (() => true);
  const embedded = options.bus === "embedded";
  // Embedded, the stores are in this process: always current, and there is no NATS, connected or not.
  const natsGauge = () => (!embedded && connected() ? 1 : 0);
  const authorizer = options.authorizer ?? openAccess;
  const registry = new Registry();
  const metrics = new RouterMetrics(registry);
  const table = new ReplicaTable(config.staleAfterMs);
  const channels = new UpstreamChannels(UPSTREAM_MAX_RESPONSE_BYTES, logger);
  const h2 = config.upstream === "h2" ? new H2Sessions(logger) : undefined;
  const routes = await RouteStore.open(options.routesKv, logger);
  const dispatcher = new Dispatcher({
    replicas: table,
    routes,
    metrics,
    maxAttempts: config.maxAttempts,
    maxPendingPerReplica: config.maxPendingPerReplica,
    retryBudget: { ratio: config.retryBudgetPercent / 100 },
    outlier: { consecutiveFailures: config.ejectAfterFailures, baseEjectionMs: config.ejectionMs, maxEjectedPercent: config.maxEjectedPercent },
  });
  let known = new Set<string>();
  const membership = await watchMembership({
    kv: options.membershipKv,
    table,
    logger,
    connected,
    onChange: () => {
      const replicas = table.all();
      const live = new Set(replicas.map((r) => r.replicaId));
      for (const id of known) if (!live.has(id)) dispatcher.forget(id);
      known = live;
      channels.retain(new Set(replicas.map((r) => r.grpcAddress)));
      h2?.retain(new Set(replicas.map((r) => r.grpcAddress)));
      metrics.replicas.set(replicas.length);
    },
  });
  metrics.replicas.set(table.all().length);
  metrics.natsConnected.set(natsGauge());
  const shadowComparisons = options.predictionLogs && new PredictionLogPublisher({ transport: options.predictionLogs, source: "tessera/router", metrics: registry, logger });
  const forwarder = new Forwarder({ dispatcher, channels, metrics, logger, authorizer, defaultTimeoutMs: config.defaultTimeoutMs, meshToken: config.meshToken, shadowComparisons, h2 });
  const ready = () => table.all().length > 0;
  const status = () => ({
    bus: embedded ? "embedded" : "nats",
    nats: embedded ? "not used: embedded mesh (routes and membership in this process)" : connected() ? "connected" : "disconnected: serving the last known routes and membership",
    replicas: table.all().map((r) => ({
      id: r.replicaId,
      grpc: r.grpcAddress,
      models: r.models.map((m) => `${m.model}@${m.version}`),
      // Its front-end loops, and the loops the router's connections reached so far (null: no answer yet).
      loops: r.frontendLoops,
      loopsReached: (h2 ?? channels).loopsOf(r.grpcAddress).map((loop) => loop ?? null),
    })),
    routes: routes.list().map((r) => r.model),
  });

  let host: ServiceHost;
  try {
    host = await startService({
      name: "router",
      services: [
        serve(InferenceService, inferenceServiceImpl(forwarder, table, authorizer), { rawGrpc: { Predict: rawForward(forwarder, PREDICT) } }),
        serve(GRPCInferenceService, guardService(GRPCInferenceService, oipServiceImpl(forwarder, table, { serverVersion: ROUTER_VERSION, ready }), authorizer, ["ModelInfer", "ModelMetadata", "ModelStatistics"]), {
          rawGrpc: {
            ModelInfer: rawForward(forwarder, MODEL_INFER),
            ModelMetadata: rawForward(forwarder, MODEL_METADATA),
            ModelStatistics: rawForward(forwarder, MODEL_STATISTICS),
          },
        }),
        serve(RouterService, guardService(RouterService, routerServiceImpl({ routes, registry: options.registry, logger }), authorizer)),
      ],
      routes: [
        (request, response) => {
          if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/router/status") return false;
          metrics.natsConnected.set(natsGauge());
          sendJson(response, 200, status());
          return true;
        },
        oipRestProxy({ dispatcher, authorizer, metrics, ready, serverVersion: ROUTER_VERSION, maxBodyBytes: config.maxMessageBytes, defaultTimeoutMs: config.defaultTimeoutMs, meshToken: config.meshToken }),
      ],
      host: config.bindHost,
      grpcPort: config.grpcPort,
      httpPort: config.httpPort,
      logger,
      metrics: registry,
      maxMessageBytes: config.maxMessageBytes,
      shutdownGraceMs: options.shutdownGraceMs,
      onClose: async () => {
        await membership.stop();
        await routes.close();
        channels.closeAll();
        h2?.closeAll();
        await shadowComparisons?.close();
        await options.onClose?.();
      },
    });
  } catch (error) {
    await membership.stop();
    await routes.close();
    channels.closeAll();
    h2?.closeAll();
    throw error;
  }
  // Ready from the start: with no replica yet, calls answer UNAVAILABLE with why, which beats a refused port.
  host.setReady(true);
  return {
    host,
    table,
    routes,
    dispatcher,
    reconnected: () => {
      membership.reconnected();
      metrics.natsConnected.set(natsGauge());
    },
    stop: () => host.shutdown(),
  };
}
