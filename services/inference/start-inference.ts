import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { EventBus } from "../../libs/events/index.js";
import { GRPCInferenceService } from "../../libs/gen/inference/grpc_service_pb.js";
import { ReplicaRecordSchema } from "../../libs/gen/tessera/events/v1/inference_events_pb.js";
import { InferenceService } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DEFAULT_MAX_MESSAGE_BYTES, serve, startService, type ServiceHost } from "../../libs/host/index.js";
import type { Logger } from "../../libs/log/index.js";
import { PredictionLogPublisher, type LoggingPolicy, type PredictionLogTransport } from "../../libs/prediction-log/index.js";
import type { KvStore } from "../../libs/store/index.js";
import type { BatchingOverrides } from "./batching/index.js";
import type { InferenceConfig } from "./config.js";
import { inferenceServiceImpl } from "./handlers/inference-service.js";
import type { FeatureLookup } from "./features/feature-lookup.js";
import { oipRestRoutes } from "./handlers/oip-rest-routes.js";
import { oipServiceImpl } from "./handlers/oip-service.js";
import { InferenceMetrics } from "./inference-metrics.js";
import { predictionLogObserver } from "./logging/prediction-log-observer.js";
import { LoopMetricsRegistry } from "./frontend/loop-metrics-registry.js";
import { kvMembership } from "./membership/kv-membership.js";
import { noMembership, type MembershipPublisher } from "./membership/membership-publisher.js";
import { formatDevice, type Device } from "./runtime/device.js";
import { ModelCache } from "./runtime/model-cache.js";
import { resolveDevice } from "./runtime/resolve-device.js";
import { formatServeSpec } from "./serve-list.js";
import type { FrontEndLoops } from "./frontend/front-end-loops.js";
import { startLoopsIfAsked } from "./frontend/start-loops.js";
import type { RegistryClient } from "./serving/fetch-version.js";
import { ModelManager } from "./serving/model-manager.js";
import { TENSOR_TYPED_FIELDS } from "./tensor/tensor-values.js";

/** Tessera's version, as ServerMetadata reports it. */
export const TESSERA_VERSION = "0.1.0";

export interface StartInferenceOptions {
  readonly config: InferenceConfig;
  /** A client of the registry's gRPC port (createMeshClient(RegistryService, …)). */
  readonly registryClient: RegistryClient;
  /** Registry events come in here; model.loaded / model.unloaded go out. */
  readonly events: EventBus;
  /** The tessera_replicas bucket (opened with a TTL): membership is published there when given. */
  readonly kv?: KvStore;
  /** Overrides `kv`: a custom membership (or noMembership). */
  readonly membership?: MembershipPublisher;
  readonly logger: Logger;
  /** This replica's own batching settings, over each version's registry config. */
  readonly batchingOverrides?: BatchingOverrides;
  /** See ModelManagerOptions.resyncIntervalMs. */
  readonly resyncIntervalMs?: number;
  readonly heartbeatMs?: number;
  readonly shutdownGraceMs?: number;
  /** Publish a prediction log per answered request there, under this default policy (version tags override it). */
  readonly predictionLogs?: { readonly transport: PredictionLogTransport; readonly policy: LoggingPolicy };
  /** Reads features for entity-keyed Predicts; without it those answer FAILED_PRECONDITION. */
  readonly features?: FeatureLookup;
}

export interface InferenceReplica {
  readonly host: ServiceHost;
  /** The gRPC port's event loops when there are several; undefined: one, the host's own. */
  readonly loops: FrontEndLoops | undefined;
  readonly manager: ModelManager;
  /** The device in use (CPU when a GPU was asked for and fallback allowed). */
  readonly device: Device;
  /** Leaves membership, drains in-flight requests, releases every version. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts an inference replica: checks the device, opens both ports (live,
 * not ready), then loads what config.serve lists. Resolves once every load
 * has finished or failed; the replica turns ready when every version it
 * was told to serve is READY, and follows aliases from then on. A version
 * that cannot load now (registry down, alias not yet set) is retried by the
 * manager's resync.
 */
export async function startInference(options: StartInferenceOptions): Promise<InferenceReplica> {
  const { config, logger } = options;
  const device = await resolveDevice(config.device, { allowCpuFallback: config.allowCpuFallback, logger });
  const registry = new LoopMetricsRegistry();
  const membership = options.membership ?? (options.kv ? kvMembership({ kv: options.kv, replicaId: config.replicaId, heartbeatMs: options.heartbeatMs, logger }) : noMembership);
  let host: ServiceHost | undefined;
  let stopping = false;

  const manager = await ModelManager.start({
    registry: options.registryClient,
    events: options.events,
    device,
    tuning: config.session,
    instanceCount: config.instanceCount,
    placement: config.sessionPlacement,
    batchingOverrides: options.batchingOverrides ?? options.config.batchingOverrides,
    replicaId: config.replicaId,
    logger,
    resyncIntervalMs: options.resyncIntervalMs,
    modelCache: new ModelCache(config.modelCacheDir),
    drainGraceMs: config.drainGraceMs,
    // Prediction logs read each request's inputs after its answer.
    keepRequestInputs: options.predictionLogs !== undefined,
    onChange: () => {
      if (host && !host.shutdownSignal.aborted && !stopping) host.setReady(manager.isReady());
      membership.changed();
    },
  });
  const metrics = new InferenceMetrics(registry, () => manager.versions());
  const logs = options.predictionLogs
    ? new PredictionLogPublisher({ transport: options.predictionLogs.transport, source: `tessera/inference/${config.replicaId}`, metrics: registry, logger })
    : undefined;
  if (logs && options.predictionLogs) {
    metrics.observeAnswer = predictionLogObserver(logs, { replicaId: config.replicaId, defaultPolicy: options.predictionLogs.policy, logger });
  }
  const hostReady = () => host?.isReady() ?? false;

  const services = [
    // Tensor values decoded into typed arrays and encoded from them on the gRPC port (tensor/tensor-values.ts).
    serve(InferenceService, inferenceServiceImpl(manager, metrics, options.features), { typedFields: TENSOR_TYPED_FIELDS }),
    serve(GRPCInferenceService, oipServiceImpl(manager, metrics, { serverVersion: TESSERA_VERSION, hostReady }), { typedFields: TENSOR_TYPED_FIELDS }),
  ];
  let loops: Awaited<ReturnType<typeof startLoopsIfAsked>>;
  try {
    // More than one loop: the gRPC port runs on worker threads, this thread answers their calls (frontend/).
    loops = await startLoopsIfAsked({ config, device, services, logger });
    registry.gatherLoops = loops && (() => loops!.gatherMetrics());
    host = await startService({
      name: "inference",
      services,
      routes: [oipRestRoutes(manager, metrics, { serverVersion: TESSERA_VERSION, hostReady, maxBodyBytes: DEFAULT_MAX_MESSAGE_BYTES })],
      host: config.bindHost,
      grpcPort: config.grpcPort,
      httpPort: config.httpPort,
      logger,
      metrics: registry,
      shutdownGraceMs: options.shutdownGraceMs,
      meshToken: config.meshToken,
      grpcFrontEnd: loops,
      onClose: async () => {
        await manager.close();
        await logs?.close();
      },
    });
  } catch (error) {
    await loops?.shutdown();
    await manager.close();
    throw error;
  }
  const started = timestampNow();
  const serving = host;
  await membership.start(() =>
    create(ReplicaRecordSchema, {
      replicaId: config.replicaId,
      grpcAddress: serving.grpcAddress,
      httpAddress: serving.httpAddress,
      device: formatDevice(device),
      // The router keeps a connection on each loop (docs/router.md).
      frontendLoops: loops?.count ?? 1,
      models: manager.list(),
      startTime: started,
      predictionLogsDropped: Object.fromEntries([...(logs?.droppedByModelTotals() ?? [])].map(([model, count]) => [model, BigInt(count)])),
    }),
  );

  const results = await Promise.allSettled(
    config.serve.map((spec) => manager.serve(spec.model, spec.alias !== undefined ? { alias: spec.alias } : { version: spec.version }, { keep: true })),
  );
  results.forEach((result, i) => {
    if (result.status === "rejected") {
      logger.warn("could not serve a listed model yet; will retry", { spec: formatServeSpec(config.serve[i]!), error: result.reason });
    }
  });
  host.setReady(manager.isReady());

  let stopped: Promise<void> | undefined;
  return {
    host,
    loops,
    manager,
    device,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        serving.setReady(false);
        // Out of the router's view first, so no new traffic arrives while we drain.
        await membership.stop();
        await serving.shutdown();
      })()),
  };
}
