import { stringify } from "yaml";
import { ALERT_METRICS } from "./alert-metrics.js";
import type { AlertRule } from "./alert-rules.js";

/** The same rules as a Prometheus rule file (groups → rules → alert/expr/for), for `promtool check rules`. */
export function exportPrometheusRules(rules: readonly AlertRule[]): string {
  const promRules = rules.map((rule) => {
    const matchers = Object.entries(rule.labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(", ");
    return {
      alert: rule.name,
      expr: `${ALERT_METRICS[rule.metric].promql(rule.window, matchers)} ${rule.op} ${rule.threshold}`,
      for: rule.forText,
      labels: { severity: rule.severity },
      annotations: { summary: rule.summary },
    };
  });
  // lineWidth 0: one line per expression, easier to read and to grep.
  return stringify({ groups: [{ name: "tessera", rules: promRules }] }, { lineWidth: 0 });
}
