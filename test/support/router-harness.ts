import { connect, type NatsConnection } from "@nats-io/transport-node";
import { GRPCInferenceService } from "../../libs/gen/inference/grpc_service_pb.js";
import { InferenceService } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { RouterService } from "../../libs/gen/tessera/router/v1/router_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { silentLogger, type Logger } from "../../libs/log/index.js";
import { MEMBERSHIP_TTL_MS } from "../../libs/membership/index.js";
import { natsPredictionLogTransport } from "../../libs/prediction-log/index.js";
import { openNatsKv, type KvStore } from "../../libs/store/index.js";
import { testNatsUrl } from "../../libs/testing/index.js";
import type { Authorizer } from "../../services/router/auth/authorizer.js";
import { readRouterConfig, type RouterConfig } from "../../services/router/config.js";
import { startRouter, type RunningRouter } from "../../services/router/start-router.js";
import type { TestRegistry } from "./registry-harness.js";

export interface TestRouter {
  router: RunningRouter;
  client: MeshClient<typeof InferenceService>["client"];
  oip: MeshClient<typeof GRPCInferenceService>["client"];
  routes: MeshClient<typeof RouterService>["client"];
  grpcAddress: string;
  httpUrl: string;
  membership: KvStore;
  nc: NatsConnection;
  stop(): Promise<void>;
}

export interface TestRouterOptions {
  routesBucket: string;
  membershipBucket: string;
  config?: Partial<RouterConfig>;
  authorizer?: Authorizer;
  logger?: Logger;
  natsUrl?: string;
  /** Publish shadow comparisons to the prediction-log stream. */
  predictionLogs?: boolean;
}

/** A router on ephemeral loopback ports over the real NATS, watching the given buckets. */
export async function startTestRouter(registry: TestRegistry, options: TestRouterOptions): Promise<TestRouter> {
  const nc = await connect({ servers: options.natsUrl ?? testNatsUrl(), name: "test-router", maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const routesKv = await openNatsKv(nc, { bucket: options.routesBucket });
  const membership = await openNatsKv(nc, { bucket: options.membershipBucket, ttlMs: MEMBERSHIP_TTL_MS });
  let connected = true;
  const router = await startRouter({
    config: { ...readRouterConfig({ TESSERA_ROUTER_AUTH: "off" }), grpcPort: 0, httpPort: 0, ...options.config },
    routesKv,
    membershipKv: membership,
    registry: registry.client,
    logger: options.logger ?? silentLogger,
    authorizer: options.authorizer,
    natsConnected: () => connected,
    shutdownGraceMs: 2_000,
    ...(options.predictionLogs ? { predictionLogs: natsPredictionLogTransport(nc) } : {}),
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") connected = false;
      else if (s.type === "reconnect") {
        connected = true;
        router.reconnected();
      }
    }
  })();
  const address = router.host.grpcAddress;
  const clients = [createMeshClient(InferenceService, { address }), createMeshClient(GRPCInferenceService, { address }), createMeshClient(RouterService, { address })] as const;
  return {
    router,
    client: clients[0].client,
    oip: clients[1].client,
    routes: clients[2].client,
    grpcAddress: address,
    httpUrl: `http://${router.host.httpAddress}`,
    membership,
    nc,
    async stop() {
      clients.forEach((c) => c.close());
      await router.stop();
      await routesKv.close();
      await membership.close();
      await nc.close();
    },
  };
}
