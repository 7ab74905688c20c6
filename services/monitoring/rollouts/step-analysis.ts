import type { StepMetrics } from "./rollout-controller.js";
import type { RolloutSpec } from "./rollout-spec.js";

/** Step intervals a check may go without `minRequests` candidate requests before it fails; see RolloutAnalysis.inconclusiveLimit. */
export const DEFAULT_INCONCLUSIVE_LIMIT = 2;

export type StepVerdict = { verdict: "pass" } | { verdict: "fail"; reason: string } | { verdict: "wait" };

/**
 * The analysis of one step, pure: `metrics` are the candidate's since the
 * step (or its last failed check) began, `waitedMs` how long ago that was.
 * Too few requests waits for more, as Flagger halts advancement, but only
 * for `inconclusiveLimit` more step intervals: a candidate nobody serves (or
 * that gets no traffic) then fails its checks like a bad one, so the
 * rollout rolls back instead of stalling at its first step for ever.
 */
export function judgeStep(spec: RolloutSpec, metrics: StepMetrics | undefined, waitedMs: number): StepVerdict {
  const a = spec.analysis;
  const requests = metrics?.requests ?? 0;
  if (!metrics || requests < a.minRequests) {
    const limit = a.inconclusiveLimit ?? DEFAULT_INCONCLUSIVE_LIMIT;
    const intervals = Math.floor(waitedMs / spec.stepIntervalMs);
    if (intervals <= limit) return { verdict: "wait" };
    const seen = requests === 0 ? "no candidate requests" : `only ${requests} candidate request${requests === 1 ? "" : "s"}`;
    return {
      verdict: "fail",
      reason: `${seen} in ${intervals} step intervals (min ${a.minRequests}); is version ${spec.candidate} served by a ready replica and routed to?`,
    };
  }
  if (metrics.successRate < a.minSuccessRate) return { verdict: "fail", reason: `success rate ${metrics.successRate.toFixed(3)} < ${a.minSuccessRate}` };
  if (metrics.p99Ms > a.maxP99Ms) return { verdict: "fail", reason: `p99 ${metrics.p99Ms.toFixed(1)} ms > ${a.maxP99Ms} ms` };
  if (a.noDriftAlarm && metrics.driftAlarm) return { verdict: "fail", reason: "a drift alarm is raised for the candidate" };
  return { verdict: "pass" };
}
