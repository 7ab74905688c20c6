import type { HostTensor, TensorMap } from "../tensor/index.js";
import { Code, failedPrecondition, toConnectError, type ConnectError } from "../../../libs/errors/index.js";
import type { Logger } from "../../../libs/log/index.js";
import type { BatchStatsRecorder } from "./batch-stats.js";
import type { BatchingOptions } from "../../../libs/batching/index.js";
import type { Clock } from "./clock.js";
import { concatTensorMaps } from "./concat-rows.js";
import { paddedSize } from "./padded-size.js";
import { chargeRun, type PendingSlice, type QueuedPending } from "./pending-request.js";
import { sliceTensorMap, splitTensorMap } from "./split-rows.js";

/** What one run gave back. */
export interface ExecutedBatch {
  readonly outputs: TensorMap;
  /**
   * µs of the run's time that it spent waiting for its turn behind other
   * runs given at once (runs on the event loop take turns): charged as
   * queue time, not compute. Default 0.
   */
  readonly waitedUs?: number;
}

/** Runs the model once on `rows` rows (dimension 0 of every input and output). */
export type ExecuteBatch = (inputs: TensorMap, rows: number) => Promise<ExecutedBatch>;

/** What a run needs from the driver. @internal to the batcher. */
export interface RunContext {
  readonly execute: ExecuteBatch;
  readonly options: BatchingOptions;
  readonly clock: Clock;
  readonly stats: BatchStatsRecorder;
  readonly logger: Logger;
  /** Hands a slice its rows of the outputs. */
  deliver(slice: PendingSlice, outputs: TensorMap): void;
  /** Answers a request with an error. */
  fail(request: QueuedPending, error: ConnectError): void;
}

/**
 * Errors that say nothing about the rows (the runtime is gone, the call was
 * cut short): re-running halves of the batch would only fail again.
 */
const notAboutTheRows: ReadonlySet<Code> = new Set([
  Code.Canceled,
  Code.Aborted,
  Code.DeadlineExceeded,
  Code.Unavailable,
  Code.Unimplemented,
  Code.Unauthenticated,
  Code.PermissionDenied,
]);

/**
 * Stacks the slices' rows (plus padding), runs the model, cuts the outputs
 * back per slice. When the run fails and several requests were in it, and
 * isolateFailures is on, runs each half again (recursively), so only the
 * requests that fail on their own get the error. Answers every slice.
 */
export async function runBatch(ctx: RunContext, slices: readonly PendingSlice[], padRows: number): Promise<void> {
  const failure = await runOnce(ctx, slices, padRows);
  if (!failure) return;
  const live = slices.filter((s) => !s.request.payload.settled);
  if (!ctx.options.isolateFailures || failure.systemic || live.length <= 1) {
    for (const s of live) ctx.fail(s.request, failure.error);
    return;
  }
  ctx.logger.warn("a batch failed; re-running its requests in halves to find which fail on their own", {
    requests: live.length,
    error: failure.error.message,
  });
  const mid = Math.ceil(live.length / 2);
  for (const half of [live.slice(0, mid), live.slice(mid)]) {
    // A request may have been cancelled while the other half ran.
    const halfLive = half.filter((s) => !s.request.payload.settled);
    if (halfLive.length === 0) continue;
    const rows = halfLive.reduce((n, s) => n + s.rows, 0);
    ctx.stats.count("isolationRuns");
    await runBatch(ctx, halfLive, paddedSize(rows, ctx.options) - rows);
  }
}

/** One model run; delivers its results on success, returns the error otherwise. */
async function runOnce(
  ctx: RunContext,
  slices: readonly PendingSlice[],
  padRows: number,
): Promise<{ error: ConnectError; systemic: boolean } | undefined> {
  const { clock } = ctx;
  const total = slices.reduce((n, s) => n + s.rows, 0) + padRows;
  const t0 = clock.now();
  for (const s of slices) s.request.payload.firstRunUs ??= t0;
  const only = slices.length === 1 && padRows === 0 ? slices[0] : undefined;
  // One whole request: its own tensors go in and the model's come out, no copies.
  const alone = only !== undefined && only.rows === only.request.rows;
  const record = (inputUs: number, inferUs: number, outputUs: number) => {
    const times = { inputUs, inferUs, outputUs };
    ctx.stats.recordRun(total, times, clock.wallMs());
    chargeRun(slices, total, times);
  };

  let inputs: TensorMap;
  try {
    inputs = alone && only ? only.request.payload.inputs : concatTensorMaps(slices.map(sliceInputs), padRows);
  } catch (err) {
    return { error: toConnectError(err), systemic: true };
  }
  const t1 = clock.now();
  let outputs: TensorMap;
  let waitedUs = 0;
  try {
    const executed = await ctx.execute(inputs, total);
    outputs = executed.outputs;
    waitedUs = executed.waitedUs ?? 0;
  } catch (err) {
    record(t1 - t0, clock.now() - t1, 0);
    const error = toConnectError(err);
    return { error, systemic: notAboutTheRows.has(error.code) };
  }
  // The run started once its turn came: the wait before it was queueing.
  if (waitedUs > 0) for (const s of slices) if (s.request.payload.firstRunUs === t0) s.request.payload.firstRunUs = t0 + waitedUs;
  const t2 = clock.now();
  const inferUs = Math.max(0, t2 - t1 - waitedUs);
  let pieces: TensorMap[];
  try {
    checkOutputRows(outputs, total);
    pieces = alone ? [outputs] : splitTensorMap(outputs, slices.map((s) => s.rows));
  } catch (err) {
    record(t1 - t0, inferUs, 0);
    return { error: toConnectError(err), systemic: true };
  }
  record(t1 - t0, inferUs, clock.now() - t2);
  slices.forEach((s, i) => {
    const piece = pieces[i];
    if (piece) ctx.deliver(s, piece);
  });
  return undefined;
}

function sliceInputs(slice: PendingSlice): TensorMap {
  const inputs = slice.request.payload.inputs;
  return slice.start === 0 && slice.rows === slice.request.rows ? inputs : sliceTensorMap(inputs, slice.start, slice.rows);
}

function checkOutputRows(outputs: TensorMap, rows: number): void {
  for (const [name, tensor] of outputs as ReadonlyMap<string, HostTensor>) {
    if (tensor.shape[0] !== rows) {
      throw failedPrecondition(
        `the model returned output '${name}' with shape [${tensor.shape.join(",")}] for a batch of ${rows} rows; a batched model's outputs must keep the batch as their first dimension — turn batching off for this model`,
      );
    }
  }
}
