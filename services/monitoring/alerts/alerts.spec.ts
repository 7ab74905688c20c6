import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AlertEvaluator } from "./alert-evaluator.js";
import { parseAlertRules } from "./alert-rules.js";
import { exportPrometheusRules } from "./export-prometheus-rules.js";
import { parseDuration } from "./parse-duration.js";

const RULES = `rules:
  - name: fraud-errors
    metric: error_rate
    threshold: 0.05
    for: 2m
    labels: {model: fraud}
    summary: fraud fails more than 5 % of requests
  - name: drifting
    metric: drift_share
    op: ">="
    threshold: 0.5
  - name: slow
    metric: latency_p99_seconds
    threshold: 0.25
    for: 1m30s
    window: 1m
  - name: logs-dropped
    metric: dropped_logs
    threshold: 0
    severity: page
`;

describe("parseAlertRules()", () => {
  it("reads rules with their defaults", () => {
    const rules = parseAlertRules(RULES, "rules.yaml");
    expect(rules.map((r) => [r.name, r.metric, r.op, r.threshold, r.forMs, r.window])).toEqual([
      ["fraud-errors", "error_rate", ">", 0.05, 120_000, "5m"],
      ["drifting", "drift_share", ">=", 0.5, 0, "5m"],
      ["slow", "latency_p99_seconds", ">", 0.25, 90_000, "1m"],
      ["logs-dropped", "dropped_logs", ">", 0, 0, "5m"],
    ]);
    expect(rules[0]!.labels).toEqual({ model: "fraud" });
  });

  it.each([
    ["rules:\n  - name: a\n    metric: cpu_load\n    threshold: 1\n", "rules.yaml line 3: rules[0].metric: unknown metric \"cpu_load\"; use one of error_rate,"],
    ["rules:\n  - name: a\n    metric: error_rate\n    threshold: 1\n    for: 5 minutes\n", 'rules.yaml line 5: rules[0].for: "5 minutes" is not a duration'],
    ["rules:\n  - name: a\n    metric: error_rate\n    threshold: high\n", "rules.yaml line 4: rules[0].threshold must be a number"],
    ["rules:\n  - name: a\n    metric: error_rate\n    threshold: 1\n    colour: red\n", 'rules.yaml line 5: rules[0]: unknown key "colour"'],
    ["rules:\n  - name: a\n    metric: error_rate\n    threshold: 1\n  - name: a\n    metric: error_rate\n    threshold: 2\n", 'rules.yaml line 5: rules[1].name "a" is used by an earlier rule'],
    ["rules: [\n", "rules.yaml line"],
    ["alerts: []\n", 'rules.yaml line 1: unknown key "alerts"'],
  ])("refuses %j naming the line", (text, message) => {
    expect(() => parseAlertRules(text, "rules.yaml")).toThrow(message);
  });
});

describe("parseDuration()", () => {
  it.each([
    ["30s", 30_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["0s", 0],
    ["5", undefined],
    ["-1m", undefined],
  ])("%s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe("AlertEvaluator", () => {
  const rules = parseAlertRules(RULES, "rules.yaml");
  const fraud = { model: "fraud", version: "1" };

  it("goes pending, fires once the condition held for `for`, and resolves", () => {
    const evaluator = new AlertEvaluator(rules);
    const high = [{ metric: "error_rate" as const, labels: fraud, value: 0.2 }];
    expect(evaluator.evaluate(high, 0).map((c) => [c.rule.name, c.state])).toEqual([["fraud-errors", "pending"]]);
    expect(evaluator.evaluate(high, 60_000)).toEqual([]);
    const fired = evaluator.evaluate(high, 120_000);
    expect(fired.map((c) => [c.rule.name, c.state, c.activeSinceMs, c.value])).toEqual([["fraud-errors", "firing", 0, 0.2]]);
    expect(evaluator.evaluate(high, 180_000)).toEqual([]);
    const resolved = evaluator.evaluate([{ metric: "error_rate", labels: fraud, value: 0.01 }], 240_000);
    expect(resolved.map((c) => c.state)).toEqual(["resolved"]);
    expect(resolved[0]!.revision).toBeGreaterThan(fired[0]!.revision);
  });

  it("fires at once without `for`, per series, and only for the rule's labels", () => {
    const evaluator = new AlertEvaluator(rules);
    const changes = evaluator.evaluate(
      [
        { metric: "drift_share", labels: { model: "a", version: "1" }, value: 0.5 },
        { metric: "drift_share", labels: { model: "b", version: "1" }, value: 0.2 },
        { metric: "error_rate", labels: { model: "other", version: "1" }, value: 0.9 },
      ],
      0,
    );
    expect(changes.map((c) => [c.rule.name, c.state, c.labels.model])).toEqual([["drifting", "firing", "a"]]);
  });

  it("ends a pending alert without firing when the condition stops first", () => {
    const evaluator = new AlertEvaluator(rules);
    evaluator.evaluate([{ metric: "latency_p99_seconds", labels: fraud, value: 1 }], 0);
    expect(evaluator.evaluate([], 10_000).map((c) => c.state)).toEqual(["resolved"]);
  });
});

describe("exportPrometheusRules()", () => {
  it("writes a rule file promtool accepts", () => {
    const text = exportPrometheusRules(parseAlertRules(RULES, "rules.yaml"));
    expect(text).toContain("alert: fraud-errors");
    expect(text).toContain('tessera_inference_requests_total{model="fraud", status!="OK"}');
    const promtool = spawnSync("promtool", ["--version"]);
    if (promtool.error) {
      throw new Error("promtool is not installed; install it with `apt-get install -y prometheus` (Debian) to check exported rules");
    }
    const dir = mkdtempSync(join(tmpdir(), "tessera-rules-"));
    try {
      writeFileSync(join(dir, "rules.yml"), text);
      const out = execFileSync("promtool", ["check", "rules", join(dir, "rules.yml")], { encoding: "utf8" });
      expect(out).toContain("SUCCESS: 4 rules found");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
