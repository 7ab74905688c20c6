import { DriftTest, type GetDriftReportResponse } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { formatTable } from "./format-table.js";

const TEST_NAMES: Record<DriftTest, string> = {
  [DriftTest.UNSPECIFIED]: "-",
  [DriftTest.KS]: "ks",
  [DriftTest.CHI_SQUARED]: "chi-squared",
  [DriftTest.WASSERSTEIN]: "wasserstein",
  [DriftTest.JENSEN_SHANNON]: "jensen-shannon",
  [DriftTest.PSI]: "psi",
};

/**
 * `tessera drift report`'s answer for a person:
 *   fraud version 2: DATASET DRIFT (16 of 16 inputs, share 1.00 ≥ 0.50); predictions stable; window 300 logs
 *   FEATURE      ROLE   TEST  STATISTIC  P-VALUE   DISTANCE  THRESHOLD  DRIFT
 *   features[0]  input  ks    0.4133     1.2e-19   -         0.003125   yes
 */
export function formatDriftReport(r: GetDriftReportResponse): string {
  const inputs = r.features.filter((f) => f.role === "input");
  const drifted = inputs.filter((f) => f.drifted).length;
  const verdict = r.datasetDrift ? "DATASET DRIFT" : "no dataset drift";
  const head =
    `${r.model} version ${r.version}: ${verdict} (${drifted} of ${inputs.length} inputs, share ${r.driftedShare.toFixed(2)} ` +
    `${r.datasetDrift ? "≥" : "<"} ${r.driftShareThreshold.toFixed(2)}); ${r.predictionDrift ? "PREDICTION DRIFT" : "predictions stable"}; window ${r.window?.logs ?? 0n} logs`;
  const rows = r.features.map((f) => [
    f.feature,
    f.role,
    TEST_NAMES[f.test],
    number(f.statistic),
    f.pValue === undefined ? "-" : number(f.pValue),
    f.distance === undefined ? "-" : number(f.distance),
    number(f.threshold),
    f.drifted ? "yes" : "no",
  ]);
  const skipped = r.skipped.length > 0 ? `\nnot tested yet (too few values): ${r.skipped.join(", ")}` : "";
  return `${head}\n${formatTable(["FEATURE", "ROLE", "TEST", "STATISTIC", "P-VALUE", "DISTANCE", "THRESHOLD", "DRIFT"], rows)}${skipped}`;
}

function number(x: number): string {
  if (x === 0) return "0";
  return Math.abs(x) < 1e-3 ? x.toExponential(1) : x.toPrecision(4).replace(/\.?0+$/, "");
}
