import type { AlertMetric } from "./alert-metrics.js";
import type { AlertRule } from "./alert-rules.js";

/** One value of one metric series. */
export interface Sample {
  metric: AlertMetric;
  labels: Readonly<Record<string, string>>;
  value: number;
  /** For a rate over a window: the rule window it was computed over ("5m"); only rules with that window see it. */
  window?: string;
}

export type AlertStateName = "pending" | "firing" | "resolved";

export interface AlertChange {
  rule: AlertRule;
  /** Rule name and series labels: one alert per rule and series. */
  key: string;
  state: AlertStateName;
  labels: Record<string, string>;
  value: number;
  activeSinceMs: number;
  /** Bumps on every change of this alert. */
  revision: number;
}

interface Active {
  state: "pending" | "firing";
  sinceMs: number;
  labels: Record<string, string>;
  value: number;
  revision: number;
}

/**
 * Prometheus's alert states over samples: a condition that holds becomes
 * PENDING, FIRING once it has held for the rule's `for` (at once when `for`
 * is 0), and RESOLVED when it stops holding (a pending one just ends). A
 * series missing from the samples does not hold.
 */
export class AlertEvaluator {
  private readonly active = new Map<string, Active>();
  private revisions = 0;

  constructor(private readonly rules: readonly AlertRule[]) {}

  evaluate(samples: readonly Sample[], nowMs: number): AlertChange[] {
    const changes: AlertChange[] = [];
    const holding = new Set<string>();
    for (const rule of this.rules) {
      for (const sample of samples) {
        if (sample.metric !== rule.metric || (sample.window !== undefined && sample.window !== rule.window) || !matches(sample.labels, rule.labels) || !compare(sample.value, rule.op, rule.threshold)) continue;
        const key = `${rule.name}${seriesKey(sample.labels)}`;
        holding.add(key);
        const current = this.active.get(key);
        if (!current) {
          const state = rule.forMs === 0 ? "firing" : "pending";
          const next: Active = { state, sinceMs: nowMs, labels: { ...sample.labels }, value: sample.value, revision: ++this.revisions };
          this.active.set(key, next);
          changes.push(this.change(rule, key, next, state));
        } else {
          current.value = sample.value;
          if (current.state === "pending" && nowMs - current.sinceMs >= rule.forMs) {
            current.state = "firing";
            current.revision = ++this.revisions;
            changes.push(this.change(rule, key, current, "firing"));
          }
        }
      }
    }
    for (const rule of this.rules) {
      for (const [key, current] of this.active) {
        if (!key.startsWith(`${rule.name}{`) || holding.has(key)) continue;
        this.active.delete(key);
        current.revision = ++this.revisions;
        changes.push(this.change(rule, key, current, "resolved"));
      }
    }
    return changes;
  }

  private change(rule: AlertRule, key: string, a: Active, state: AlertStateName): AlertChange {
    return { rule, key, state, labels: a.labels, value: a.value, activeSinceMs: a.sinceMs, revision: a.revision };
  }
}

function matches(labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

function compare(value: number, op: AlertRule["op"], threshold: number): boolean {
  switch (op) {
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
  }
}

function seriesKey(labels: Readonly<Record<string, string>>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(",")}}`;
}
