import { isMap, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { invalidArgument } from "../../../libs/errors/index.js";
import { ALERT_METRIC_NAMES, type AlertMetric } from "./alert-metrics.js";
import { parseDuration } from "./parse-duration.js";

export type Comparison = ">" | ">=" | "<" | "<=";
const COMPARISONS: readonly Comparison[] = [">", ">=", "<", "<="];

export interface AlertRule {
  name: string;
  metric: AlertMetric;
  op: Comparison;
  threshold: number;
  /** How long the condition must hold before the alert fires, ms. */
  forMs: number;
  /** As written, for the Prometheus export ("5m"). */
  forText: string;
  /** Only series with these labels (model: fraud). */
  labels: Record<string, string>;
  /** Rate window for rate-based metrics ("5m"). */
  window: string;
  summary: string;
  severity: string;
}

const RULE_KEYS = ["name", "metric", "op", "threshold", "for", "labels", "window", "summary", "severity"];
const NAME = /^[a-zA-Z][-_a-zA-Z0-9]{0,62}$/;

/**
 * Reads an alert rule file:
 *
 *   rules:
 *     - name: fraud-errors
 *       metric: error_rate        # one of ALERT_METRICS
 *       op: ">"                   # default ">"
 *       threshold: 0.05
 *       for: 2m                   # default 0s
 *       labels: {model: fraud}    # optional filter
 *       summary: fraud fails more than 5 % of requests
 *
 * Every problem is INVALID_ARGUMENT naming the file, the line and the key.
 */
export function parseAlertRules(text: string, file: string): AlertRule[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const lineOf = (node: Node | null | undefined) => (node?.range ? lineCounter.linePos(node.range[0]).line : 1);
  const fail = (node: Node | null | undefined, problem: string): never => {
    throw invalidArgument(`${file} line ${lineOf(node)}: ${problem}`);
  };
  const syntax = doc.errors[0];
  if (syntax) throw invalidArgument(`${file} line ${syntax.linePos?.[0]?.line ?? 1}: not valid YAML: ${syntax.message.split("\n")[0]}`);
  const root = doc.contents;
  if (!isMap(root)) return fail(root, 'expected "rules:" with a list of rules');
  const rulesNode = root.get("rules", true);
  for (const pair of root.items) {
    const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
    if (key !== "rules") fail(pair.key as Node, `unknown key "${key}"; the file has one key, "rules"`);
  }
  if (rulesNode === undefined) return [];
  if (!isSeq(rulesNode)) return fail(rulesNode as Node, "rules must be a list (each entry starting with \"- name:\")");
  const names = new Set<string>();
  return rulesNode.items.map((item, i) => {
    const node = item as Node;
    if (!isMap(node)) return fail(node, `rules[${i}] must be a mapping with name, metric, threshold, ...`);
    const value = (key: string) => node.get(key, true) as Node | undefined;
    const scalar = (key: string): unknown => (value(key) as { value?: unknown } | undefined)?.value;
    for (const pair of node.items) {
      const key = String((pair.key as { value?: unknown })?.value);
      if (!RULE_KEYS.includes(key)) fail(pair.key as Node, `rules[${i}]: unknown key "${key}"; a rule has ${RULE_KEYS.join(", ")}`);
    }
    const name = scalar("name");
    if (typeof name !== "string" || !NAME.test(name)) fail(value("name") ?? node, `rules[${i}].name must be 1-63 letters, digits, '-' or '_', starting with a letter`);
    if (names.has(name as string)) fail(value("name"), `rules[${i}].name "${String(name)}" is used by an earlier rule`);
    names.add(name as string);
    const metric = scalar("metric");
    if (typeof metric !== "string" || !ALERT_METRIC_NAMES.includes(metric as AlertMetric)) {
      fail(value("metric") ?? node, `rules[${i}].metric: unknown metric ${JSON.stringify(metric ?? null)}; use one of ${ALERT_METRIC_NAMES.join(", ")}`);
    }
    const op = scalar("op") ?? ">";
    if (!COMPARISONS.includes(op as Comparison)) fail(value("op"), `rules[${i}].op must be one of ${COMPARISONS.join(" ")}, got ${JSON.stringify(op)}`);
    const threshold = scalar("threshold");
    if (typeof threshold !== "number" || !Number.isFinite(threshold)) fail(value("threshold") ?? node, `rules[${i}].threshold must be a number`);
    const forText = String(scalar("for") ?? "0s");
    const forMs = parseDuration(forText);
    if (forMs === undefined) fail(value("for"), `rules[${i}].for: "${forText}" is not a duration; write e.g. 30s, 5m, 1h30m`);
    const window = String(scalar("window") ?? "5m");
    if (!parseDuration(window)) fail(value("window"), `rules[${i}].window: "${window}" is not a duration; write e.g. 1m, 5m`);
    const labelsNode = value("labels");
    const labels: Record<string, string> = {};
    if (labelsNode !== undefined) {
      if (!isMap(labelsNode)) fail(labelsNode, `rules[${i}].labels must be a mapping like {model: fraud}`);
      for (const [k, v] of Object.entries((labelsNode as unknown as { toJSON(): Record<string, unknown> }).toJSON())) {
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) fail(labelsNode, `rules[${i}].labels: "${k}" is not a label name`);
        labels[k] = String(v);
      }
    }
    return {
      name: name as string,
      metric: metric as AlertMetric,
      op: op as Comparison,
      threshold: threshold as number,
      forMs: forMs!,
      forText,
      labels,
      window,
      summary: String(scalar("summary") ?? `${String(metric)} ${String(op)} ${String(threshold)}`),
      severity: String(scalar("severity") ?? "warning"),
    };
  });
}
