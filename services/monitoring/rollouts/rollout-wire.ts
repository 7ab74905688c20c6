import { create } from "@bufbuild/protobuf";
import {
  RolloutAnalysisSchema,
  RolloutPhase as WirePhase,
  RolloutSchema,
  type Rollout,
  type StartRolloutRequest,
} from "../../../libs/gen/tessera/monitoring/v1/rollouts_pb.js";
import type { RolloutPhase, RolloutState } from "./rollout-controller.js";
import { checkRolloutSpec, type RolloutSpec } from "./rollout-spec.js";
import { DEFAULT_INCONCLUSIVE_LIMIT } from "./step-analysis.js";

export const DEFAULT_STEPS = [10, 25, 50, 100];
export const DEFAULT_STEP_INTERVAL_MS = 60_000;

const PHASES: Record<RolloutPhase, WirePhase> = {
  progressing: WirePhase.PROGRESSING,
  paused: WirePhase.PAUSED,
  promoted: WirePhase.PROMOTED,
  rolled_back: WirePhase.ROLLED_BACK,
  aborted: WirePhase.ABORTED,
};

/** The spec a StartRollout asks for, defaults filled in and checked (INVALID_ARGUMENT naming the field). */
export function rolloutSpecFrom(request: StartRolloutRequest, baseline: number): RolloutSpec {
  const a = request.analysis;
  const interval = Number(request.stepIntervalMs);
  return checkRolloutSpec({
    model: request.model,
    baseline,
    candidate: request.candidate,
    steps: request.steps.length > 0 ? [...request.steps] : DEFAULT_STEPS,
    stepIntervalMs: interval === 0 ? DEFAULT_STEP_INTERVAL_MS : interval,
    analysis: {
      minRequests: a?.minRequests || 20,
      minSuccessRate: a?.minSuccessRate || 0.99,
      maxP99Ms: a?.maxP99Ms || 500,
      noDriftAlarm: !(a?.ignoreDrift ?? false),
      inconclusiveLimit: a?.inconclusiveLimit ?? DEFAULT_INCONCLUSIVE_LIMIT,
    },
    failureThreshold: a?.failureThreshold || 2,
    alias: request.alias || "production",
  });
}

export function toWireRollout(state: RolloutState): Rollout {
  const { spec } = state;
  return create(RolloutSchema, {
    model: spec.model,
    baseline: spec.baseline,
    candidate: spec.candidate,
    steps: spec.steps,
    stepIntervalMs: BigInt(spec.stepIntervalMs),
    analysis: create(RolloutAnalysisSchema, {
      minSuccessRate: spec.analysis.minSuccessRate,
      maxP99Ms: spec.analysis.maxP99Ms,
      ignoreDrift: !spec.analysis.noDriftAlarm,
      minRequests: spec.analysis.minRequests,
      failureThreshold: spec.failureThreshold,
      inconclusiveLimit: spec.analysis.inconclusiveLimit ?? DEFAULT_INCONCLUSIVE_LIMIT,
    }),
    alias: spec.alias,
    phase: PHASES[state.phase],
    weight: state.phase === "promoted" ? 100 : state.phase === "rolled_back" || state.phase === "aborted" || state.step < 0 ? 0 : spec.steps[state.step]!,
    failedChecks: state.failedChecks,
    reason: state.reason,
    routeRevision: BigInt(state.revision),
  });
}
