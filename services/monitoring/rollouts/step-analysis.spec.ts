import { describe, expect, it } from "vitest";
import type { StepMetrics } from "./rollout-controller.js";
import { checkRolloutSpec, type RolloutSpec } from "./rollout-spec.js";
import { judgeStep } from "./step-analysis.js";

const MINUTE = 60_000;
const spec: RolloutSpec = checkRolloutSpec({
  model: "fraud",
  baseline: 1,
  candidate: 2,
  steps: [10, 100],
  stepIntervalMs: MINUTE,
  analysis: { minRequests: 100, minSuccessRate: 0.99, maxP99Ms: 50, noDriftAlarm: true },
  failureThreshold: 2,
  alias: "production",
});
const good: StepMetrics = { requests: 500, successRate: 0.999, p99Ms: 20, driftAlarm: false };

describe("judgeStep()", () => {
  it("passes a step within every bound and names the first bound a failing one breaks", () => {
    expect(judgeStep(spec, good, MINUTE)).toEqual({ verdict: "pass" });
    expect(judgeStep(spec, { ...good, successRate: 0.5 }, MINUTE)).toEqual({ verdict: "fail", reason: "success rate 0.500 < 0.99" });
    expect(judgeStep(spec, { ...good, p99Ms: 51 }, MINUTE)).toEqual({ verdict: "fail", reason: "p99 51.0 ms > 50 ms" });
    expect(judgeStep(spec, { ...good, driftAlarm: true }, MINUTE)).toMatchObject({ verdict: "fail" });
    expect(judgeStep({ ...spec, analysis: { ...spec.analysis, noDriftAlarm: false } }, { ...good, driftAlarm: true }, MINUTE)).toEqual({ verdict: "pass" });
  });

  it("waits for requests for two more step intervals by default, then fails saying none came", () => {
    expect(judgeStep(spec, undefined, MINUTE)).toEqual({ verdict: "wait" });
    expect(judgeStep(spec, undefined, 3 * MINUTE - 1)).toEqual({ verdict: "wait" });
    const failed = judgeStep(spec, undefined, 3 * MINUTE);
    expect(failed).toMatchObject({ verdict: "fail" });
    expect(failed.verdict === "fail" && failed.reason).toBe("no candidate requests in 3 step intervals (min 100); is version 2 served by a ready replica and routed to?");
  });

  it("counts too few requests like none, and takes the limit from the spec (0: fail at the first interval)", () => {
    const impatient = { ...spec, analysis: { ...spec.analysis, inconclusiveLimit: 0 } };
    expect(judgeStep(impatient, { ...good, requests: 99 }, MINUTE)).toMatchObject({ verdict: "fail", reason: expect.stringContaining("only 99 candidate requests in 1 step intervals") });
    expect(judgeStep(impatient, { ...good, requests: 100 }, MINUTE)).toEqual({ verdict: "pass" });
    const patient = { ...spec, analysis: { ...spec.analysis, inconclusiveLimit: 5 } };
    expect(judgeStep(patient, { ...good, requests: 1 }, 5 * MINUTE)).toEqual({ verdict: "wait" });
    expect(judgeStep(patient, { ...good, requests: 1 }, 6 * MINUTE)).toMatchObject({ verdict: "fail", reason: expect.stringContaining("only 1 candidate request in 6") });
  });

  it("refuses a limit that is not a whole number of intervals", () => {
    expect(() => checkRolloutSpec({ ...spec, analysis: { ...spec.analysis, inconclusiveLimit: -1 } })).toThrow("inconclusive limit");
    expect(() => checkRolloutSpec({ ...spec, analysis: { ...spec.analysis, inconclusiveLimit: 1.5 } })).toThrow("inconclusive limit");
  });
});
