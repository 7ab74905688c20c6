import { ConnectError, failedPrecondition } from "../../../libs/errors/index.js";
import type { Signature } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { AbortLike } from "../../../libs/host/index.js";
import type { Logger } from "../../../libs/log/index.js";
import { DynamicBatcher, type BatcherStats, type BatchingOptions } from "../batching/index.js";
import type { TensorMap } from "../tensor/index.js";
import type { Device } from "./device.js";
import { modelBytes } from "./model-size.js";
import { OrtExecutor } from "./ort-executor.js";
import type { ModelSource, SessionPlacement } from "./session.js";
import type { SessionTuning } from "./session-options.js";
import {
  choosePlacement,
  EVENT_LOOP_MAX_MODEL_BYTES,
  EVENT_LOOP_MAX_RUN_US,
  PLACEMENT_TIMING_RUNS,
  PLACEMENT_WARM_MS,
  PLACEMENT_WARM_RUNS,
  placementBeforeTiming,
  runsPerSession,
  type PlacementChoice,
  type PlacementSetting,
} from "./session-placement.js";
import { DEFAULT_DRAIN_GRACE_MS } from "./drain-grace.js";
import { warmUpBatchSizes, warmUpInputs } from "./warm-up.js";

export interface InferRequest {
  readonly inputs: TensorMap;
  /** Rows in the request (dimension 0 of every input), from validateInputs(). */
  readonly rows: number;
  /** 1 is served first; undefined or 0: the model's default. */
  readonly priority?: number;
  /** Longest wait in the queue, µs; honoured where the model allows it. */
  readonly queueTimeoutUs?: number;
  /** When the caller stops waiting, epoch ms. */
  readonly deadline?: number;
  /** The caller's end: aborted, the request leaves the queue answered CANCELLED. */
  readonly signal?: AbortLike;
}

export interface InferResult {
  /** This request's rows of every output, in the model's output order. */
  readonly outputs: TensorMap;
  readonly queueUs: number;
  readonly computeUs: number;
  /** Rows in the run this request was part of. */
  readonly batchSize: number;
  /** Which run of the version's batcher answered it (the last, when split over runs); per batcher, from 1. */
  readonly batchId?: number;
}

/**
 * The one way a replica runs a model version: every request, batched or not,
 * goes through the version's DynamicBatcher onto its ONNX Runtime sessions.
 */
export interface ModelRunner {
  infer(request: InferRequest): Promise<InferResult>;
  /** Requests waiting in the queue. */
  readonly queueDepth: number;
  readonly instanceCount: number;
  readonly batching: BatchingOptions;
  /** Where the version's sessions run, and why (logged at load, in metrics and ListServedModels). */
  readonly placement: PlacementChoice;
  stats(): BatcherStats;
  /**
   * Stops taking requests and runs what is queued, for at most the drain
   * grace period; then answers whatever is still queued or running with
   * UNAVAILABLE and ends the session threads. Frees the sessions.
   */
  release(): Promise<void>;
  /** @internal Test faults on the version's sessions (see OrtExecutor; hang needs thread placement). */
  readonly faults: {
    crashSession(which?: "running" | "any"): Promise<void>;
    hangSessions(): void;
    readonly liveSessions: number;
  };
}

export interface ModelRunnerOptions {
  /** The model file's path (ModelCache), or its bytes. */
  readonly model: ModelSource;
  readonly signature: Signature;
  readonly batching: BatchingOptions;
  readonly device: Device;
  readonly tuning: SessionTuning;
  readonly instanceCount: number;
  /** "fraud@3", for messages and logs. */
  readonly label: string;
  readonly logger: Logger;
  /**
   * Longest release() waits for queued and running requests before it cuts
   * them (UNAVAILABLE) and ends the session threads, ms. Default 10 s.
   */
  readonly drainGraceMs?: number;
  /** The sessions all died and could not be replaced: take the version out of service. */
  readonly onBroken?: (error: ConnectError) => void;
  /**
   * A request's inputs are read after its answer (prediction logs): copy
   * them to the session's thread instead of moving them. Default false.
   */
  readonly keepRequestInputs?: boolean;
  /** Where the sessions run; "auto" picks per version (session-placement.ts). Default "auto". */
  readonly placement?: PlacementSetting;
}

/**
 * Creates the sessions where they are to run, warms each one up at the
 * usual batch sizes (zero inputs shaped from the signature), and puts the
 * batcher in front. Resolves only when the version can answer its first
 * request at full speed.
 *
 * Placement "auto", when a small model on the CPU with one session might
 * run on the event loop: its sessions start on threads (a model is never
 * run on the loop before it is known to be fast), the warmed session times
 * a few runs at the largest warm-up batch on its thread, and if their lower
 * quartile is under the bound a session is loaded and warmed on the event
 * loop and the threaded one released.
 */
export async function createModelRunner(options: ModelRunnerOptions): Promise<ModelRunner> {
  const setting = options.placement ?? "auto";
  const sizes = warmUpBatchSizes(options.signature, options.batching);
  const inputs = {
    setting,
    device: options.device,
    instanceCount: options.instanceCount,
    modelBytes: setting === "auto" ? await modelBytes(options.model, EVENT_LOOP_MAX_MODEL_BYTES) : undefined,
  };
  let choice = placementBeforeTiming(inputs);
  let executor = await warmedExecutor(options, choice?.placement ?? "thread", sizes);
  if (!choice) {
    const rows = sizes[sizes.length - 1] ?? 1;
    let runsUs: number[];
    try {
      runsUs = await timeRuns(executor, warmUpInputs(options.signature, rows));
    } catch (error) {
      await executor.release(options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS);
      throw warmUpFailed(options.label, rows, error);
    }
    choice = choosePlacement({ ...inputs, runsUs, rows });
    if (choice.placement === "event-loop") {
      try {
        const onLoop = await warmedExecutor(options, "event-loop", sizes);
        await executor.release(options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS);
        executor = onLoop;
      } catch (error) {
        // It loaded and ran on a thread: keep serving from there rather than fail the version.
        const message = error instanceof ConnectError ? error.rawMessage : String(error);
        options.logger.warn("could not load the version on the event loop; its session stays on a thread", { model: options.label, error: message });
        choice = { placement: "thread", reason: `${choice.reason}; but it failed on the event loop (${message}), so threads`, runUs: choice.runUs };
      }
    }
  }
  const placement = choice;
  options.logger.info("session placement", { model: options.label, placement: placement.placement, reason: placement.reason, ...(placement.runUs !== undefined && { runUs: Math.round(placement.runUs) }) });
  const batcher = new DynamicBatcher({
    options: options.batching,
    // Unless a request's inputs are read after its answer (keepRequestInputs),
    // nothing reads a run's inputs afterwards: move them, do not copy.
    execute: (inputs) => executor.runTimed(inputs, !options.keepRequestInputs),
    instances: executor.runsAtOnce,
    parallelRuns: executor.instanceCount,
    logger: options.logger,
  });
  let releasing: Promise<void> | undefined;
  return {
    infer: (request) => batcher.submit(request),
    get queueDepth() {
      return batcher.queueDepth;
    },
    instanceCount: executor.instanceCount,
    batching: options.batching,
    placement,
    stats: () => batcher.stats(),
    release: () =>
      (releasing ??= (async () => {
        const graceMs = options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS;
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          batcher.drain().then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
        ]);
        clearTimeout(timer);
        if (!drained) {
          options.logger.warn("drain grace period over; answering what is left with UNAVAILABLE", { model: options.label, graceMs, queued: batcher.queueDepth, running: batcher.inFlight });
          batcher.close(`${options.label} was unloaded before the request finished (drain grace period of ${graceMs} ms over); retry the request`);
        }
        // Runs that outlast the rest of the grace have their threads ended.
        await executor.release(Math.max(0, graceMs - (Date.now() - started)));
      })()),
    faults: {
      crashSession: (which) => executor.crashSession(which),
      hangSessions: () => executor.hangSessions(),
      get liveSessions() {
        return executor.liveSessions;
      },
    },
  };
}

/** An executor of this placement whose sessions have all run at every warm-up size; FAILED_PRECONDITION if one cannot. */
async function warmedExecutor(options: ModelRunnerOptions, placement: SessionPlacement, sizes: readonly number[]): Promise<OrtExecutor> {
  const executor = await OrtExecutor.create({
    model: options.model,
    device: options.device,
    tuning: options.tuning,
    instanceCount: options.instanceCount,
    placement,
    runsPerSession: runsPerSession(placement, options.batching.enabled),
    label: options.label,
    logger: options.logger,
    onBroken: options.onBroken,
  });
  try {
    for (const rows of sizes) {
      const inputs = warmUpInputs(options.signature, rows);
      // As many runs at once as sessions: each session gets one.
      await Promise.all(Array.from({ length: executor.instanceCount }, () => executor.run(inputs))).catch((error: unknown) => {
        throw warmUpFailed(options.label, rows, error);
      });
      options.logger.debug("warmed up", { model: options.label, rows, placement });
    }
  } catch (error) {
    // Warm-up runs of the other sessions may still be going: bounded like any release.
    await executor.release(options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS);
    throw error;
  }
  return executor;
}

/**
 * PLACEMENT_TIMING_RUNS runs' own times, one after another, after untimed
 * runs that warm the thread up; fewer once over three quarters are over the
 * bound (a slow model is not timed for long).
 */
async function timeRuns(executor: OrtExecutor, inputs: TensorMap): Promise<number[]> {
  const warmUntil = performance.now() + PLACEMENT_WARM_MS;
  for (let i = 0; i < PLACEMENT_WARM_RUNS && performance.now() < warmUntil; i++) await executor.run(inputs);
  const times: number[] = [];
  let over = 0;
  while (times.length < PLACEMENT_TIMING_RUNS && over <= (PLACEMENT_TIMING_RUNS * 3) / 4) {
    const [runUs = Number.NaN] = await executor.timeRuns(inputs, 1);
    times.push(runUs);
    if (!(runUs < EVENT_LOOP_MAX_RUN_US)) over++;
  }
  return times;
}

function warmUpFailed(label: string, rows: number, error: unknown): ConnectError {
  return failedPrecondition(`${label} failed its warm-up run (${rows} rows of zeros): ${error instanceof Error ? error.message : String(error)}; check the model runs on such inputs`, error);
}
