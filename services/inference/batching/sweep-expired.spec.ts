import { describe, expect, it } from "vitest";
import { BatchQueue, type QueuedRequest } from "./batch-queue.js";
import { resolveBatchingOptions } from "../../../libs/batching/index.js";
import { sweepExpired } from "./sweep-expired.js";

const req = (id: number, extra: Partial<QueuedRequest<null>> = {}): QueuedRequest<null> => ({
  id,
  rows: 1,
  priority: 1,
  key: "k",
  enqueuedUs: 0,
  payload: null,
  ...extra,
});

describe("sweepExpired()", () => {
  const options = resolveBatchingOptions(undefined, { queuePolicies: { 2: { timeoutAction: "delay" } } });

  it("takes out cancelled, past-deadline and timed-out requests, demotes under DELAY, and reports the next event", () => {
    const queue = new BatchQueue<null>(2);
    queue.push(req(1, { signal: AbortSignal.abort() }));
    queue.push(req(2, { deadlineUs: 100 }));
    queue.push(req(3, { timeoutAtUs: 100 }));
    queue.push(req(4, { timeoutAtUs: 100, priority: 2, deadlineUs: 900 }));
    queue.push(req(5, { timeoutAtUs: 500, deadlineUs: 700 }));
    const { expired, nextEventUs } = sweepExpired(queue, 100, options);
    expect(expired.map((e) => [e.request.id, e.reason])).toEqual([
      [1, "cancelled"],
      [2, "deadline"],
      [3, "timeout"],
    ]);
    expect(queue.isDemoted(4)).toBe(true);
    expect([...queue].map((r) => r.id)).toEqual([5, 4]);
    expect(nextEventUs).toBe(500);
  });

  it("reports nothing for a queue with no deadlines or timeouts", () => {
    const queue = new BatchQueue<null>(2);
    queue.push(req(1));
    expect(sweepExpired(queue, 1e9, options)).toEqual({ expired: [], nextEventUs: undefined });
  });
});
