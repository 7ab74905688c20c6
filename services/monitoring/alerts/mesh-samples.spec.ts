import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ReplicaRecordSchema } from "../../../libs/gen/tessera/events/v1/inference_events_pb.js";
import { RouterStatsSchema } from "../../../libs/gen/tessera/events/v1/router_events_pb.js";
import { VersionOutcomes } from "../rollouts/version-outcomes.js";
import { AlertEvaluator } from "./alert-evaluator.js";
import { parseAlertRules } from "./alert-rules.js";
import { DegradedAnswerRates, DroppedLogRates, errorRateSamples, queueDepthSamples } from "./mesh-samples.js";

const MINUTE = 60_000;

describe("errorRateSamples()", () => {
  it("gives the share of logged requests with an error code over each window, per version", () => {
    const outcomes = new VersionOutcomes();
    const now = 10 * MINUTE;
    // Version 1: 2 failures in the last minute out of 4; an older failure outside a 1m window.
    outcomes.observe("fraud", 1, { timeMs: now - 3 * MINUTE, latencyMs: 1, ok: false });
    for (const ok of [true, false, true, false]) outcomes.observe("fraud", 1, { timeMs: now - 30_000, latencyMs: 1, ok });
    outcomes.observe("fraud", 2, { timeMs: now - 10_000, latencyMs: 1, ok: true });
    expect(errorRateSamples(outcomes, ["1m", "5m"], now)).toEqual([
      { metric: "error_rate", labels: { model: "fraud", version: "1" }, value: 0.5, window: "1m" },
      { metric: "error_rate", labels: { model: "fraud", version: "2" }, value: 0, window: "1m" },
      { metric: "error_rate", labels: { model: "fraud", version: "1" }, value: 0.6, window: "5m" },
      { metric: "error_rate", labels: { model: "fraud", version: "2" }, value: 0, window: "5m" },
    ]);
  });

  it("gives no sample for a version with no requests in the window", () => {
    const outcomes = new VersionOutcomes();
    outcomes.observe("fraud", 1, { timeMs: 0, latencyMs: 1, ok: false });
    expect(errorRateSamples(outcomes, ["1m"], 10 * MINUTE)).toEqual([]);
  });
});

describe("queueDepthSamples()", () => {
  const record = (id: string, heartbeatMs: number, depths: Record<string, number>) =>
    create(ReplicaRecordSchema, {
      replicaId: id,
      heartbeatTime: timestampFromMs(heartbeatMs),
      models: Object.entries(depths).map(([key, queueDepth]) => ({ model: key.split("@")[0], version: Number(key.split("@")[1]), queueDepth })),
    });

  it("takes the deepest queue across live replicas, per version, and skips replicas that stopped heartbeating", () => {
    const now = 100_000;
    const samples = queueDepthSamples(
      [record("a", now - 1_000, { "fraud@1": 3, "fraud@2": 0 }), record("b", now - 2_000, { "fraud@1": 7 }), record("dead", now - 60_000, { "fraud@1": 99, "fraud@2": 50 })],
      now,
      15_000,
    );
    expect(samples).toEqual([
      { metric: "queue_depth", labels: { model: "fraud", version: "1" }, value: 7 },
      { metric: "queue_depth", labels: { model: "fraud", version: "2" }, value: 0 },
    ]);
  });
});

describe("DegradedAnswerRates", () => {
  const stats = (routerId: string, totals: Record<string, number>) =>
    create(RouterStatsSchema, { routerId, degraded: Object.entries(totals).map(([key, total]) => ({ model: key.split(":")[0], kind: key.split(":")[1], total: BigInt(total) })) });

  it("turns cumulative counts into answers per second over the window, summed over kinds and routers", () => {
    const rates = new DegradedAnswerRates();
    rates.observe(stats("r1", { "fraud:cached": 10, "fraud:default": 0 }), 0);
    rates.observe(stats("r2", { "fraud:cached": 100 }), 0);
    rates.observe(stats("r1", { "fraud:cached": 40, "fraud:default": 30 }), 30_000);
    rates.observe(stats("r2", { "fraud:cached": 130 }), 30_000);
    // r1: 60 more in 30 s = 2/s; r2: 30 in 30 s = 1/s.
    expect(rates.samples(["5m"], 30_000)).toEqual([{ metric: "degraded_answers", labels: { model: "fraud" }, value: 3, window: "5m" }]);
  });

  it("needs two stats of a router in the window, and forgets what is older than it keeps", () => {
    const rates = new DegradedAnswerRates(10 * MINUTE);
    rates.observe(stats("r1", { "fraud:cached": 0 }), 0);
    expect(rates.samples(["5m"], 0)).toEqual([]);
    rates.observe(stats("r1", { "fraud:cached": 60 }), MINUTE);
    expect(rates.samples(["5m"], MINUTE)).toEqual([{ metric: "degraded_answers", labels: { model: "fraud" }, value: 1, window: "5m" }]);
    // Six minutes on, only the second stat is in a 5m window.
    expect(rates.samples(["5m"], 6 * MINUTE + 1)).toEqual([]);
    expect(rates.samples(["1h"], 11 * MINUTE + 1)).toEqual([]);
  });

  it("counts a router that restarted (a new id) from its own first stats, never a negative rate", () => {
    const rates = new DegradedAnswerRates();
    rates.observe(stats("old", { "fraud:cached": 500 }), 0);
    rates.observe(stats("new", { "fraud:cached": 0 }), 10_000);
    rates.observe(stats("new", { "fraud:cached": 20 }), 20_000);
    expect(rates.samples(["5m"], 20_000)).toEqual([{ metric: "degraded_answers", labels: { model: "fraud" }, value: 2, window: "5m" }]);
  });
});

describe("DroppedLogRates", () => {
  const heartbeat = (id: string, startMs: number, heartbeatMs: number, dropped: Record<string, number>) =>
    create(ReplicaRecordSchema, {
      replicaId: id,
      startTime: timestampFromMs(startMs),
      heartbeatTime: timestampFromMs(heartbeatMs),
      predictionLogsDropped: Object.fromEntries(Object.entries(dropped).map(([model, n]) => [model, BigInt(n)])),
    });

  it("turns each replica's cumulative drops into logs per second per model, summed over replicas", () => {
    const rates = new DroppedLogRates();
    rates.observe([heartbeat("a", 0, 10_000, { fraud: 100 }), heartbeat("b", 0, 10_000, { fraud: 0, wide: 5 })], 10_500, 15_000);
    // The same heartbeats read again before they are rewritten add nothing.
    rates.observe([heartbeat("a", 0, 10_000, { fraud: 100 }), heartbeat("b", 0, 10_000, { fraud: 0, wide: 5 })], 12_000, 15_000);
    expect(rates.samples(["5m"], 12_000)).toEqual([]);
    rates.observe([heartbeat("a", 0, 20_000, { fraud: 150 }), heartbeat("b", 0, 20_000, { fraud: 20, wide: 5 })], 20_500, 15_000);
    // a: 50 in 10 s, b: 20 in 10 s.
    expect(rates.samples(["5m"], 20_500)).toEqual([
      { metric: "dropped_logs", labels: { model: "fraud" }, value: 7, window: "5m" },
      { metric: "dropped_logs", labels: { model: "wide" }, value: 0, window: "5m" },
    ]);
  });

  it("starts a restarted replica over and skips one that stopped heartbeating", () => {
    const rates = new DroppedLogRates();
    rates.observe([heartbeat("a", 0, 10_000, { fraud: 900 }), heartbeat("dead", 0, 1_000, { fraud: 0 })], 20_000, 15_000);
    rates.observe([heartbeat("a", 15_000, 30_000, { fraud: 10 }), heartbeat("dead", 0, 1_000, { fraud: 5_000 })], 31_000, 15_000);
    rates.observe([heartbeat("a", 15_000, 40_000, { fraud: 30 })], 41_000, 15_000);
    expect(rates.samples(["5m"], 41_000)).toEqual([{ metric: "dropped_logs", labels: { model: "fraud" }, value: 2, window: "5m" }]);
  });
});

describe("AlertEvaluator over windowed samples", () => {
  it("lets a rule see only the samples of its own window", () => {
    const rules = parseAlertRules(
      `rules:
  - {name: fast, metric: error_rate, threshold: 0.1, window: 1m}
  - {name: slow, metric: error_rate, threshold: 0.1, window: 1h}
`,
      "rules.yaml",
    );
    const changes = new AlertEvaluator(rules).evaluate(
      [
        { metric: "error_rate", labels: { model: "fraud", version: "1" }, value: 0.5, window: "1m" },
        { metric: "error_rate", labels: { model: "fraud", version: "1" }, value: 0.01, window: "1h" },
      ],
      0,
    );
    expect(changes.map((c) => [c.rule.name, c.state, c.value])).toEqual([["fast", "firing", 0.5]]);
  });
});
