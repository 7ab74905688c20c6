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
}

export function monitoringServiceImpl(deps: MonitoringServiceDeps): ServiceImpl<typeof MonitoringService> {
  const { monitor, alerts, outcomes } = deps;
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
