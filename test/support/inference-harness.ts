import { connect, type NatsConnection } from "@nats-io/transport-node";
import { openNatsEventBus, type EventBus } from "../../libs/events/index.js";
import { GRPCInferenceService } from "../../libs/gen/inference/grpc_service_pb.js";
import { InferenceService } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { silentLogger, type Logger } from "../../libs/log/index.js";
import { openNatsKv, type KvStore } from "../../libs/store/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import type { BatchingOverrides } from "../../services/inference/batching/index.js";
import { readInferenceConfig, type InferenceConfig } from "../../services/inference/config.js";
import { MEMBERSHIP_TTL_MS } from "../../libs/membership/index.js";
import type { ServeSpec } from "../../services/inference/serve-list.js";
import { startInference, type InferenceReplica, type StartInferenceOptions } from "../../services/inference/start-inference.js";
import type { FeatureLookup } from "../../services/inference/features/feature-lookup.js";
import type { TestRegistry } from "./registry-harness.js";

export interface TestReplica {
  replica: InferenceReplica;
  /** tessera.inference.v1.InferenceService over the gRPC port. */
  client: MeshClient<typeof InferenceService>["client"];
  /** inference.GRPCInferenceService over the gRPC port. */
  oip: MeshClient<typeof GRPCInferenceService>["client"];
  /** http://host:port of the HTTP port. */
  httpUrl: string;
  /** The membership bucket this replica writes to (fresh per replica). */
  membership: KvStore;
  stop(): Promise<void>;
}

export interface TestReplicaOptions {
  serve: ServeSpec[];
  config?: Partial<InferenceConfig>;
  batchingOverrides?: BatchingOverrides;
  logger?: Logger;
  predictionLogs?: StartInferenceOptions["predictionLogs"];
  features?: FeatureLookup;
  /** A membership bucket shared with other replicas (a router watches it); default a fresh one. */
  membershipBucket?: string;
  /** A NATS other than the shared one (a private server a fault test restarts). */
  natsUrl?: string;
}

/**
 * An inference replica on ephemeral loopback ports, fed by `registry` over
 * real gRPC and following its events over the real NATS, with membership in
 * a fresh TTL bucket.
 */
export async function startTestReplica(registry: TestRegistry, options: TestReplicaOptions): Promise<TestReplica> {
  const nc: NatsConnection = await connect({ servers: options.natsUrl ?? testNatsUrl(), name: "test-inference", ...(options.natsUrl ? { maxReconnectAttempts: -1, reconnectTimeWait: 200 } : {}) });
  const events: EventBus = await openNatsEventBus(nc, { logger: options.logger ?? silentLogger });
  const membership = await openNatsKv(nc, { bucket: options.membershipBucket ?? uniqueName("replicas"), ttlMs: MEMBERSHIP_TTL_MS });
  const config: InferenceConfig = {
    ...readInferenceConfig({}),
    grpcPort: 0,
    httpPort: 0,
    serve: options.serve,
    replicaId: uniqueName("replica").replace(/_/g, "-"),
    session: { intraOpThreads: 1, interOpThreads: 0, graphOptimization: "all", memoryArena: true, spinning: false },
    ...options.config,
  };
  const replica = await startInference({
    config,
    registryClient: registry.client,
    events,
    kv: membership,
    logger: options.logger ?? silentLogger,
    batchingOverrides: options.batchingOverrides,
    shutdownGraceMs: 5_000,
    predictionLogs: options.predictionLogs,
    features: options.features,
  });
  const client = createMeshClient(InferenceService, { address: replica.host.grpcAddress });
  const oip = createMeshClient(GRPCInferenceService, { address: replica.host.grpcAddress });
  return {
    replica,
    client: client.client,
    oip: oip.client,
    httpUrl: `http://${replica.host.httpAddress}`,
    membership,
    async stop() {
      client.close();
      oip.close();
      await replica.stop();
      await events.close();
      await membership.close();
      await nc.drain();
    },
  };
}
