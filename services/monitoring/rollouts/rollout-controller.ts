import type { RouteControl, RouteSnapshot } from "./route-control.js";
import type { RolloutSpec } from "./rollout-spec.js";
import { judgeStep } from "./step-analysis.js";

/**
 * PROGRESSING: moving through the steps. PAUSED: waiting for resume (asked
 * for, or the route changed under it). PROMOTED, ROLLED_BACK, ABORTED: done.
 */
export type RolloutPhase = "progressing" | "paused" | "promoted" | "rolled_back" | "aborted";

/** What the candidate did during the current step, from the monitoring service's metrics. */
export interface StepMetrics {
  requests: number;
  successRate: number;
  p99Ms: number;
  driftAlarm: boolean;
}

/** The whole rollout as plain data: stored in NATS KV, it survives the controller's restart. */
export interface RolloutState {
  spec: RolloutSpec;
  phase: RolloutPhase;
  /** Index into spec.steps of the weight in force; -1 before the first. */
  step: number;
  stepStartedMs: number;
  /** Failed analysis checks in a row. */
  failedChecks: number;
  /** The route revision this controller last wrote (or adopted); any other means someone else changed it. */
  revision: number;
  /** Why it paused, ended, or the last check failed. */
  reason: string;
}

export type RolloutEvent =
  | { kind: "step"; weight: number }
  | { kind: "check_failed"; failedChecks: number; reason: string }
  | { kind: "paused"; reason: string }
  | { kind: "resumed" }
  | { kind: "promoted" }
  | { kind: "rolled_back"; reason: string }
  | { kind: "aborted" };

export function initialRolloutState(spec: RolloutSpec, route: RouteSnapshot, nowMs: number): RolloutState {
  return { spec, phase: "progressing", step: -1, stepStartedMs: nowMs, failedChecks: 0, revision: route.revision, reason: "" };
}

/**
 * Moves a rollout along through the router, one `tick` at a time: the first
 * step's weight at once, then after each step interval an analysis check;
 * a pass moves to the next weight (and promotes after 100 %), `threshold`
 * failures in a row roll back to the baseline. Every write is a
 * compare-and-set on the revision this controller last saw, so a manual
 * route change is never overwritten: the rollout pauses instead.
 */
export class RolloutController {
  constructor(private readonly routes: RouteControl) {}

  async tick(state: RolloutState, nowMs: number, metrics: StepMetrics | undefined): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    if (state.phase !== "progressing") return { state, events: [] };
    const { spec } = state;
    const route = await this.routes.getRoute(spec.model);
    if (!route) return this.pause(state, `the route of ${spec.model} is gone`);
    if (route.revision !== state.revision) return this.pause(state, `the route of ${spec.model} was changed by someone else (revision ${state.revision} → ${route.revision})`);

    if (state.step === -1) return this.moveTo(state, 0, nowMs);
    if (nowMs - state.stepStartedMs < spec.stepIntervalMs) return { state, events: [] };

    const judged = judgeStep(spec, metrics, nowMs - state.stepStartedMs);
    if (judged.verdict === "wait") return { state, events: [] };
    if (judged.verdict === "pass") {
      if (spec.steps[state.step] === 100) {
        await this.routes.moveAlias(spec.model, spec.alias, spec.candidate);
        return { state: { ...state, phase: "promoted", failedChecks: 0, reason: "" }, events: [{ kind: "promoted" }] };
      }
      return this.moveTo({ ...state, failedChecks: 0 }, state.step + 1, nowMs);
    }
    const failure = judged.reason;
    const failedChecks = state.failedChecks + 1;
    const events: RolloutEvent[] = [{ kind: "check_failed", failedChecks, reason: failure }];
    if (failedChecks < spec.failureThreshold) {
      // Check again after another interval at the same weight.
      return { state: { ...state, failedChecks, stepStartedMs: nowMs, reason: failure }, events };
    }
    const back = await this.backToBaseline(state, "rolled_back", `${failedChecks} failed checks in a row; last: ${failure}`);
    return { state: back.state, events: [...events, ...back.events] };
  }

  pause(state: RolloutState, reason = "paused by request"): { state: RolloutState; events: RolloutEvent[] } {
    if (state.phase !== "progressing") return { state, events: [] };
    return { state: { ...state, phase: "paused", reason }, events: [{ kind: "paused", reason }] };
  }

  /**
   * Continues a paused rollout from where the route is now: its revision is
   * adopted, and the current step's weight written again over any manual change.
   */
  async resume(state: RolloutState, nowMs: number): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    if (state.phase !== "paused") return { state, events: [] };
    const route = await this.routes.getRoute(state.spec.model);
    if (!route) return { state: { ...state, reason: `the route of ${state.spec.model} is gone` }, events: [] };
    const resumed: RolloutState = { ...state, phase: "progressing", revision: route.revision, reason: "" };
    if (resumed.step === -1) return { state: resumed, events: [{ kind: "resumed" }] };
    const moved = await this.moveTo(resumed, resumed.step, nowMs);
    return { state: moved.state, events: [{ kind: "resumed" }, ...moved.events] };
  }

  /** Sends all traffic back to the baseline and ends the rollout. */
  async abort(state: RolloutState): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    if (state.phase !== "progressing" && state.phase !== "paused") return { state, events: [] };
    const route = await this.routes.getRoute(state.spec.model);
    return this.backToBaseline({ ...state, revision: route?.revision ?? state.revision }, "aborted", "aborted by request");
  }

  private async moveTo(state: RolloutState, step: number, nowMs: number): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    const weight = state.spec.steps[step]!;
    const result = await this.routes.setWeights(state.spec.model, splitWeights(state.spec, weight), state.revision);
    if ("conflict" in result) return this.pause(state, `the route of ${state.spec.model} was changed by someone else (now revision ${result.conflict.revision})`);
    return { state: { ...state, step, stepStartedMs: nowMs, revision: result.revision }, events: [{ kind: "step", weight }] };
  }

  private async backToBaseline(state: RolloutState, phase: "rolled_back" | "aborted", reason: string): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    const result = await this.routes.setWeights(state.spec.model, splitWeights(state.spec, 0), state.revision);
    if ("conflict" in result) return this.pause(state, `could not roll back: the route of ${state.spec.model} was changed by someone else (now revision ${result.conflict.revision})`);
    const event: RolloutEvent = phase === "aborted" ? { kind: "aborted" } : { kind: "rolled_back", reason };
    return { state: { ...state, phase, revision: result.revision, reason }, events: [event] };
  }
}

/** The route's weights with `candidate` at `weight` percent and the baseline taking the rest. */
export function splitWeights(spec: RolloutSpec, weight: number): Record<number, number> {
  return { [spec.baseline]: 100 - weight, [spec.candidate]: weight };
}
