import { openBackends, type Backends } from "../../libs/backends/index.js";
import { ConfigError } from "../../libs/config/index.js";
import { ConnectError } from "../../libs/errors/index.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { FeatureService } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { FeatureLookup } from "./features/feature-lookup.js";
import { createMeshClient, shutdownOnSignals } from "../../libs/host/index.js";
import { createLogger, type Logger } from "../../libs/log/index.js";
import { connectNats } from "../../libs/nats/index.js";
import { ensurePredictionLogStreams, natsPredictionLogTransport } from "../../libs/prediction-log/index.js";
import { startTelemetry } from "../../libs/telemetry/index.js";
import { envWithFlags } from "./cli-flags.js";
import { readInferenceConfig, type InferenceConfig } from "./config.js";
import { readLoggingPolicy } from "./logging/logging-config.js";
import { MEMBERSHIP_TTL_MS } from "../../libs/membership/index.js";
import { startInference } from "./start-inference.js";

const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

// An inference replica as a process of its own:
//   node dist/services/inference/main.js [--device cuda:0] [--allow-cpu-fallback] [--serve fraud@production]
try {
  const config = readInferenceConfig(envWithFlags(process.argv.slice(2), process.env));
  const logger = createLogger("inference", { level: config.logLevel }, { replica: config.replicaId });
  const telemetry = await startTelemetry({ serviceName: "tessera-inference", logger });
  const backends = await connectBackends(config, logger);
  const registry = createMeshClient(RegistryService, { address: config.registryAddress, meshToken: config.meshToken });
  const kv = await backends.kv(config.replicasBucket, { ttlMs: MEMBERSHIP_TTL_MS });
  const policy = readLoggingPolicy(process.env);
  // Prediction logs get a connection of their own, so their volume never queues behind (or ahead of) control traffic.
  const logsNc = backends.mode === "nats" ? await connectNats({ servers: config.natsUrl ?? DEFAULT_NATS_URL, name: "tessera-inference-logs", logger }) : undefined;
  if (logsNc) await ensurePredictionLogStreams(logsNc, { mesh: config.mesh });
  const predictionLogs = logsNc && policy.sampleRate > 0 ? { transport: natsPredictionLogTransport(logsNc, { mesh: config.mesh }), policy } : undefined;
  const featureClient = config.featureAddress ? createMeshClient(FeatureService, { address: config.featureAddress, meshToken: config.meshToken }) : undefined;
  const features = featureClient && new FeatureLookup(featureClient.client);
  const replica = await startInference({ config, registryClient: registry.client, events: backends.events, kv, logger, predictionLogs, features });
  shutdownOnSignals(
    {
      shutdown: async () => {
        await replica.stop();
        await logsNc?.drain();
        registry.close();
        featureClient?.close();
        await backends.close();
        await telemetry.shutdown();
      },
    },
    logger,
  );
} catch (error) {
  const message = error instanceof ConfigError ? error.message : error instanceof ConnectError ? error.rawMessage : String((error as Error)?.message ?? error);
  process.stderr.write(`inference: ${message}\n`);
  process.exit(1);
}

/**
 * NATS when reachable, as DESIGN.md's real column. When NATS_URL is not set
 * and nothing answers on the default address, the embedded bus: a lone
 * replica still serves (aliases are then followed by periodic re-reads of
 * the registry, not events). An explicit NATS_URL that does not answer is
 * an error: the operator asked for it.
 */
async function connectBackends(config: Pick<InferenceConfig, "natsUrl" | "nats" | "mesh">, logger: Logger): Promise<Backends> {
  const natsUrl = config.natsUrl;
  try {
    return await openBackends({ mode: "nats", natsUrl: natsUrl === undefined ? DEFAULT_NATS_URL : config.nats.servers, nats: config.nats, mesh: config.mesh, clientName: "tessera-inference", logger });
  } catch (error) {
    if (natsUrl !== undefined) throw error;
    logger.warn("NATS not reachable at the default address; using the embedded event bus (no membership, aliases re-read every 30 s)", {
      url: DEFAULT_NATS_URL,
      error,
    });
    return openBackends({ mode: "embedded", dataDir: ".tessera/data", logger, mesh: config.mesh });
  }
}
