import { openBackends } from "../../libs/backends/index.js";
import { ConfigError } from "../../libs/config/index.js";
import { shutdownOnSignals } from "../../libs/host/index.js";
import { createLogger } from "../../libs/log/index.js";
import { startTelemetry } from "../../libs/telemetry/index.js";
import { readRegistryConfig } from "./config.js";
import { startRegistry } from "./start-registry.js";

// The registry as a process of its own: `node dist/services/registry/main.js`.
try {
  const config = readRegistryConfig(process.env);
  const logger = createLogger("registry", { level: config.logLevel });
  const telemetry = await startTelemetry({ serviceName: "tessera-registry", logger });
  const backends = await openBackends(
    config.store === "nats"
      ? { mode: "nats", natsUrl: config.nats.servers, nats: config.nats, clientName: "tessera-registry", logger, mesh: config.mesh }
      : { mode: "embedded", dataDir: config.dataDir, logger, mesh: config.mesh },
  );
  const host = await startRegistry({ config, backends, logger });
  shutdownOnSignals({ shutdown: () => host.shutdown().finally(() => telemetry.shutdown()) }, logger);
} catch (error) {
  process.stderr.write(`registry: ${error instanceof ConfigError ? error.message : String((error as Error)?.message ?? error)}\n`);
  process.exit(1);
}
