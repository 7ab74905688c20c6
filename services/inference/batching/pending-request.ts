import type { TensorMap } from "../tensor/index.js";
import type { ConnectError } from "../../../libs/errors/index.js";
import type { BatchQueue, QueuedRequest } from "./batch-queue.js";
import type { RunTimes } from "./batch-stats.js";
import type { BatchSlice } from "./next-batch.js";

export interface BatchResult {
  /** This request's rows of every output. */
  readonly outputs: TensorMap;
  /** From submit() to the start of its (first) run, µs. */
  readonly queueUs: number;
  /** Time of the run(s) it was part of, µs. */
  readonly computeUs: number;
  /** Rows the model saw in its (largest) run, padding included. */
  readonly batchSize: number;
  /** The batcher's number of the (last) run it was in, from 1. */
  readonly batchId: number;
}

/**
 * A submitted request's state between submit() and its answer: the
 * driver's payload on the queue. @internal to the batcher.
 */
export interface PendingRequest {
  readonly inputs: TensorMap;
  readonly resolve: (result: BatchResult) => void;
  readonly reject: (error: ConnectError) => void;
  /** Answered: later results for it are dropped. */
  settled: boolean;
  /** Removes the abort listener. */
  detach: () => void;
  /** Outputs of its slices so far (one unless split over runs). */
  readonly pieces: { start: number; outputs: TensorMap }[];
  rowsDone: number;
  firstRunUs: number | undefined;
  computeUs: number;
  batchSize: number;
  /** The batcher's number for the last run this request was in (a span attribute). */
  batchId: number;
  readonly times: { inputUs: number; inferUs: number; outputUs: number };
}

export type QueuedPending = QueuedRequest<PendingRequest>;
export type PendingSlice = BatchSlice<PendingRequest>;

export function createPending(
  inputs: TensorMap,
  resolve: (result: BatchResult) => void,
  reject: (error: ConnectError) => void,
): PendingRequest {
  return {
    inputs,
    resolve,
    reject,
    settled: false,
    detach: () => {},
    pieces: [],
    rowsDone: 0,
    firstRunUs: undefined,
    computeUs: 0,
    batchSize: 0,
    batchId: 0,
    times: { inputUs: 0, inferUs: 0, outputUs: 0 },
  };
}

/** Adds one run's time to each unanswered request that was in it. */
export function chargeRun(slices: readonly PendingSlice[], batchSize: number, times: RunTimes): void {
  const runUs = times.inputUs + times.inferUs + times.outputUs;
  for (const s of slices) {
    const p = s.request.payload;
    if (p.settled) continue;
    p.computeUs += runUs;
    p.batchSize = Math.max(p.batchSize, batchSize);
    p.times.inputUs += times.inputUs;
    p.times.inferUs += times.inferUs;
    p.times.outputUs += times.outputUs;
  }
}

/** Marks a request answered and takes any rows it still has out of the queue (an oversized request's). */
export function settle(queue: BatchQueue<PendingRequest>, request: QueuedPending): void {
  const p = request.payload;
  p.settled = true;
  p.detach();
  queue.remove(request.id);
}
