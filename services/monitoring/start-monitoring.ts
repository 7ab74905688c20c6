import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { NatsConnection } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import type { EventBus } from "../../libs/events/index.js";
import { DriftDetectedSchema } from "../../libs/gen/tessera/events/v1/monitoring_events_pb.js";
import type { PredictionLog } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { serve, startService, type ServiceHost } from "../../libs/host/index.js";
import type { Logger } from "../../libs/log/index.js";
import { OutcomeBook } from "./ab/outcome-book.js";
import { AlertHub } from "./alerts/alert-hub.js";
import type { MonitoringConfig } from "./config.js";
import { DriftMonitor, type DriftReport, type ProfileSource } from "./drift-monitor.js";
import { startLogConsumer, type LogConsumer } from "./log-consumer.js";
import { monitoringServiceImpl } from "./monitoring-service.js";

/** Subject of DriftDetected events. */
export const DRIFT_DETECTED_SUBJECT = "tessera.monitoring.drift.detected";

export interface MonitoringDependencies {
  config: Pick<MonitoringConfig, "host" | "grpcPort" | "httpPort" | "windowSize" | "reportIntervalMs" | "consumerName" | "maxAckPending" | "driftOptions">;
  /** DriftDetected (and alert) events go out here. */
  events: EventBus;
  /** Where prediction logs are read from (TESSERA_PREDICTIONS); without it, logs come in through `ingest` (embedded mode). */
  nc?: NatsConnection;
  profiles: ProfileSource;
  logger: Logger;
  /** Runs when the service stops, after its own parts (close what the caller opened for it). */
  onClose?: () => Promise<void>;
}

export interface MonitoringServer {
  readonly host: ServiceHost;
  readonly monitor: DriftMonitor;
  readonly alerts: AlertHub;
  readonly outcomes: OutcomeBook;
  readonly consumer?: LogConsumer;
  readonly metrics: Registry;
  /** Takes one log directly (embedded mode, tests). */
  ingest(log: PredictionLog, timeMs: number): Promise<void>;
  /** Tests every window now (the report loop does this every reportIntervalMs). */
  evaluate(): Promise<DriftReport[]>;
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
  const ingest = async (log: PredictionLog, timeMs: number) => {
    outcomes.observe(log);
    await monitor.ingest(log, timeMs);
  };
  const consumer = deps.nc
    ? await startLogConsumer(deps.nc, { durable: config.consumerName, maxAckPending: config.maxAckPending, handle: ingest, metrics, logger })
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

  let host: ServiceHost;
  try {
    host = await startService({
      name: "monitoring",
      services: [serve(MonitoringService, monitoringServiceImpl({ monitor, alerts, outcomes }))],
      host: config.host,
      grpcPort: config.grpcPort,
      httpPort: config.httpPort,
      logger,
      metrics,
      onClose: async () => {
        clearInterval(timer);
        alerts.close();
        await consumer?.stop();
        await deps.onClose?.();
      },
    });
  } catch (error) {
    clearInterval(timer);
    await consumer?.stop();
    throw error;
  }
  host.setReady(true);
  return { host, monitor, alerts, outcomes, consumer, metrics, ingest, evaluate, stop: () => host.shutdown() };
}
