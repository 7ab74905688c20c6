import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { failedPrecondition, invalidArgument, notFound } from "../../libs/errors/index.js";
import {
  DriftTest as WireDriftTest,
  DriftWindowSchema,
  FeatureDriftSchema,
  GetDriftReportResponseSchema,
  type GetDriftReportResponse,
  type MonitoringService,
} from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import type { AlertHub } from "./alerts/alert-hub.js";
import type { DriftMonitor, DriftReport } from "./drift-monitor.js";
import type { DriftTest, FeatureDrift } from "./drift/index.js";
import type { OutcomeBook } from "./ab/outcome-book.js";
import type { RolloutDriver } from "./rollouts/rollout-driver.js";
import { toWireRollout } from "./rollouts/rollout-wire.js";

const TESTS: Record<DriftTest, WireDriftTest> = {
  ks: WireDriftTest.KS,
  chi_squared: WireDriftTest.CHI_SQUARED,
  wasserstein: WireDriftTest.WASSERSTEIN,
  jensen_shannon: WireDriftTest.JENSEN_SHANNON,
  psi: WireDriftTest.PSI,
};

export interface MonitoringServiceDeps {
  monitor: DriftMonitor;
  alerts: AlertHub;
  outcomes: OutcomeBook;
  /** Progressive rollouts; absent when monitoring has no router address. */
  rollouts?: RolloutDriver;
}

export function monitoringServiceImpl(deps: MonitoringServiceDeps): ServiceImpl<typeof MonitoringService> {
  const { monitor, alerts, outcomes } = deps;
  const rollouts = (): RolloutDriver => {
    if (!deps.rollouts) throw failedPrecondition("this monitoring service has no router to drive rollouts through; set TESSERA_ROUTER_ADDRESS (tessera up does when the topology has a router)");
    return deps.rollouts;
  };
  const model = (name: string) => {
    if (name === "") throw invalidArgument("model is required");
    return name;
  };
  return {
    async getDriftReport(request) {
      if (request.model === "") throw invalidArgument("model is required");
      let version = request.version;
      if (version === 0) {
        const seen = (await monitor.versions()).filter((v) => v.model === request.model).sort((a, b) => b.logs - a.logs);
        if (seen.length === 0) throw notFound(`no prediction logs for model "${request.model}" have reached monitoring yet; send it some traffic`);
        version = seen[0]!.version;
      }
      const report = await monitor.report(request.model, version);
      if (!report) {
        throw failedPrecondition(
          `${request.model} version ${version} has no reference profile to test drift against; build one with \`tessera profile ${request.model} ${version} --from data.csv\``,
        );
      }
      return toDriftResponse(report);
    },

    async *watchAlerts(_request, context) {
      for await (const alert of alerts.watch(context.signal)) yield { alert };
    },

    listAlerts() {
      return { alerts: alerts.list() };
    },

    recordOutcome(request) {
      return { version: outcomes.record(request) };
    },

    getAbReport(request) {
      return outcomes.report(request);
    },

    async startRollout(request) {
      return { rollout: toWireRollout(await rollouts().startRollout(request)) };
    },

    async getRollout(request) {
      return { rollout: toWireRollout(await rollouts().get(model(request.model))) };
    },

    async listRollouts() {
      return { rollouts: (await rollouts().list()).map(toWireRollout) };
    },

    async pauseRollout(request) {
      return { rollout: toWireRollout(await rollouts().pause(model(request.model))) };
    },

    async resumeRollout(request) {
      return { rollout: toWireRollout(await rollouts().resume(model(request.model))) };
    },

    async abortRollout(request) {
      return { rollout: toWireRollout(await rollouts().abort(model(request.model))) };
    },
  };
}

export function toDriftResponse(report: DriftReport): GetDriftReportResponse {
  const feature = (f: FeatureDrift, role: string) =>
    create(FeatureDriftSchema, {
      feature: f.feature,
      role,
      test: TESTS[f.test],
      statistic: f.statistic,
      ...(f.pValue !== undefined ? { pValue: f.pValue } : {}),
      ...(f.distance !== undefined ? { distance: f.distance } : {}),
      threshold: f.threshold,
      drifted: f.drifted,
      windowSize: BigInt(f.windowSize),
      referenceSize: BigInt(f.referenceSize),
    });
  return create(GetDriftReportResponseSchema, {
    model: report.model,
    version: report.version,
    features: [...report.features.map((f) => feature(f, "input")), ...report.predictions.map((f) => feature(f, "output"))],
    skipped: report.skipped,
    driftedShare: report.driftedShare,
    driftShareThreshold: report.options.driftShare,
    datasetDrift: report.datasetDrift,
    predictionDrift: report.predictionDrift,
    window: create(DriftWindowSchema, {
      logs: BigInt(report.window.logs),
      ...(report.window.startMs !== undefined ? { startTime: timestampFromMs(report.window.startMs) } : {}),
      ...(report.window.endMs !== undefined ? { endTime: timestampFromMs(report.window.endMs) } : {}),
    }),
  });
}
