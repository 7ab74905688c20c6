import { Counter, Histogram, type Registry } from "prom-client";
import type { ShadowComparison } from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";

/**
 * tessera_monitoring_shadow_comparisons_total{model, primary_version,
 * shadow_version, outcome: compared | mismatch | failed} and
 * tessera_monitoring_shadow_max_abs_difference{model, shadow_version}.
 */
export function shadowComparisonMetrics(registry: Registry): { observe(comparison: ShadowComparison): void } {
  const registers = [registry];
  const comparisons = new Counter({
    name: "tessera_monitoring_shadow_comparisons_total",
    help: "Shadow answers the router compared with the primary's, by outcome: compared (outputs line up), mismatch (names or sizes differ), failed (the shadow call failed).",
    labelNames: ["model", "primary_version", "shadow_version", "outcome"],
    registers,
  });
  const difference = new Histogram({
    name: "tessera_monitoring_shadow_max_abs_difference",
    help: "Per shadowed request, the largest absolute difference between the shadow's outputs and the primary's (outputs that line up).",
    labelNames: ["model", "shadow_version"],
    buckets: [0, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 10],
    registers,
  });
  return {
    observe(c) {
      const outcome = c.shadowErrorCode !== "" ? "failed" : c.mismatch ? "mismatch" : "compared";
      comparisons.inc({ model: c.model, primary_version: String(c.primaryVersion), shadow_version: String(c.shadowVersion), outcome });
      if (outcome !== "failed") difference.observe({ model: c.model, shadow_version: String(c.shadowVersion) }, c.maxAbsDifference);
    },
  };
}
