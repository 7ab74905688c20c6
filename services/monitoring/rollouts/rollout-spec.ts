import { invalidArgument } from "../../../libs/errors/index.js";

/** The analysis a step must pass before the rollout moves on. */
export interface RolloutAnalysis {
  /** Fewest requests the candidate must have answered in the step for a verdict. */
  minRequests: number;
  /** Share of the candidate's requests answered without error, at least. */
  minSuccessRate: number;
  /** The candidate's p99 latency in the step, at most (ms). */
  maxP99Ms: number;
  /** Fail the check while a drift alarm is raised for the candidate. */
  noDriftAlarm: boolean;
  /**
   * Step intervals a check may wait beyond its own for `minRequests`
   * candidate requests; then it fails (no replica serves the candidate, or
   * no traffic reaches it). Undefined (states stored before it): 2.
   */
  inconclusiveLimit?: number;
}

export interface RolloutSpec {
  model: string;
  /** The version traffic moves from (the one the alias names now). */
  baseline: number;
  candidate: number;
  /** Candidate weights in percent, ascending, ending at 100 (e.g. [10, 25, 50, 100]). */
  steps: number[];
  /** How long each step runs before its analysis, ms. */
  stepIntervalMs: number;
  analysis: RolloutAnalysis;
  /** Consecutive failed checks that roll back, as Flagger's `threshold`. Default 2. */
  failureThreshold: number;
  /** The alias moved to the candidate on promotion. Default "production". */
  alias: string;
}

/** Refuses a spec that cannot run, naming the field (INVALID_ARGUMENT). */
export function checkRolloutSpec(spec: RolloutSpec): RolloutSpec {
  if (spec.model === "") throw invalidArgument("rollout model is required");
  if (!(Number.isInteger(spec.candidate) && spec.candidate >= 1)) throw invalidArgument(`rollout candidate must be a version number, got ${spec.candidate}`);
  if (spec.candidate === spec.baseline) throw invalidArgument(`the candidate is version ${spec.candidate}, which is already the baseline`);
  if (spec.steps.length === 0) throw invalidArgument("rollout steps must not be empty; e.g. [10, 25, 50, 100]");
  spec.steps.forEach((w, i) => {
    if (!(Number.isInteger(w) && w >= 1 && w <= 100)) throw invalidArgument(`rollout steps[${i}] must be a whole percent in 1..100, got ${w}`);
    if (i > 0 && w <= spec.steps[i - 1]!) throw invalidArgument(`rollout steps must rise: steps[${i}] = ${w} follows ${spec.steps[i - 1]}`);
  });
  if (spec.steps.at(-1) !== 100) throw invalidArgument(`rollout steps must end at 100 (promotion), got ${spec.steps.at(-1)}`);
  if (!(spec.stepIntervalMs >= 1000)) throw invalidArgument(`rollout step interval must be at least 1 s, got ${spec.stepIntervalMs} ms`);
  if (!(Number.isInteger(spec.failureThreshold) && spec.failureThreshold >= 1)) throw invalidArgument(`rollout failure threshold must be >= 1, got ${spec.failureThreshold}`);
  const a = spec.analysis;
  if (!(a.minSuccessRate >= 0 && a.minSuccessRate <= 1)) throw invalidArgument(`analysis min success rate must be in [0, 1], got ${a.minSuccessRate}`);
  if (!(a.maxP99Ms > 0)) throw invalidArgument(`analysis max p99 must be > 0 ms, got ${a.maxP99Ms}`);
  if (!(Number.isInteger(a.minRequests) && a.minRequests >= 0)) throw invalidArgument(`analysis min requests must be >= 0, got ${a.minRequests}`);
  if (a.inconclusiveLimit !== undefined && !(Number.isInteger(a.inconclusiveLimit) && a.inconclusiveLimit >= 0)) {
    throw invalidArgument(`analysis inconclusive limit must be a whole number of step intervals >= 0, got ${a.inconclusiveLimit}`);
  }
  return spec;
}
