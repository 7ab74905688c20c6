import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { openBackends } from "../../libs/backends/index.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { createMeshClient, type MeshClient, type ServiceHost } from "../../libs/host/index.js";
import { createLogger } from "../../libs/log/index.js";
import { readInferenceConfig } from "../../services/inference/config.js";
import { MEMBERSHIP_TTL_MS } from "../../libs/membership/index.js";
import { startInference, type InferenceReplica } from "../../services/inference/start-inference.js";
import { inProcessPredictionLogTransport } from "../../libs/prediction-log/index.js";
import { readLoggingPolicy } from "../../services/inference/logging/logging-config.js";
import { parseAlertRules } from "../../services/monitoring/alerts/alert-rules.js";
import { readMonitoringConfig } from "../../services/monitoring/config.js";
import { registryProfiles } from "../../services/monitoring/registry-profiles.js";
import { startMonitoring, type MonitoringServer } from "../../services/monitoring/start-monitoring.js";
import { RouterRouteControl } from "../../services/monitoring/rollouts/router-route-control.js";
import { RouterService } from "../../libs/gen/tessera/router/v1/router_pb.js";
import { readRegistryConfig } from "../../services/registry/config.js";
import { startRegistry } from "../../services/registry/start-registry.js";
import { readFeatureConfig } from "../../services/feature/config.js";
import { startFeature } from "../../services/feature/start-feature.js";
import { createMemoryOnlineStore } from "../../libs/online-store/index.js";
import { FeatureService } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { FeatureLookup } from "../../services/inference/features/feature-lookup.js";
import type { RunningMesh, ServiceEndpoint } from "./running-mesh.js";
import { loadAuthorizer } from "../../services/router/auth/load-authorizer.js";
import { readRouterConfig } from "../../services/router/config.js";
import { startRouter, type RunningRouter } from "../../services/router/start-router.js";
import { startRouterStats } from "../../services/router/stats/router-stats.js";
import { dialAddress, featureEnv, monitoringEnv, registryEnv, replicaEnv, routerEnv, type StoreMode } from "./service-env.js";
import type { Topology } from "./topology.js";

export interface LaunchEmbeddedOptions {
  readonly topology: Topology;
  /** registry.log and <replica>.log are appended to here. */
  readonly logDir: string;
}

/**
 * The whole mesh in this process over the embedded backends (memory KV, a
 * local artifact directory, the in-process bus): the registry and at most
 * one inference replica share them, because embedded stores cannot be
 * shared across processes. For a laptop with no NATS; state is lost on
 * exit. Ports and settings come from the topology, through the same
 * environment the processes would read, so both modes configure alike.
 */
export async function launchEmbedded(options: LaunchEmbeddedOptions): Promise<RunningMesh> {
  const { topology } = options;
  if (topology.replicas.length > 1) {
    throw new Error(
      `${topology.source} lists ${topology.replicas.length} inference replicas, but --embedded runs one, in this process; ` +
        "start NATS (`nats-server -js`) and run `tessera up` without --embedded for more",
    );
  }
  const store: StoreMode = { kind: "embedded" };
  await mkdir(options.logDir, { recursive: true });
  const logs: WriteStream[] = [];
  const logTo = (file: string) => {
    const stream = createWriteStream(file, { flags: "a" });
    logs.push(stream);
    return (line: string) => stream.write(line + "\n");
  };
  const closeLogs = () => Promise.all(logs.map((stream) => new Promise<void>((resolve) => stream.end(() => resolve()))));

  const registryConfig = readRegistryConfig(registryEnv(topology, store));
  const registryLog = join(options.logDir, "registry.log");
  const registryLogger = createLogger("registry", { level: registryConfig.logLevel, write: logTo(registryLog) });
  const backends = await openBackends({ mode: "embedded", dataDir: registryConfig.dataDir, logger: registryLogger, mesh: registryConfig.mesh });

  let registryHost: ServiceHost | undefined;
  let featureHost: ServiceHost | undefined;
  let registryClient: MeshClient<typeof RegistryService> | undefined;
  let featureClient: MeshClient<typeof FeatureService> | undefined;
  let rolloutRouter: MeshClient<typeof RouterService> | undefined;
  let replica: InferenceReplica | undefined;
  let monitoringServer: MonitoringServer | undefined;
  let router: RunningRouter | undefined;
  let routerStats: { stop(): void } | undefined;
  const stopAll = async () => {
    routerStats?.stop();
    await router?.stop();
    await replica?.stop();
    await monitoringServer?.stop();
    registryClient?.close();
    featureClient?.close();
    rolloutRouter?.close();
    await featureHost?.shutdown();
    await registryHost?.shutdown();
    await backends.close();
    await closeLogs();
  };

  try {
    registryHost = await startRegistry({ config: registryConfig, backends, logger: registryLogger, ownsBackends: false });
    const registry: ServiceEndpoint = {
      name: "registry",
      kind: "registry",
      grpcAddress: dialAddress(registryHost.grpcAddress),
      httpAddress: dialAddress(registryHost.httpAddress),
      logFile: registryLog,
      serve: [],
    };

    registryClient = createMeshClient(RegistryService, { address: registry.grpcAddress, meshToken: registryConfig.meshToken });
    // The router before monitoring, whose rollouts drive it: so they know where it listens, a free port included.
    let routerEndpoint: ServiceEndpoint | undefined;
    if (topology.router) {
      const config = readRouterConfig(routerEnv(topology, topology.router, { registryAddress: registry.grpcAddress }));
      const logFile = join(options.logDir, "router.log");
      const logger = createLogger("router", { level: config.logLevel, write: logTo(logFile) });
      router = await startRouter({
        config,
        routesKv: await backends.kv(config.routesBucket),
        membershipKv: await backends.kv(config.replicasBucket, { ttlMs: MEMBERSHIP_TTL_MS }),
        registry: registryClient.client,
        logger,
        bus: "embedded",
        authorizer: config.auth === "off" ? undefined : await loadAuthorizer(config.authFile!, logger),
      });
      routerStats = startRouterStats({ metrics: router.host.metrics, events: backends.events, intervalMs: config.statsIntervalMs, logger });
      routerEndpoint = { name: "router", kind: "router", grpcAddress: dialAddress(router.host.grpcAddress), httpAddress: dialAddress(router.host.httpAddress), logFile, serve: [] };
    }

    let monitoring: ServiceEndpoint | undefined;
    if (topology.monitoring.enabled) {
      const config = readMonitoringConfig(monitoringEnv(topology, { registryAddress: registry.grpcAddress, store, routerAddress: routerEndpoint?.grpcAddress }));
      const logFile = join(options.logDir, "monitoring.log");
      const logger = createLogger("monitoring", { level: config.logLevel, write: logTo(logFile) });
      const rules = config.rulesFile ? parseAlertRules(await readFile(config.rulesFile, "utf8"), config.rulesFile) : [];
      // Rollouts drive the router started above.
      rolloutRouter = config.routerAddress ? createMeshClient(RouterService, { address: config.routerAddress }) : undefined;
      const rollouts = rolloutRouter && {
        states: await backends.kv(config.rolloutsBucket),
        leases: await backends.kv(config.rolloutLeasesBucket, { ttlMs: config.rolloutLeaseMs }),
        routes: new RouterRouteControl(rolloutRouter.client, registryClient.client, { apiKey: config.routerApiKey }),
        registry: registryClient.client,
        tickMs: config.rolloutTickMs,
      };
      const membership = await backends.kv(config.replicasBucket, { ttlMs: MEMBERSHIP_TTL_MS });
      monitoringServer = await startMonitoring({ config, events: backends.events, rules, profiles: registryProfiles(registryClient.client), logger, rollouts, membership });
      monitoring = {
        name: "monitoring",
        kind: "monitoring",
        grpcAddress: dialAddress(monitoringServer.host.grpcAddress),
        httpAddress: dialAddress(monitoringServer.host.httpAddress),
        logFile,
        serve: [],
      };
    }

    // The feature service shares the embedded backends, and keeps online values in memory: no Redis either.
    let feature: RunningMesh["feature"];
    if (topology.feature) {
      const featureConfig = readFeatureConfig(featureEnv(topology, store, { redisUrl: "", onlineStore: "memory" }));
      const featureLog = join(options.logDir, "feature.log");
      const featureLogger = createLogger("feature", { level: featureConfig.logLevel, write: logTo(featureLog) });
      featureLogger.warn("online store: in memory (embedded); feature values are lost when this process stops");
      featureHost = await startFeature({ config: featureConfig, backends, onlineStore: createMemoryOnlineStore(), logger: featureLogger, ownsBackends: false });
      feature = {
        name: "feature",
        kind: "feature",
        grpcAddress: dialAddress(featureHost.grpcAddress),
        httpAddress: dialAddress(featureHost.httpAddress),
        logFile: featureLog,
        serve: [],
        onlineStore: "memory (embedded)",
      };
    }

    const replicas: ServiceEndpoint[] = [];
    const replicaTopology = topology.replicas[0];
    if (replicaTopology) {
      const config = readInferenceConfig(replicaEnv(topology, replicaTopology, { registryAddress: registry.grpcAddress, store, featureAddress: feature?.grpcAddress }));
      const logFile = join(options.logDir, `${replicaTopology.id}.log`);
      const logger = createLogger("inference", { level: config.logLevel, write: logTo(logFile) }, { replica: config.replicaId });
      const ingest = monitoringServer?.ingest;
      const policy = readLoggingPolicy(replicaTopology.env);
      featureClient = feature && createMeshClient(FeatureService, { address: feature.grpcAddress });
      replica = await startInference({
        config,
        registryClient: registryClient.client,
        events: backends.events,
        kv: await backends.kv(config.replicasBucket, { ttlMs: MEMBERSHIP_TTL_MS }),
        logger,
        ...(ingest && policy.sampleRate > 0 ? { predictionLogs: { transport: inProcessPredictionLogTransport(ingest), policy } } : {}),
        features: featureClient && new FeatureLookup(featureClient.client),
      });
      replicas.push({
        name: replicaTopology.id,
        kind: "inference",
        grpcAddress: dialAddress(replica.host.grpcAddress),
        httpAddress: dialAddress(replica.host.httpAddress),
        logFile,
        device: replicaTopology.device,
        serve: replicaTopology.serve,
      });
    }

    let stopping: Promise<void> | undefined;
    return {
      mode: "embedded",
      registry,
      router: routerEndpoint,
      replicas,
      ...(monitoring ? { monitoring } : {}),
      feature,
      // In-process services do not exit on their own; a crash takes this process with them.
      failure: new Promise<string>(() => {}),
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
