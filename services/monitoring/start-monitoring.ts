import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { NatsConnection } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import type { EventBus } from "../../libs/events/index.js";
import { DriftDetectedSchema } from "../../libs/gen/tessera/events/v1/monitoring_events_pb.js";
import type { PredictionLog, ShadowComparison } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { sendJson, serve, startService, writesOnly, type ServiceHost } from "../../libs/host/index.js";
import type { Logger } from "../../libs/log/index.js";
import { OutcomeBook } from "./ab/outcome-book.js";
import { AlertHub } from "./alerts/alert-hub.js";
import { AlertLoop } from "./alerts/alert-loop.js";
import type { Sample } from "./alerts/alert-evaluator.js";
import type { AlertRule } from "./alerts/alert-rules.js";
import { RingBuffer } from "./windows/ring-buffer.js";
import type { AlertChanged } from "../../libs/gen/tessera/events/v1/monitoring_events_pb.js";
import type { MonitoringConfig } from "./config.js";
import { DriftMonitor, type DriftReport, type ProfileSource } from "./drift-monitor.js";
import { startLogConsumer, type LogConsumer } from "./log-consumer.js";
import { monitoringServiceImpl } from "./monitoring-service.js";
import { ShadowBook } from "./shadow/shadow-book.js";
import { shadowComparisonMetrics } from "./shadow/shadow-metrics.js";
import { RolloutDriver } from "./rollouts/rollout-driver.js";
import type { RouteControl } from "./rollouts/route-control.js";
import { VersionOutcomes } from "./rollouts/version-outcomes.js";
import type { KvStore } from "../../libs/store/index.js";
import type { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { MeshClient } from "../../libs/host/index.js";
import { RouterStatsSchema } from "../../libs/gen/tessera/events/v1/router_events_pb.js";
import { decodeReplicaRecord, MEMBERSHIP_TTL_MS, type ReplicaRecord } from "../../libs/membership/index.js";
import { DegradedAnswerRates, DroppedLogRates, errorRateSamples, queueDepthSamples } from "./alerts/mesh-samples.js";

export { ROLLOUTS_BUCKET, ROLLOUT_LEASES_BUCKET } from "./rollouts/rollout-buckets.js";

/** Subject of the routers' RouterStats (degraded answers). */
export const ROUTER_STATS_SUBJECT = "tessera.router.stats";

/** Subject of DriftDetected events. */
export const DRIFT_DETECTED_SUBJECT = "tessera.monitoring.drift.detected";

export interface MonitoringDependencies {
  config: Pick<MonitoringConfig, "host" | "grpcPort" | "httpPort" | "windowSize" | "reportIntervalMs" | "consumerName" | "maxAckPending" | "driftOptions"> &
    Partial<Pick<MonitoringConfig, "alertIntervalMs" | "mesh" | "meshToken">>;
  /** Alert rules (parseAlertRules); none: no alerts. */
  rules?: readonly AlertRule[];
  /** DriftDetected (and alert) events go out here. */
  events: EventBus;
  /** Where prediction logs are read from (the mesh's TESSERA_PREDICTIONS); without it, logs come in through `ingest` (embedded mode). */
  nc?: NatsConnection;
  profiles: ProfileSource;
  logger: Logger;
  /** Progressive rollouts through the router; without them the rollout RPCs answer FAILED_PRECONDITION. */
  rollouts?: {
    states: KvStore;
    leases: KvStore;
    routes: RouteControl;
    registry: MeshClient<typeof RegistryService>["client"];
    /** How often rollouts are ticked, ms. Default 5 s. */
    tickMs?: number;
  };
  /** The replicas' membership bucket (tessera_replicas): queue_depth comes from their heartbeats. */
  membership?: KvStore;
  /** Runs when the service stops, after its own parts (close what the caller opened for it). */
  onClose?: () => Promise<void>;
}

export interface MonitoringServer {
  readonly host: ServiceHost;
  readonly monitor: DriftMonitor;
  readonly alerts: AlertHub;
  readonly outcomes: OutcomeBook;
  /** The router's shadow comparisons, summed (also GET /monitoring/shadow and tessera_monitoring_shadow_* metrics). */
  readonly shadow: ShadowBook;
  readonly consumer?: LogConsumer;
  readonly metrics: Registry;
  readonly rollouts?: RolloutDriver;
  /** Takes one log directly (embedded mode, tests). */
  ingest(log: PredictionLog, timeMs: number): Promise<void>;
  /** Tests every window now (the report loop does this every reportIntervalMs). */
  evaluate(): Promise<DriftReport[]>;
  /** Evaluates the alert rules now (the alert loop does this every alertIntervalMs). */
  evaluateAlerts(): Promise<AlertChanged[]>;
  stop(): Promise<void>;
}

/** Starts monitoring on its two ports: log consumption, drift windows, the report loop. */
export async function startMonitoring(deps: MonitoringDependencies): Promise<MonitoringServer> {
  const { config, logger, events } = deps;
  const metrics = new Registry();
  const outcomes = new OutcomeBook();
  const alerts = new AlertHub();
  const monitor = new DriftMonitor({
    profiles: deps.profiles,
    windowSize: config.windowSize,
    driftOptions: config.driftOptions,
    metrics,
    logger,
    onDrift: (report) => {
      const drifted = [...report.features, ...report.predictions].filter((f) => f.drifted).map((f) => f.feature);
      logger.warn("drift detected", { model: report.model, version: report.version, driftedShare: report.driftedShare, drifted });
      events
        .publish(
          DRIFT_DETECTED_SUBJECT,
          DriftDetectedSchema,
          create(DriftDetectedSchema, {
            model: report.model,
            version: report.version,
            driftedShare: report.driftedShare,
            driftShareThreshold: report.options.driftShare,
            datasetDrift: report.datasetDrift,
            predictionDrift: report.predictionDrift,
            driftedFeatures: drifted,
            windowSize: BigInt(report.window.logs),
            time: timestampNow(),
          }),
          { source: "tessera/monitoring" },
        )
        .catch((error: unknown) => logger.warn("could not publish DriftDetected", { error }));
    },
  });
  // Latencies of the last 1,000 logs per version, for latency_p99_seconds rules.
  const latencies = new Map<string, { model: string; version: number; ring: RingBuffer<number> }>();
  const versionOutcomes = new VersionOutcomes();
  const ingest = async (log: PredictionLog, timeMs: number) => {
    // Shadow answers never reach a caller: they do not count for a rollout.
    if (!log.route?.shadow) versionOutcomes.observe(log.model, log.version, { timeMs, latencyMs: Number(log.latencyUs) / 1000, ok: log.errorCode === "" });
    // A failed request has no outputs, and inputs the model may have refused: it counts for
    // the rollout's success rate above, not for A/B outcomes, latency rules or drift.
    if (log.errorCode !== "") return;
    outcomes.observe(log);
    const key = `${log.model}@${log.version}`;
    let entry = latencies.get(key);
    if (!entry) latencies.set(key, (entry = { model: log.model, version: log.version, ring: new RingBuffer(1000) }));
    entry.ring.push(Number(log.latencyUs) / 1e6);
    await monitor.ingest(log, timeMs);
  };
  const shadow = new ShadowBook();
  const shadowMetrics = shadowComparisonMetrics(metrics);
  const ingestShadow = (comparison: ShadowComparison, timeMs: number) => {
    shadow.observe(comparison, timeMs);
    shadowMetrics.observe(comparison);
  };
  const consumer = deps.nc
    ? await startLogConsumer(deps.nc, { mesh: config.mesh, durable: config.consumerName, maxAckPending: config.maxAckPending, handle: ingest, handleShadow: ingestShadow, metrics, logger })
    : undefined;

  let evaluating: Promise<DriftReport[]> | undefined;
  const evaluate = () =>
    (evaluating ??= monitor.evaluateAll().finally(() => {
      evaluating = undefined;
    }));
  const timer = setInterval(() => {
    evaluate().catch((error: unknown) => logger.warn("a drift report failed", { error }));
  }, config.reportIntervalMs);
  timer.unref();

  // Rates are taken over each rule's own window, as its Prometheus export does.
  const windowsOf = (metric: string) => [...new Set((deps.rules ?? []).filter((r) => r.metric === metric).map((r) => r.window))];
  const degraded = new DegradedAnswerRates();
  const droppedLogs = new DroppedLogRates();
  const unsubscribeStats = await events.subscribe(ROUTER_STATS_SUBJECT, RouterStatsSchema, (e) => degraded.observe(e.message, Date.now()));
  const replicaRecords = async (kv: KvStore): Promise<ReplicaRecord[]> => {
    const out: ReplicaRecord[] = [];
    for (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (!entry) continue;
      try {
        out.push(decodeReplicaRecord(entry.value));
      } catch {
        // Not a replica record: nothing to count.
      }
    }
    return out;
  };

  let deadLettersBefore = { count: 0, atMs: Date.now() };
  const samples = async (): Promise<Sample[]> => {
    const now = Date.now();
    const out: Sample[] = [...errorRateSamples(versionOutcomes, windowsOf("error_rate"), now), ...degraded.samples(windowsOf("degraded_answers"), now)];
    const droppedWindows = windowsOf("dropped_logs");
    if (deps.membership && (windowsOf("queue_depth").length > 0 || droppedWindows.length > 0)) {
      try {
        const records = await replicaRecords(deps.membership);
        out.push(...queueDepthSamples(records, now, MEMBERSHIP_TTL_MS));
        droppedLogs.observe(records, now, MEMBERSHIP_TTL_MS);
      } catch {
        // NATS away: no queue depths or new drop counts this round.
      }
      out.push(...droppedLogs.samples(droppedWindows, now));
    }
    for (const r of monitor.lastReports.values()) out.push({ metric: "drift_share", labels: { model: r.model, version: String(r.version) }, value: r.driftedShare });
    for (const { model, version, ring } of latencies.values()) {
      const sorted = ring.values().sort((a, b) => a - b);
      if (sorted.length > 0) out.push({ metric: "latency_p99_seconds", labels: { model, version: String(version) }, value: sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]! });
    }
    if (consumer) {
      const count = consumer.counts.deadLettered;
      out.push({ metric: "dead_letters", labels: {}, value: ((count - deadLettersBefore.count) * 1000) / Math.max(1, now - deadLettersBefore.atMs) });
      deadLettersBefore = { count, atMs: now };
      try {
        out.push({ metric: "log_lag", labels: {}, value: await consumer.lag() });
      } catch {
        // NATS away: no lag sample this round.
      }
    }
    return out;
  };
  const alertLoop = new AlertLoop(deps.rules ?? [], { hub: alerts, events, samples, logger });
  let alerting: Promise<AlertChanged[]> | undefined;
  const evaluateAlerts = () =>
    (alerting ??= alertLoop.run().finally(() => {
      alerting = undefined;
    }));
  const alertTimer = setInterval(() => {
    evaluateAlerts().catch((error: unknown) => logger.warn("alert evaluation failed", { error }));
  }, config.alertIntervalMs ?? 15_000);
  alertTimer.unref();

  const rollouts = deps.rollouts
    ? new RolloutDriver({
        ...deps.rollouts,
        tickMs: deps.rollouts.tickMs ?? 5_000,
        metrics: (model, version, sinceMs) => versionOutcomes.since(model, version, sinceMs),
        driftAlarm: (model, version) => {
          const report = monitor.lastReports.get(`${model}@${version}`);
          return report !== undefined && (report.datasetDrift || report.predictionDrift);
        },
        events,
        logger,
      })
    : undefined;
  rollouts?.start();

  let host: ServiceHost;
  try {
    host = await startService({
      name: "monitoring",
      services: [serve(MonitoringService, monitoringServiceImpl({ monitor, alerts, outcomes, rollouts }))],
      routes: [
        (request, response) => {
          if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/monitoring/shadow") return false;
          sendJson(response, 200, { comparisons: shadow.summaries() });
          return true;
        },
      ],
      ...(config.meshToken ? { meshToken: { token: config.meshToken, guards: writesOnly } } : {}),
      host: config.host,
      grpcPort: config.grpcPort,
      httpPort: config.httpPort,
      logger,
      metrics,
      onClose: async () => {
        clearInterval(timer);
        clearInterval(alertTimer);
        alerts.close();
        await unsubscribeStats();
        await rollouts?.stop();
        await consumer?.stop();
        await deps.onClose?.();
      },
    });
  } catch (error) {
    clearInterval(timer);
    clearInterval(alertTimer);
    await unsubscribeStats();
    await rollouts?.stop();
    await consumer?.stop();
    throw error;
  }
  host.setReady(true);
  return { host, monitor, alerts, outcomes, shadow, consumer, metrics, rollouts, ingest, evaluate, evaluateAlerts,
    // Watch streams never end by themselves: end them first, or shutdown waits out its grace period.
    stop: async () => {
      alerts.close();
      await host.shutdown();
    },
  };
}
