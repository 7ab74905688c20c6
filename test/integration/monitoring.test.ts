import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { openNatsEventBus, type BusEvent, type EventBus } from "../../libs/events/index.js";
import { DriftDetectedSchema, type DriftDetected } from "../../libs/gen/tessera/events/v1/monitoring_events_pb.js";
import { LoggedTensorSchema, PredictionLogSchema } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { DriftTest, MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { silentLogger } from "../../libs/log/index.js";
import { mulberry32 } from "../../libs/onnx/index.js";
import {
  DEAD_LETTER_REASON_HEADER,
  natsPredictionLogTransport,
  PREDICTION_LOG_DEAD_LETTER_STREAM,
  PREDICTION_LOG_STREAM,
  predictionLogSubject,
  PredictionLogPublisher,
} from "../../libs/prediction-log/index.js";
import { featureSlots, ProfileBuilder } from "../../libs/profiles/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { AlertChangedSchema, AlertState, type AlertChanged } from "../../libs/gen/tessera/events/v1/monitoring_events_pb.js";
import { ALERT_FIRING_SUBJECT } from "../../services/monitoring/alerts/alert-loop.js";
import { parseAlertRules } from "../../services/monitoring/alerts/alert-rules.js";
import { registryProfiles } from "../../services/monitoring/registry-profiles.js";
import { startMonitoring, DRIFT_DETECTED_SUBJECT, type MonitoringServer } from "../../services/monitoring/start-monitoring.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { failure } from "../support/call-outcome.js";

const fraud = exampleModel("fraud");
const random = mulberry32(11);
const normal = (mean: number) => mean + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** Waits for `check` to hold; the test's own timeout bounds it. */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("monitoring service", () => {
  let nc: NatsConnection;
  let events: EventBus;
  let registry: TestRegistry;
  let monitoring: MonitoringServer;
  let client: MeshClient<typeof MonitoringService>;
  let publisher: PredictionLogPublisher;
  let model: string;
  const drifts: BusEvent<DriftDetected>[] = [];
  const fired: AlertChanged[] = [];

  /** Publishes `n` logs of one row each: 16 features ~ N(mean, 1), score ~ N(0.5, 0.1). */
  async function sendLogs(version: number, n: number, mean: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      publisher.offer(model, version, 1, () =>
        create(PredictionLogSchema, {
          requestId: `${model}-${version}-${mean}-${i}`,
          model,
          version,
          rows: 1,
          inputs: [create(LoggedTensorSchema, { name: "features", shape: [1n, 16n], numbers: Array.from({ length: 16 }, () => normal(mean)) })],
          outputs: [create(LoggedTensorSchema, { name: "score", shape: [1n, 1n], numbers: [0.5 + 0.1 * normal(0)] })],
        }),
      );
    }
    await publisher.flush();
  }

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl(), name: "test-monitoring" });
    events = await openNatsEventBus(nc, { logger: silentLogger });
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("watched").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model, createModel: true }, fraud.build());
    await uploadModelVersion(registry.client, { model }, fraud.build());
    await uploadModelVersion(registry.client, { model }, fraud.build());
    const { modelVersion } = await registry.client.getModelVersion({ version: { model, selector: { case: "version", value: 1 } } });
    const slots = featureSlots(modelVersion!.signature!);
    const builder = new ProfileBuilder(slots, (s) => s.kinds[0]!);
    for (let i = 0; i < 800; i++) builder.add([...Array.from({ length: 16 }, () => normal(0)), 0.5 + 0.1 * normal(0)], `row ${i}`);
    const profile = builder.finish("synthetic");
    await registry.client.setReferenceProfile({ model, version: 1, profile });
    await registry.client.setReferenceProfile({ model, version: 2, profile });

    await events.subscribe(DRIFT_DETECTED_SUBJECT, DriftDetectedSchema, (e) => {
      if (e.message.model === model) drifts.push(e);
    });
    await events.subscribe(ALERT_FIRING_SUBJECT, AlertChangedSchema, (e) => {
      if (e.message.labels.model === model) fired.push(e.message);
    });
    monitoring = await startMonitoring({
      rules: parseAlertRules(`rules:\n  - {name: drifting, metric: drift_share, op: ">=", threshold: 0.5, labels: {model: ${model}}}\n`, "rules.yaml"),
      config: {
        host: "127.0.0.1",
        grpcPort: 0,
        httpPort: 0,
        windowSize: 1000,
        reportIntervalMs: 3_600_000,
        consumerName: uniqueName("monitoring"),
        maxAckPending: 100,
        driftOptions: {},
      },
      events,
      nc,
      profiles: registryProfiles(registry.client),
      logger: silentLogger,
    });
    client = createMeshClient(MonitoringService, { address: monitoring.host.grpcAddress });
    publisher = new PredictionLogPublisher({ transport: natsPredictionLogTransport(nc), source: "test" });
  });

  afterAll(async () => {
    client?.close();
    await publisher?.close();
    await monitoring?.stop();
    await registry?.stop();
    await events?.close();
    await nc?.drain();
  });

  const logsOf = async (version: number) => (await monitoring.monitor.versions()).find((v) => v.model === model && v.version === version)?.logs ?? 0;

  it("reports no drift while live values follow the reference", async () => {
    await sendLogs(1, 300, 0);
    await eventually(async () => (await logsOf(1)) === 300);
    const report = await client.client.getDriftReport({ model, version: 1 });
    expect(report).toMatchObject({ model, version: 1, datasetDrift: false, predictionDrift: false, driftShareThreshold: 0.5 });
    expect(report.features).toHaveLength(17);
    const first = report.features[0]!;
    expect(first).toMatchObject({ feature: "features[0]", role: "input", test: DriftTest.KS, windowSize: 300n, referenceSize: 800n });
    // Bonferroni over 16 input features.
    expect(first.threshold).toBeCloseTo(0.05 / 16, 12);
    expect(first.pValue).toBeGreaterThan(first.threshold);
    expect(report.features.at(-1)).toMatchObject({ feature: "score", role: "output" });
    expect(report.window?.logs).toBe(300n);
    expect(drifts).toEqual([]);
  });

  it("flags drifted inputs, publishes DriftDetected once and exports the share as a metric", async () => {
    await sendLogs(2, 300, 1);
    await eventually(async () => (await logsOf(2)) === 300);
    const reports = await monitoring.evaluate();
    const mine = reports.find((r) => r.model === model && r.version === 2)!;
    expect(mine.datasetDrift).toBe(true);
    expect(mine.driftedShare).toBe(1);
    await eventually(() => drifts.length === 1);
    expect(drifts[0]!.message).toMatchObject({ model, version: 2, datasetDrift: true, predictionDrift: false, driftedShare: 1 });
    expect(drifts[0]!.message.driftedFeatures).toContain("features[7]");
    await monitoring.evaluate();
    const text = await monitoring.metrics.metrics();
    expect(text).toContain(`tessera_monitoring_drift_share{model="${model}",version="2"} 1`);
    // Still drifting: no second event for the same turn.
    expect(drifts).toHaveLength(1);
  });

  it("fires a drift_share alert on NATS and to WatchAlerts watchers", async () => {
    const watching = new AbortController();
    const stream = client.client.watchAlerts({}, { signal: watching.signal });
    const changes = await monitoring.evaluateAlerts();
    expect(changes.map((c) => [c.rule, c.state, c.labels.version])).toEqual([["drifting", AlertState.FIRING, "2"]]);
    await eventually(() => fired.length === 1);
    expect(fired[0]).toMatchObject({ rule: "drifting", state: AlertState.FIRING, value: 1, threshold: 0.5 });
    // A watcher that connects now is told of every active alert first.
    for await (const { alert } of stream) {
      expect(alert).toMatchObject({ rule: "drifting", state: AlertState.FIRING });
      break;
    }
    watching.abort();
    expect((await client.client.listAlerts({})).alerts.map((a) => a.rule)).toEqual(["drifting"]);
  });

  it("answers FAILED_PRECONDITION for a version without a profile and NOT_FOUND for a model without logs", async () => {
    await sendLogs(3, 1, 0);
    await eventually(async () => (await monitoring.monitor.versions()).some((v) => v.model === model && v.version === 3 && v.logs === 1));
    const missing = await failure(client.client.getDriftReport({ model, version: 3 }));
    expect(missing.code).toBe(Code.FailedPrecondition);
    expect(missing.rawMessage).toContain(`tessera profile ${model} 3`);
    expect((await failure(client.client.getDriftReport({ model: "never-logged" }))).code).toBe(Code.NotFound);
  });

  it("sends malformed logs to the dead letter stream with the reason", async () => {
    const js = jetstream(nc);
    const h = natsHeaders();
    h.set("ce-specversion", "1.0");
    h.set("ce-type", "tessera.events.v1.PredictionLog");
    h.set("ce-id", uniqueName("bad"));
    h.set("ce-source", "test");
    h.set("ce-time", new Date().toISOString());
    h.set("content-type", "application/protobuf");
    await js.publish(predictionLogSubject(model, 1), new Uint8Array([0xff, 0xff, 0xff]), { headers: h });
    const before = monitoring.consumer!.counts.deadLettered;
    await eventually(() => monitoring.consumer!.counts.deadLettered > before);
    // Other monitoring instances on this NATS dead-letter too: find ours by its original subject.
    const consumer = await js.consumers.get(PREDICTION_LOG_DEAD_LETTER_STREAM, { deliver_policy: DeliverPolicy.All });
    let ours: JsMsg | null = null;
    for (let m = await consumer.next({ expires: 2_000 }); m !== null; m = await consumer.next({ expires: 2_000 })) {
      if (m.headers?.get("tessera-original-subject") === predictionLogSubject(model, 1)) ours = m;
    }
    expect(ours?.headers?.get(DEAD_LETTER_REASON_HEADER)).toContain("does not decode as tessera.events.v1.PredictionLog");
  });

  it("bounds what it holds in flight with a durable consumer", async () => {
    const jsm = await jetstreamManager(nc);
    const consumers = await jsm.consumers.list(PREDICTION_LOG_STREAM).next();
    const mine = consumers.find((c) => c.config.durable_name?.startsWith("monitoring"));
    expect(mine?.config.max_ack_pending).toBe(100);
    expect(await monitoring.consumer!.lag()).toBeGreaterThanOrEqual(0);
  });
});
