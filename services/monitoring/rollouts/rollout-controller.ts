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
  /**
   * A route write decided and stored before the router is asked: a process
   * that dies between the router's write and its own state write leaves
   * this, and the next tick finishes it (adopts the route if the write
   * landed, makes it if not) instead of taking its own write for a manual
   * change. `next` is the state once written, its revision filled in then.
   */
  pending?: { weights: Record<number, number>; next: RolloutState; events: RolloutEvent[] };
}

/** Stores a state before the route write it plans (the driver's compare-and-set write). */
export type PersistIntent = (planned: RolloutState) => Promise<void>;

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

  async tick(state: RolloutState, nowMs: number, metrics: StepMetrics | undefined, intend: PersistIntent = async () => {}): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    if (state.phase !== "progressing") return { state, events: [] };
    const { spec } = state;
    const route = await this.routes.getRoute(spec.model);
    if (!route) return this.pause(state, `the route of ${spec.model} is gone`);
    if (state.pending) return this.settle(state, route);
    if (route.revision !== state.revision) return this.pause(state, `the route of ${spec.model} was changed by someone else (revision ${state.revision} → ${route.revision})`);

    if (state.step === -1) return this.moveTo(state, 0, nowMs, intend);
    if (nowMs - state.stepStartedMs < spec.stepIntervalMs) return { state, events: [] };

    const judged = judgeStep(spec, metrics, nowMs - state.stepStartedMs);
    if (judged.verdict === "wait") return { state, events: [] };
    if (judged.verdict === "pass") {
      if (spec.steps[state.step] === 100) {
        await this.routes.moveAlias(spec.model, spec.alias, spec.candidate);
        return { state: { ...state, phase: "promoted", failedChecks: 0, reason: "" }, events: [{ kind: "promoted" }] };
      }
      return this.moveTo({ ...state, failedChecks: 0 }, state.step + 1, nowMs, intend);
    }
    const failure = judged.reason;
    const failedChecks = state.failedChecks + 1;
    const events: RolloutEvent[] = [{ kind: "check_failed", failedChecks, reason: failure }];
    if (failedChecks < spec.failureThreshold) {
      // Check again after another interval at the same weight.
      return { state: { ...state, failedChecks, stepStartedMs: nowMs, reason: failure }, events };
    }
    return this.backToBaseline({ ...state, failedChecks }, "rolled_back", `${failedChecks} failed checks in a row; last: ${failure}`, intend, events);
  }

  pause(state: RolloutState, reason = "paused by request"): { state: RolloutState; events: RolloutEvent[] } {
    if (state.phase !== "progressing") return { state, events: [] };
    return { state: { ...state, phase: "paused", reason }, events: [{ kind: "paused", reason }] };
  }

  /**
   * Continues a paused rollout from where the route is now: its revision is
   * adopted, and the current step's weight written again over any manual change.
   */
  async resume(state: RolloutState, nowMs: number, intend: PersistIntent = async () => {}): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    if (state.phase !== "paused") return { state, events: [] };
    const route = await this.routes.getRoute(state.spec.model);
    if (!route) return { state: { ...state, reason: `the route of ${state.spec.model} is gone` }, events: [] };
    // Paused while a write was pending: if it landed, the rollout is at that step.
    const landed = state.pending && sameWeights(route.weights, state.pending.weights) ? state.pending : undefined;
    const base: RolloutState = landed ? { ...landed.next, phase: state.phase } : { ...state };
    delete base.pending;
    const resumed: RolloutState = { ...base, phase: "progressing", revision: route.revision, reason: "" };
    const earlier = landed ? landed.events : [];
    if (resumed.step === -1) return { state: resumed, events: [...earlier, { kind: "resumed" }] };
    const moved = await this.moveTo(resumed, resumed.step, nowMs, intend);
    return { state: moved.state, events: [...earlier, { kind: "resumed" }, ...moved.events] };
  }

  /** Sends all traffic back to the baseline and ends the rollout. */
  async abort(state: RolloutState, intend: PersistIntent = async () => {}): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    if (state.phase !== "progressing" && state.phase !== "paused") return { state, events: [] };
    const route = await this.routes.getRoute(state.spec.model);
    const current: RolloutState = { ...state, revision: route?.revision ?? state.revision };
    delete current.pending;
    return this.backToBaseline(current, "aborted", "aborted by request", intend);
  }

  private moveTo(state: RolloutState, step: number, nowMs: number, intend: PersistIntent): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    const weight = state.spec.steps[step]!;
    return this.write(state, splitWeights(state.spec, weight), { ...state, step, stepStartedMs: nowMs }, [{ kind: "step", weight }], intend);
  }

  private backToBaseline(state: RolloutState, phase: "rolled_back" | "aborted", reason: string, intend: PersistIntent, before: RolloutEvent[] = []): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    const event: RolloutEvent = phase === "aborted" ? { kind: "aborted" } : { kind: "rolled_back", reason };
    return this.write(state, splitWeights(state.spec, 0), { ...state, phase, reason }, [...before, event], intend);
  }

  /** Stores the intent (`intend`), then writes the route and settles on what it answered. */
  private async write(state: RolloutState, weights: Record<number, number>, next: RolloutState, events: RolloutEvent[], intend: PersistIntent): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    const planned: RolloutState = { ...state, pending: { weights, next, events } };
    await intend(planned);
    return this.settle(planned, { revision: state.revision, weights: {} });
  }

  /**
   * Finishes a pending write. The route still at the revision the rollout
   * last wrote: the write had not landed, make it. At another revision with
   * exactly the pending weights: it landed (and the process that made it
   * died before saying so), adopt it. Anything else is someone else's change.
   */
  private async settle(state: RolloutState, route: RouteSnapshot): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
    const { pending } = state;
    if (!pending) return { state, events: [] };
    const before: RolloutState = { ...state };
    delete before.pending;
    const rollingBack = pending.next.phase !== "progressing";
    let revision: number;
    if (route.revision !== state.revision) {
      if (!sameWeights(route.weights, pending.weights)) return this.pause(before, `the route of ${state.spec.model} was changed by someone else (revision ${state.revision} → ${route.revision})`);
      revision = route.revision;
    } else {
      const result = await this.routes.setWeights(state.spec.model, pending.weights, state.revision);
      if ("conflict" in result) {
        if (!sameWeights(result.conflict.weights, pending.weights)) {
          return this.pause(before, `${rollingBack ? "could not roll back: " : ""}the route of ${state.spec.model} was changed by someone else (now revision ${result.conflict.revision})`);
        }
        revision = result.conflict.revision;
      } else revision = result.revision;
    }
    return { state: { ...pending.next, revision }, events: pending.events };
  }
}

function sameWeights(a: Readonly<Record<number, number>>, b: Readonly<Record<number, number>>): boolean {
  const versions = new Set([...Object.keys(a), ...Object.keys(b)].map(Number));
  return [...versions].every((v) => (a[v] ?? 0) === (b[v] ?? 0));
}

/** The route's weights with `candidate` at `weight` percent and the baseline taking the rest. */
export function splitWeights(spec: RolloutSpec, weight: number): Record<number, number> {
  return { [spec.baseline]: 100 - weight, [spec.candidate]: weight };
}
