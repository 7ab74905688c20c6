import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { openNatsEventBus, type EventBus } from "../../libs/events/index.js";
import { ReplicaRecordSchema } from "../../libs/gen/tessera/events/v1/inference_events_pb.js";
import { AlertChangedSchema, AlertState, type AlertChanged } from "../../libs/gen/tessera/events/v1/monitoring_events_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { silentLogger } from "../../libs/log/index.js";
import { encodeReplicaRecord, MEMBERSHIP_TTL_MS } from "../../libs/membership/index.js";
import { natsPredictionLogTransport } from "../../libs/prediction-log/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { openNatsKv, type KvStore } from "../../libs/store/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { ALERT_FIRING_SUBJECT, ALERT_RESOLVED_SUBJECT } from "../../services/monitoring/alerts/alert-loop.js";
import { parseAlertRules } from "../../services/monitoring/alerts/alert-rules.js";
import { registryProfiles } from "../../services/monitoring/registry-profiles.js";
import { startMonitoring, type MonitoringServer } from "../../services/monitoring/start-monitoring.js";
import { startRouterStats } from "../../services/router/stats/router-stats.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { startTestRouter, type TestRouter } from "../support/router-harness.js";

const fraud = exampleModel("fraud");
const features = Array.from(fraud.sampleRow(1).get("features")!.data as Float32Array);
const good = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features };
// Fifteen features where the signature wants sixteen: the replica refuses it, and logs the failure.
const bad = { name: "features", dtype: DataType.FLOAT32, shape: [1n, 15n], floatData: features.slice(0, 15) };

/** Polls `check` until it holds, failing with `what` after a generous bound. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Monitoring's own evaluation of the three metrics that used to be Prometheus-only,
// each from the source the mesh publishes it on, over the shared NATS.
describe("alert rules monitoring evaluates from the mesh", () => {
  let nc: NatsConnection;
  let events: EventBus;
  let registry: TestRegistry;
  let replica: TestReplica;
  let router: TestRouter;
  let membership: KvStore;
  let monitoring: MonitoringServer;
  let stats: { stop(): void };
  let model: string;
  const membershipBucket = uniqueName("replicas");
  const changes: AlertChanged[] = [];

  /** The firing and resolved alerts of `rule` seen on NATS so far, for this file's model. */
  const seen = (rule: string) => changes.filter((c) => c.rule === rule && c.labels.model === model).map((c) => AlertState[c.state]);

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl(), name: "test-monitoring-alerts" });
    events = await openNatsEventBus(nc, { logger: silentLogger });
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("alerts").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud.build());
    // Version 2 is never served: the degraded-answers test routes to it.
    await uploadModelVersion(registry.client, { model }, fraud.build());
    replica = await startTestReplica(registry, {
      serve: [{ model, version: 1 }],
      membershipBucket,
      predictionLogs: { transport: natsPredictionLogTransport(nc), policy: { sampleRate: 1, inputRows: 0 } },
    });
    router = await startTestRouter(registry, { routesBucket: uniqueName("routes"), membershipBucket });
    membership = await openNatsKv(nc, { bucket: membershipBucket, ttlMs: MEMBERSHIP_TTL_MS });
    // The router's stats publisher as its main.ts starts it, more often.
    stats = startRouterStats({ metrics: router.router.host.metrics, events: await openNatsEventBus(nc, { logger: silentLogger, durable: false }), intervalMs: 200, logger: silentLogger });
    for (const subject of [ALERT_FIRING_SUBJECT, ALERT_RESOLVED_SUBJECT]) await events.subscribe(subject, AlertChangedSchema, (e) => void changes.push(e.message));
    const rules = parseAlertRules(
      `rules:
  - {name: errors, metric: error_rate, threshold: 0.3, window: 1m, labels: {model: ${model}}}
  - {name: queued, metric: queue_depth, threshold: 5, labels: {model: ${model}}}
  - {name: degraded, metric: degraded_answers, threshold: 0, window: 1m, labels: {model: ${model}}}
  - {name: dropping, metric: dropped_logs, threshold: 1, window: 5m, labels: {model: ${model}}}
`,
      "rules.yaml",
    );
    monitoring = await startMonitoring({
      config: { host: "127.0.0.1", grpcPort: 0, httpPort: 0, windowSize: 1000, reportIntervalMs: 3_600_000, consumerName: uniqueName("monitoring"), maxAckPending: 100, driftOptions: {}, alertIntervalMs: 3_600_000 },
      events,
      nc,
      rules,
      membership,
      profiles: registryProfiles(registry.client),
      logger: silentLogger,
    });
  });

  afterAll(async () => {
    stats?.stop();
    await monitoring?.stop();
    await router?.stop();
    await replica?.stop();
    await registry?.stop();
    await membership?.close();
    await events?.close();
    await nc?.drain();
  });

  it("fires error_rate from the failures replicas log (error_code), and resolves it when requests succeed again", async () => {
    for (let i = 0; i < 5; i++) await replica.client.predict({ model, inputs: [bad] }).catch(() => undefined);
    await until("error_rate to fire", async () => (await monitoring.evaluateAlerts()).some((a) => a.rule === "errors" && a.state === AlertState.FIRING));
    await until("the firing alert on NATS", () => seen("errors").includes("FIRING"));
    const firing = changes.find((c) => c.rule === "errors" && c.state === AlertState.FIRING)!;
    expect(firing.labels).toEqual({ model, version: "1" });
    expect(firing.value).toBe(1);
    // Twenty good answers bring the share in the window under 0.3 (5 of 25).
    for (let i = 0; i < 20; i++) await replica.client.predict({ model, inputs: [good] });
    await until("error_rate to resolve", async () => (await monitoring.evaluateAlerts()).some((a) => a.rule === "errors" && a.state === AlertState.RESOLVED));
    await until("the resolved alert on NATS", () => seen("errors").includes("RESOLVED"));
    expect(seen("errors")).toEqual(["FIRING", "RESOLVED"]);
  });

  it("fires queue_depth from a replica heartbeat in the membership bucket, and resolves it when the heartbeat is gone", async () => {
    // The real replica heartbeats its (empty) queue into the bucket; this one reports a deep one.
    await until("the replica's heartbeat", async () => (await membership.keys()).length > 0);
    const busy = create(ReplicaRecordSchema, { replicaId: uniqueName("busy"), heartbeatTime: timestampNow(), models: [{ model, version: 1, queueDepth: 12 }] });
    await membership.put(busy.replicaId, encodeReplicaRecord(busy));
    const fired = await monitoring.evaluateAlerts();
    expect(fired.find((a) => a.rule === "queued")).toMatchObject({ state: AlertState.FIRING, value: 12, labels: { model, version: "1" } });
    await membership.delete(busy.replicaId);
    const resolved = await monitoring.evaluateAlerts();
    expect(resolved.find((a) => a.rule === "queued")).toMatchObject({ state: AlertState.RESOLVED });
    await until("both on NATS", () => seen("queued").length === 2);
    expect(seen("queued")).toEqual(["FIRING", "RESOLVED"]);
  });

  it("fires dropped_logs from the drop counts in replica heartbeats, as logs per second", async () => {
    const replicaId = uniqueName("dropping");
    const startTime = timestampNow();
    const beat = async (atMs: number, dropped: number) => {
      const record = create(ReplicaRecordSchema, { replicaId, startTime, heartbeatTime: timestampFromMs(atMs), predictionLogsDropped: { [model]: BigInt(dropped) } });
      await membership.put(replicaId, encodeReplicaRecord(record));
    };
    const now = Date.now();
    await beat(now - 10_000, 100);
    expect((await monitoring.evaluateAlerts()).find((a) => a.rule === "dropping")?.state ?? AlertState.RESOLVED).not.toBe(AlertState.FIRING);
    // 200 more in 10 s: 20 logs/s, over the threshold of 1.
    await beat(now, 300);
    const fired = await monitoring.evaluateAlerts();
    expect(fired.find((a) => a.rule === "dropping")).toMatchObject({ state: AlertState.FIRING, value: 20, labels: { model } });
    await until("the firing alert on NATS", () => seen("dropping").includes("FIRING"));
    await membership.delete(replicaId);
  });

  it("fires degraded_answers from the router's RouterStats when it answers from a route's default response", async () => {
    // Version 2 has no replica: every Predict fails over to the route's default response.
    await router.routes.setRoute({ route: { model, splits: [{ version: 2, weight: 100 }], defaultResponse: { model, outputs: [] } } });
    for (let i = 0; i < 5; i++) await router.client.predict({ model, inputs: [good] });
    const degraded = await router.router.host.metrics.getSingleMetricAsString("tessera_router_degraded_total");
    expect(degraded).toContain(`model="${model}"`);
    await until("degraded_answers to fire", async () => (await monitoring.evaluateAlerts()).some((a) => a.rule === "degraded" && a.state === AlertState.FIRING));
    await until("the firing alert on NATS", () => seen("degraded").includes("FIRING"));
    const firing = changes.find((c) => c.rule === "degraded" && c.state === AlertState.FIRING)!;
    expect(firing.labels).toEqual({ model });
    expect(firing.value).toBeGreaterThan(0);
  });
});
