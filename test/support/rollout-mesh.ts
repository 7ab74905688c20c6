import { connect, type NatsConnection } from "@nats-io/transport-node";
import { openNatsEventBus, type EventBus } from "../../libs/events/index.js";
import { MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { silentLogger } from "../../libs/log/index.js";
import { natsPredictionLogTransport } from "../../libs/prediction-log/index.js";
import { openNatsKv, type KvStore } from "../../libs/store/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { registryProfiles } from "../../services/monitoring/registry-profiles.js";
import { RouterRouteControl } from "../../services/monitoring/rollouts/router-route-control.js";
import { startMonitoring, type MonitoringServer } from "../../services/monitoring/start-monitoring.js";
import { startTestReplica, type TestReplica } from "./inference-harness.js";
import { startTestRegistry, type TestRegistry } from "./registry-harness.js";
import { startTestRouter, type TestRouter } from "./router-harness.js";

export interface RolloutMeshOptions {
  /** The test's NATS connection name. */
  name: string;
  /** Uploads the test's models once the registry is up. */
  upload(registry: TestRegistry): Promise<void>;
  /** What the one replica serves; the mesh waits until the router sees each. */
  serve: Array<{ model: string; version: number }>;
  /** The replica logs every prediction (no input rows) to the prediction-log stream; default true. */
  replicaPredictionLogs?: boolean;
  /** The router publishes shadow comparisons to the prediction-log stream. */
  routerPredictionLogs?: boolean;
  /** Monitoring drives rollouts from KV buckets of its own (200 ms ticks); default true. */
  rollouts?: boolean;
}

/** Registry, replica, router and monitoring over the real NATS, as a rollout needs them. */
export interface RolloutMesh {
  nc: NatsConnection;
  events: EventBus;
  registry: TestRegistry;
  replica: TestReplica;
  router: TestRouter;
  /** Rollout states and leases; undefined without rollouts. */
  states?: KvStore;
  leases?: KvStore;
  monitoring: MonitoringServer;
  client: MeshClient<typeof MonitoringService>;
  /** A new monitoring process (and client) in place of the current one, on the same buckets. */
  restartMonitoring(): Promise<void>;
  stop(): Promise<void>;
}

async function waitFor(what: string, check: () => boolean, limitMs = 30_000): Promise<void> {
  for (let waited = 0; !check(); waited += 50) {
    if (waited >= limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startRolloutMesh(options: RolloutMeshOptions): Promise<RolloutMesh> {
  const parts: Partial<RolloutMesh> = {};
  const stop = async () => {
    parts.client?.close();
    await parts.monitoring?.stop();
    await parts.router?.stop();
    await parts.replica?.stop();
    await parts.registry?.stop();
    await parts.states?.close();
    await parts.leases?.close();
    await parts.events?.close();
    await parts.nc?.drain();
  };
  try {
    const nc = (parts.nc = await connect({ servers: testNatsUrl(), name: options.name }));
    const events = (parts.events = await openNatsEventBus(nc, { logger: silentLogger }));
    const registry = (parts.registry = await startTestRegistry({ mode: "nats" }));
    await options.upload(registry);
    const membershipBucket = uniqueName("replicas");
    parts.replica = await startTestReplica(registry, {
      serve: options.serve,
      membershipBucket,
      ...(options.replicaPredictionLogs !== false ? { predictionLogs: { transport: natsPredictionLogTransport(nc), policy: { sampleRate: 1, inputRows: 0 } } } : {}),
    });
    const router = (parts.router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket, predictionLogs: options.routerPredictionLogs }));
    await waitFor("the router to see the replica", () => options.serve.every(({ model, version }) => router.router.table.serving(model, { version }).length === 1));
    if (options.rollouts !== false) {
      parts.states = await openNatsKv(nc, { bucket: uniqueName("rollouts") });
      parts.leases = await openNatsKv(nc, { bucket: uniqueName("rollout-leases"), ttlMs: 5_000 });
    }
    const startMonitor = async () => {
      parts.monitoring = await startMonitoring({
        config: { host: "127.0.0.1", grpcPort: 0, httpPort: 0, windowSize: 1000, reportIntervalMs: 3_600_000, consumerName: uniqueName("monitoring"), maxAckPending: 100, driftOptions: {} },
        events,
        nc,
        profiles: registryProfiles(registry.client),
        logger: silentLogger,
        ...(parts.states && parts.leases
          ? { rollouts: { states: parts.states, leases: parts.leases, routes: new RouterRouteControl(router.routes, registry.client), registry: registry.client, tickMs: 200 } }
          : {}),
      });
      parts.client = createMeshClient(MonitoringService, { address: parts.monitoring.host.grpcAddress });
    };
    await startMonitor();
    const mesh = parts as RolloutMesh;
    mesh.restartMonitoring = async () => {
      mesh.client.close();
      await mesh.monitoring.stop();
      await startMonitor();
    };
    mesh.stop = stop;
    return mesh;
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** Steady predictions through the router until the returned function is called (it resolves once the last one is answered). */
export function steadyTraffic(router: TestRouter, request: Parameters<TestRouter["client"]["predict"]>[0]): () => Promise<void> {
  let running = true;
  const sending = (async () => {
    while (running) {
      await router.client.predict(request).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return async () => {
    running = false;
    await sending;
  };
}
