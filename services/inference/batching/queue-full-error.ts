import type { ConnectError } from "../../../libs/errors/index.js";
import { resourceExhausted } from "../../../libs/errors/index.js";
import type { QueueFull } from "./batch-queue.js";

export interface QueueLoad {
  /** Rows waiting. */
  readonly queuedRows: number;
  /** Most rows in one run (0: no limit, as with batching off). */
  readonly maxBatchSize: number;
  /** Mean time of one run so far, µs; undefined before the first. */
  readonly meanRunUs: number | undefined;
  /** Runs that go on at once. */
  readonly instances: number;
}

/** Retry hints stay in this range: sooner is a busy loop, later is a guess. */
const minRetryMs = 10;
const maxRetryMs = 10_000;
/** Before any run has been timed, guess this much per run. */
const unknownRunUs = 10_000;

/**
 * How long until the queue has likely drained enough to take a request: the
 * runs still queued, times a run's mean duration, over the instances.
 */
export function suggestRetryMs(load: QueueLoad): number {
  const perRun = load.maxBatchSize > 0 ? load.maxBatchSize : 1;
  const runs = Math.max(1, Math.ceil(load.queuedRows / perRun));
  const ms = (runs * (load.meanRunUs ?? unknownRunUs)) / Math.max(1, load.instances) / 1000;
  return Math.round(Math.min(maxRetryMs, Math.max(minRetryMs, ms)));
}

/**
 * RESOURCE_EXHAUSTED for a full queue, with the suggested delay in the
 * message and in the `grpc-retry-pushback-ms` metadata, which gRPC clients
 * with a retry policy honour (gRFC A6).
 */
export function queueFullError(full: QueueFull, priority: number, retryMs: number): ConnectError {
  const what = full.scope === "model" ? `the model's queue is full (${full.limit} requests waiting)` : `the queue for priority ${priority} is full (${full.limit} requests waiting)`;
  const err = resourceExhausted(
    `${what}; retry in about ${retryMs} ms, send to another replica, or raise batching.max_queue_size if the replica has headroom`,
  );
  err.metadata.set("grpc-retry-pushback-ms", String(retryMs));
  return err;
}
