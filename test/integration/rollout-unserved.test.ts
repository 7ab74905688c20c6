import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { openNatsEventBus, type EventBus } from "../../libs/events/index.js";
import { MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { RolloutPhase } from "../../libs/gen/tessera/monitoring/v1/rollouts_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { silentLogger } from "../../libs/log/index.js";
import { natsPredictionLogTransport } from "../../libs/prediction-log/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { openNatsKv, type KvStore } from "../../libs/store/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { registryProfiles } from "../../services/monitoring/registry-profiles.js";
import { RouterRouteControl } from "../../services/monitoring/rollouts/router-route-control.js";
import { startMonitoring, type MonitoringServer } from "../../services/monitoring/start-monitoring.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { startTestRouter, type TestRouter } from "../support/router-harness.js";

const fraud = exampleModel("fraud");
const input = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array) };

/** Waits for `check` to hold; the test's own timeout bounds it. */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

// A rollout whose candidate no replica serves gets no candidate requests at
// all: it must roll back after its inconclusive limit, not wait for ever.
describe("a rollout of a version no replica serves", () => {
  let nc: NatsConnection;
  let events: EventBus;
  let registry: TestRegistry;
  let replica: TestReplica;
  let router: TestRouter;
  let states: KvStore;
  let leases: KvStore;
  let monitoring: MonitoringServer;
  let client: MeshClient<typeof MonitoringService>;
  let model: string;
  let traffic = true;
  let sending: Promise<void>;
  const membershipBucket = uniqueName("replicas");

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl(), name: "test-rollout-unserved" });
    events = await openNatsEventBus(nc, { logger: silentLogger });
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("fraud").replace(/_/g, "-");
    const bytes = fraud.build();
    for (let v = 1; v <= 2; v++) await uploadModelVersion(registry.client, { model, createModel: v === 1, aliases: v === 1 ? ["production"] : [] }, bytes);
    // Serves version 1 only: version 2 is in the registry, ready to be routed to, but nobody loads it.
    replica = await startTestReplica(registry, {
      serve: [{ model, version: 1 }],
      membershipBucket,
      predictionLogs: { transport: natsPredictionLogTransport(nc), policy: { sampleRate: 1, inputRows: 0 } },
    });
    router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket });
    await eventually(() => router.router.table.serving(model, { version: 1 }).length === 1);
    await router.routes.setRoute({ route: { model, splits: [{ version: 1, weight: 100 }] }, expectedRevision: 0n });
    states = await openNatsKv(nc, { bucket: uniqueName("rollouts") });
    leases = await openNatsKv(nc, { bucket: uniqueName("rollout-leases"), ttlMs: 5_000 });
    monitoring = await startMonitoring({
      config: { host: "127.0.0.1", grpcPort: 0, httpPort: 0, windowSize: 1000, reportIntervalMs: 3_600_000, consumerName: uniqueName("monitoring"), maxAckPending: 100, driftOptions: {} },
      events,
      nc,
      profiles: registryProfiles(registry.client),
      logger: silentLogger,
      rollouts: { states, leases, routes: new RouterRouteControl(router.routes, registry.client), registry: registry.client, tickMs: 200 },
    });
    client = createMeshClient(MonitoringService, { address: monitoring.host.grpcAddress });
    sending = (async () => {
      while (traffic) {
        await router.client.predict({ model, inputs: [input] }).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
  });

  afterAll(async () => {
    traffic = false;
    await sending;
    client?.close();
    await monitoring?.stop();
    await router?.stop();
    await replica?.stop();
    await registry?.stop();
    await states?.close();
    await leases?.close();
    await events?.close();
    await nc?.drain();
  });

  it("fails its checks once it has waited its inconclusive limit, and rolls back to the baseline saying why", async () => {
    const { rollout } = await client.client.startRollout({
      model,
      candidate: 2,
      steps: [50, 100],
      stepIntervalMs: 1000n,
      analysis: { minRequests: 5, maxP99Ms: 60_000, minSuccessRate: 0.9, failureThreshold: 2, inconclusiveLimit: 1 },
    });
    expect(rollout).toMatchObject({ baseline: 1, candidate: 2, phase: RolloutPhase.PROGRESSING, weight: 50, analysis: { inconclusiveLimit: 1 } });
    await eventually(async () => (await client.client.getRollout({ model })).rollout!.phase !== RolloutPhase.PROGRESSING);
    const ended = (await client.client.getRollout({ model })).rollout!;
    expect(ended.phase).toBe(RolloutPhase.ROLLED_BACK);
    expect(ended.reason).toMatch(/^2 failed checks in a row; last: no candidate requests in 2 step intervals \(min 5\); is version 2 served/);
    const { route } = await router.routes.getRoute({ model });
    expect(Object.fromEntries(route!.splits.map((s) => [s.version, s.weight]))).toEqual({ 1: 100, 2: 0 });
  });
});
