import { openBackends } from "../../libs/backends/index.js";
import { ConfigError } from "../../libs/config/index.js";
import { shutdownOnSignals } from "../../libs/host/index.js";
import { createLogger } from "../../libs/log/index.js";
import { connectNats } from "../../libs/nats/index.js";
import { startTelemetry } from "../../libs/telemetry/index.js";
import { readFeatureConfig } from "./config.js";
import { openOnlineStore } from "./open-online-store.js";
import { startFeature } from "./start-feature.js";

// The feature service as a process of its own: `node dist/services/feature/main.js`.
try {
  const config = readFeatureConfig(process.env);
  const logger = createLogger("feature", { level: config.logLevel });
  const telemetry = await startTelemetry({ serviceName: "tessera-feature", logger });
  const backends = await openBackends(
    config.store === "nats"
      ? { mode: "nats", natsUrl: config.natsUrl, mesh: config.mesh, clientName: "tessera-feature", logger }
      : { mode: "embedded", dataDir: ".tessera/data", mesh: config.mesh, logger },
  );
  const onlineStore = await openOnlineStore(config, logger);
  // Push ingestion reads JetStream on a connection of its own.
  const nats = config.store === "nats" ? await connectNats({ servers: config.natsUrl, name: "tessera-feature-push", logger }) : undefined;
  const host = await startFeature({ config, backends, onlineStore, logger, nats });
  shutdownOnSignals(
    {
      shutdown: async () => {
        await host.shutdown();
        await nats?.drain();
        await telemetry.shutdown();
      },
    },
    logger,
  );
} catch (error) {
  process.stderr.write(`feature: ${error instanceof ConfigError ? error.message : String((error as Error)?.message ?? error)}\n`);
  process.exit(1);
}
