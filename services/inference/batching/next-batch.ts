import type { BatchQueue, QueuedRequest } from "./batch-queue.js";
import type { BatchingOptions } from "../../../libs/batching/index.js";
import { paddedSize } from "./padded-size.js";
import { sweepExpired, type ExpiredRequest } from "./sweep-expired.js";

/** Rows [start, start + rows) of one request, as they go into one run. */
export interface BatchSlice<T = unknown> {
  readonly request: QueuedRequest<T>;
  readonly start: number;
  readonly rows: number;
}

export type BatchDecision<T = unknown> =
  /** Run these slices together now; append padRows copies of the last row. */
  | { readonly kind: "run"; readonly slices: readonly BatchSlice<T>[]; readonly rows: number; readonly padRows: number }
  /** Nothing to run yet; ask again at untilUs (µs) or when a request arrives. */
  | { readonly kind: "wait"; readonly untilUs: number }
  /** The queue is empty. */
  | { readonly kind: "idle" };

export interface NextBatch<T> {
  readonly decision: BatchDecision<T>;
  /** Requests taken out without running; answer each (CANCELLED / DEADLINE_EXCEEDED). */
  readonly expired: readonly ExpiredRequest<T>[];
}

export interface CutHints {
  /**
   * How long a run is expected to take, µs (e.g. a moving average). A batch
   * is cut early enough for its most urgent request to finish, and its
   * answer to get back, before its deadline instead of waiting out
   * max_queue_delay and missing it.
   * Default (nothing measured yet): 1000 µs.
   */
  readonly runUs?: number | undefined;
}

const unmeasuredRunUs = 1000;
/**
 * Time left after the run for the answer to reach its caller: it is encoded,
 * sent and carried back, and the caller's clock started before ours (our
 * deadline is taken from its timeout on arrival). A batch cut with only the
 * run's time left answers after the caller has given up.
 */
const replyAllowanceUs = 1000;

/**
 * Decides what an idle model instance should do now, taking what it decides
 * out of the queue. The head request (highest priority, oldest) always goes
 * into the batch, so no request waits behind others forever; after it come
 * the queued requests with the same batchKey, in serving order, each whole
 * if it fits (first fit), an oversized one split to fill the batch. Cut:
 *   1. when the rows reach a preferred size: at the largest one reached;
 *   2. when they reach max_batch_size;
 *   3. when they pass the largest preferred size (no preferred size is reachable any more);
 *   4. when the oldest request in the batch has waited max_queue_delay, or
 *      sooner if waiting longer would miss a batched request's deadline
 *      (its run and its reply's trip back must fit before it).
 * Requests of another batchKey stay queued; one becomes head when those
 * ahead of it have run. Batching off: the head runs alone, at once.
 */
export function nextBatch<T>(queue: BatchQueue<T>, nowUs: number, options: BatchingOptions, hints: CutHints = {}): NextBatch<T> {
  const { expired, nextEventUs } = sweepExpired(queue, nowUs, options);
  const head = queue.head();
  if (!head) return { decision: { kind: "idle" }, expired };
  const cap = options.maxBatchSize > 0 ? options.maxBatchSize : Number.POSITIVE_INFINITY;

  if (!options.enabled) {
    return { decision: cut(queue, [{ request: head, rows: Math.min(queue.remaining(head.id), cap) }], options), expired };
  }

  const preferred = options.preferredBatchSizes;
  const largestPreferred = preferred[preferred.length - 1] ?? 0;
  const picks: Pick<T>[] = [];
  let rows = 0;
  let preferredPicks = 0;
  for (const request of queue) {
    if (rows >= cap) break;
    if (request.key !== head.key) continue;
    const remaining = queue.remaining(request.id);
    // Only an oversized request (admitted because split_oversized is on) is split.
    const take = request.rows > cap ? Math.min(remaining, cap - rows) : remaining;
    if (rows + take > cap) continue;
    picks.push({ request, rows: take });
    rows += take;
    if (preferred.includes(rows)) preferredPicks = picks.length;
  }

  if (preferredPicks > 0) return { decision: cut(queue, picks.slice(0, preferredPicks), options), expired };
  if (rows >= cap || (largestPreferred > 0 && rows > largestPreferred)) {
    return { decision: cut(queue, picks, options), expired };
  }
  // As Triton: the delay runs from the oldest request of this batch. One of another shape,
  // a lower priority or one that does not fit waits its own turn, not every batch's.
  let cutAtUs = Number.POSITIVE_INFINITY;
  const runUs = hints.runUs ?? unmeasuredRunUs;
  for (const pick of picks) {
    cutAtUs = Math.min(cutAtUs, pick.request.enqueuedUs + options.maxQueueDelayUs);
    if (pick.request.deadlineUs !== undefined) cutAtUs = Math.min(cutAtUs, pick.request.deadlineUs - runUs - replyAllowanceUs);
  }
  if (nowUs >= cutAtUs) return { decision: cut(queue, picks, options), expired };
  return { decision: { kind: "wait", untilUs: Math.min(cutAtUs, nextEventUs ?? cutAtUs) }, expired };
}

interface Pick<T> {
  readonly request: QueuedRequest<T>;
  readonly rows: number;
}

function cut<T>(queue: BatchQueue<T>, picks: readonly Pick<T>[], options: BatchingOptions): BatchDecision<T> {
  const slices = picks.map((p) => ({ request: p.request, start: queue.take(p.request.id, p.rows), rows: p.rows }));
  const rows = picks.reduce((n, p) => n + p.rows, 0);
  return { kind: "run", slices, rows, padRows: paddedSize(rows, options) - rows };
}
