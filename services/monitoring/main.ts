import { openBackends } from "../../libs/backends/index.js";
import { ConfigError } from "../../libs/config/index.js";
import { ConnectError } from "../../libs/errors/index.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { RouterService } from "../../libs/gen/tessera/router/v1/router_pb.js";
import { adoptLegacyRollouts } from "./rollouts/legacy-rollouts.js";
import { RouterRouteControl } from "./rollouts/router-route-control.js";
import { createMeshClient, shutdownOnSignals } from "../../libs/host/index.js";
import { createLogger } from "../../libs/log/index.js";
import { MEMBERSHIP_TTL_MS } from "../../libs/membership/index.js";
import { connectNats } from "../../libs/nats/index.js";
import { startTelemetry } from "../../libs/telemetry/index.js";
import { readFile } from "node:fs/promises";
import { parseAlertRules } from "./alerts/alert-rules.js";
import { readMonitoringConfig } from "./config.js";
import { registryProfiles } from "./registry-profiles.js";
import { startMonitoring } from "./start-monitoring.js";

// The monitoring service as a process of its own: `node dist/services/monitoring/main.js`.
try {
  const config = readMonitoringConfig(process.env);
  const logger = createLogger("monitoring", { level: config.logLevel });
  const telemetry = await startTelemetry({ serviceName: "tessera-monitoring", logger });
  // A bad rule file stops start-up with the line at fault.
  const rules = config.rulesFile ? parseAlertRules(await readFile(config.rulesFile, "utf8"), config.rulesFile) : [];
  const backends = await openBackends({ mode: "nats", natsUrl: config.natsUrl, mesh: config.mesh, clientName: "tessera-monitoring", logger });
  // Logs get their own connection: their volume must not delay events and alerts.
  const nc = await connectNats({ servers: config.natsUrl, name: "tessera-monitoring-logs", logger });
  const registry = createMeshClient(RegistryService, { address: config.registryAddress, meshToken: config.meshToken });
  const router = config.routerAddress ? createMeshClient(RouterService, { address: config.routerAddress }) : undefined;
  const states = router && (await backends.kv(config.rolloutsBucket));
  if (states && config.legacyRolloutsBucket) await adoptLegacyRollouts(nc, states, logger, config.legacyRolloutsBucket);
  const rollouts = router && states && {
    states,
    leases: await backends.kv(config.rolloutLeasesBucket, { ttlMs: config.rolloutLeaseMs }),
    routes: new RouterRouteControl(router.client, registry.client, { apiKey: config.routerApiKey }),
    registry: registry.client,
    tickMs: config.rolloutTickMs,
  };
  const membership = await backends.kv(config.replicasBucket, { ttlMs: MEMBERSHIP_TTL_MS });
  const server = await startMonitoring({
    rollouts,
    membership,
    config,
    events: backends.events,
    nc,
    rules,
    profiles: registryProfiles(registry.client),
    logger,
    onClose: async () => {
      registry.close();
      router?.close();
      await nc.drain();
      await backends.close();
      await telemetry.shutdown();
    },
  });
  shutdownOnSignals({ shutdown: server.stop }, logger);
} catch (error) {
  const message = error instanceof ConfigError ? error.message : error instanceof ConnectError ? error.rawMessage : String((error as Error)?.message ?? error);
  process.stderr.write(`monitoring: ${message}\n`);
  process.exit(1);
}
