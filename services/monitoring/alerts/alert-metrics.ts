/**
 * The mesh metrics alert rules may name, each with the PromQL a Prometheus
 * rule file uses for it (labels model and version kept, so one rule alerts
 * per model version). `w` is the rate window; `m` the rule's label
 * matchers (`model="fraud"`), put into every selector.
 */
export const ALERT_METRICS = {
  error_rate: {
    help: "share of inference requests that failed",
    promql: (w: string, m: string) =>
      `sum by (model, version) (rate(${sel("tessera_inference_requests_total", m, 'status!="OK"')}[${w}])) / sum by (model, version) (rate(${sel("tessera_inference_requests_total", m)}[${w}]))`,
  },
  latency_p99_seconds: {
    help: "99th percentile of inference compute latency, seconds",
    promql: (w: string, m: string) => `histogram_quantile(0.99, sum by (le, model, version) (rate(${sel("tessera_inference_compute_seconds_bucket", m)}[${w}])))`,
  },
  drift_share: {
    help: "share of a version's input features that drifted",
    promql: (_w: string, m: string) => `max by (model, version) (${sel("tessera_monitoring_drift_share", m)})`,
  },
  queue_depth: {
    help: "requests waiting in a version's batch queue",
    promql: (_w: string, m: string) => `max by (model, version) (${sel("tessera_inference_queue_depth", m)})`,
  },
  degraded_answers: {
    help: "answers per second the router gave from a fallback",
    promql: (w: string, m: string) => `sum by (model) (rate(${sel("tessera_router_degraded_total", m)}[${w}]))`,
  },
  dropped_logs: {
    help: "prediction logs dropped per second because a replica's buffer was full",
    promql: (w: string, m: string) => `sum by (model) (rate(${sel("tessera_prediction_log_dropped_total", m)}[${w}]))`,
  },
  dead_letters: {
    help: "prediction-log messages per second monitoring could not read",
    promql: (w: string, m: string) => `sum(rate(${sel("tessera_monitoring_dead_letters_total", m)}[${w}]))`,
  },
  log_lag: {
    help: "prediction logs waiting for monitoring",
    promql: (_w: string, m: string) => `max(${sel("tessera_monitoring_log_lag_messages", m)})`,
  },
} as const;

export type AlertMetric = keyof typeof ALERT_METRICS;
export const ALERT_METRIC_NAMES = Object.keys(ALERT_METRICS) as AlertMetric[];

function sel(name: string, ...matchers: string[]): string {
  const inside = matchers.filter((x) => x !== "").join(", ");
  return inside === "" ? name : `${name}{${inside}}`;
}
