import type { BatchQueue, QueuedRequest } from "./batch-queue.js";
import type { BatchingOptions } from "../../../libs/batching/index.js";

/** A request taken out of the queue without running: why, so the driver can answer it. */
export interface ExpiredRequest<T = unknown> {
  readonly request: QueuedRequest<T>;
  /** cancelled: its signal aborted; deadline: its caller's deadline passed; timeout: its queue timeout passed under "reject". */
  readonly reason: "cancelled" | "deadline" | "timeout";
}

export interface SweepResult<T> {
  readonly expired: ExpiredRequest<T>[];
  /** The next time a queued request's deadline or queue timeout passes, µs; undefined: none. */
  readonly nextEventUs: number | undefined;
}

/**
 * Takes cancelled and expired requests out of the queue and demotes those
 * whose queue timeout passed under the "delay" policy. Run before every cut,
 * so a request past its deadline never reaches the model.
 */
export function sweepExpired<T>(queue: BatchQueue<T>, nowUs: number, options: BatchingOptions): SweepResult<T> {
  const expired: ExpiredRequest<T>[] = [];
  // Infinity, not undefined, while walking: one comparison per request instead of a closure call.
  let next = Number.POSITIVE_INFINITY;
  const soonest = (t: number | undefined) => {
    if (t !== undefined && t < next) next = t;
  };
  for (const request of queue) {
    if (request.signal?.aborted) {
      queue.remove(request.id);
      expired.push({ request, reason: "cancelled" });
    } else if (request.deadlineUs !== undefined && request.deadlineUs <= nowUs) {
      queue.remove(request.id);
      expired.push({ request, reason: "deadline" });
    } else if (request.timeoutAtUs !== undefined && request.timeoutAtUs <= nowUs && !queue.isDemoted(request.id)) {
      if (options.queuePolicies[request.priority - 1]?.timeoutAction === "delay") {
        queue.demote(request.id);
        soonest(request.deadlineUs);
      } else {
        queue.remove(request.id);
        expired.push({ request, reason: "timeout" });
      }
    } else {
      if (request.deadlineUs !== undefined && request.deadlineUs < next) next = request.deadlineUs;
      if (request.timeoutAtUs !== undefined && request.timeoutAtUs < next && !queue.isDemoted(request.id)) next = request.timeoutAtUs;
    }
  }
  return { expired, nextEventUs: next === Number.POSITIVE_INFINITY ? undefined : next };
}
