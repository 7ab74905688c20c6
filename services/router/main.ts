import { ConfigError } from "../../libs/config/index.js";
import { openNatsEventBus } from "../../libs/events/index.js";
import { meshNames } from "../../libs/mesh-names/index.js";
import { ConnectError } from "../../libs/errors/index.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { createMeshClient, shutdownOnSignals } from "../../libs/host/index.js";
import { createLogger } from "../../libs/log/index.js";
import { MEMBERSHIP_TTL_MS } from "../../libs/membership/index.js";
import { connectNats } from "../../libs/nats/index.js";
import { ensurePredictionLogStreams, natsPredictionLogTransport } from "../../libs/prediction-log/index.js";
import { startTelemetry } from "../../libs/telemetry/index.js";
import { openNatsKv } from "../../libs/store/index.js";
import { loadAuthorizer } from "./auth/load-authorizer.js";
import { readRouterConfig } from "./config.js";
import { startRouter } from "./start-router.js";
import { startRouterStats } from "./stats/router-stats.js";

// The router as a process of its own: `node dist/services/router/main.js`.
try {
  const config = readRouterConfig(process.env);
  const logger = createLogger("router", { level: config.logLevel });
  const telemetry = await startTelemetry({ serviceName: "tessera-router", logger });
  const authorizer = config.auth === "off" ? undefined : await loadAuthorizer(config.authFile!, logger);
  if (config.auth === "off") logger.warn("auth is off (TESSERA_ROUTER_AUTH=off): every caller may call everything");
  const nc = await connectNats({ servers: config.natsUrl, name: "tessera-router", logger });
  let connected = true;
  const routesKv = await openNatsKv(nc, { bucket: config.routesBucket, logger });
  const membershipKv = await openNatsKv(nc, { bucket: config.replicasBucket, ttlMs: MEMBERSHIP_TTL_MS, logger });
  const registry = createMeshClient(RegistryService, { address: config.registryAddress, meshToken: config.meshToken });
  // Stats are published without waiting for a JetStream ack: monitoring wants the latest, and the next one carries the same totals.
  const events = await openNatsEventBus(nc, { logger, durable: false, names: meshNames(config.mesh) });
  // Shadow comparisons go to the mesh's prediction-log stream, next to the replicas' logs.
  await ensurePredictionLogStreams(nc, { mesh: config.mesh });
  const router = await startRouter({
    config,
    routesKv,
    membershipKv,
    registry: registry.client,
    logger,
    authorizer,
    natsConnected: () => connected,
    predictionLogs: natsPredictionLogTransport(nc, { mesh: config.mesh }),
    onClose: async () => {
      stats.stop();
      registry.close();
      await routesKv.close();
      await membershipKv.close();
      await nc.drain();
      await telemetry.shutdown();
    },
  });
  const stats = startRouterStats({ metrics: router.host.metrics, events, intervalMs: config.statsIntervalMs, logger });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        connected = false;
        logger.warn("NATS is away: serving the last known routes and membership until it is back");
      } else if (s.type === "reconnect") {
        connected = true;
        router.reconnected();
      }
    }
  })();
  shutdownOnSignals(router.host, logger);
} catch (error) {
  const message = error instanceof ConfigError ? error.message : error instanceof ConnectError ? error.rawMessage : String((error as Error)?.message ?? error);
  process.stderr.write(`router: ${message}\n`);
  process.exit(1);
}
