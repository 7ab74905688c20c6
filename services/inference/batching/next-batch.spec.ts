import { describe, expect, it } from "vitest";
import { BatchQueue, type QueuedRequest } from "./batch-queue.js";
import { resolveBatchingOptions, type BatchingOverrides } from "../../../libs/batching/index.js";
import { nextBatch, type BatchDecision } from "./next-batch.js";

interface Req {
  id: number;
  rows?: number;
  priority?: number;
  key?: string;
  at?: number;
  timeoutAt?: number;
  deadline?: number;
  signal?: AbortSignal;
}

const setup = (overrides: BatchingOverrides, reqs: Req[]) => {
  const options = resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 8, ...overrides });
  const queue = new BatchQueue<null>(options.priorityLevels);
  for (const r of reqs) {
    const q: QueuedRequest<null> = {
      id: r.id,
      rows: r.rows ?? 1,
      priority: r.priority ?? 1,
      key: r.key ?? "a",
      enqueuedUs: r.at ?? 0,
      timeoutAtUs: r.timeoutAt,
      deadlineUs: r.deadline,
      signal: r.signal,
      payload: null,
    };
    queue.push(q);
  }
  return { options, queue };
};

/** What a run decision holds, as [id, start, rows] triples. */
const slices = (d: BatchDecision<null>) => (d.kind === "run" ? d.slices.map((s) => [s.request.id, s.start, s.rows]) : d.kind);
const ones = (n: number, extra: Partial<Req> = {}) => Array.from({ length: n }, (_, i) => ({ id: i + 1, ...extra }));

describe("nextBatch()", () => {
  const cuts: { name: string; overrides: BatchingOverrides; reqs: Req[]; now: number; runUs?: number; want: unknown }[] = [
    {
      name: "cuts at once when the rows reach a preferred size",
      overrides: { preferredBatchSizes: [4] },
      reqs: ones(4),
      now: 0,
      want: [[1, 0, 1], [2, 0, 1], [3, 0, 1], [4, 0, 1]],
    },
    {
      name: "cuts at the largest preferred size reached",
      overrides: { preferredBatchSizes: [2, 4] },
      reqs: ones(5),
      now: 0,
      want: [[1, 0, 1], [2, 0, 1], [3, 0, 1], [4, 0, 1]],
    },
    {
      name: "cuts at once at max_batch_size",
      overrides: { maxBatchSize: 3 },
      reqs: ones(5),
      now: 0,
      want: [[1, 0, 1], [2, 0, 1], [3, 0, 1]],
    },
    {
      name: "cuts at once when the rows pass the largest preferred size",
      overrides: { preferredBatchSizes: [4] },
      reqs: [{ id: 1, rows: 3 }, { id: 2, rows: 3 }],
      now: 0,
      want: [[1, 0, 3], [2, 0, 3]],
    },
    {
      name: "fills the batch first-fit, leaving a request that does not fit",
      overrides: { maxBatchSize: 4 },
      reqs: [{ id: 1, rows: 3 }, { id: 2, rows: 2 }, { id: 3, rows: 1 }],
      now: 0,
      want: [[1, 0, 3], [3, 0, 1]],
    },
    {
      name: "waits for the batch to fill while the oldest request is younger than the delay",
      overrides: { maxQueueDelayUs: 2000 },
      reqs: [{ id: 1, at: 100 }, { id: 2, at: 900 }],
      now: 1500,
      want: "wait",
    },
    {
      name: "cuts what there is once the oldest request has waited the delay",
      overrides: { maxQueueDelayUs: 2000 },
      reqs: [{ id: 1, at: 100 }, { id: 2, at: 900 }],
      now: 2100,
      want: [[1, 0, 1], [2, 0, 1]],
    },
    {
      name: "measures the delay from the batch's own oldest request, not an older one of another shape and priority",
      overrides: { maxQueueDelayUs: 2000 },
      reqs: [{ id: 1, key: "b", priority: 2, at: 0 }, { id: 2, key: "a", at: 5000 }],
      now: 5500,
      want: "wait",
    },
    {
      name: "measures the delay from the batch's own oldest request, not an older one that does not fit",
      overrides: { maxQueueDelayUs: 2000, maxBatchSize: 4 },
      reqs: [{ id: 1, rows: 4, priority: 2, at: 0 }, { id: 2, at: 5000 }],
      now: 5500,
      want: "wait",
    },
    {
      name: "cuts once the batch's own oldest request has waited the delay",
      overrides: { maxQueueDelayUs: 2000 },
      reqs: [{ id: 1, key: "b", priority: 2, at: 0 }, { id: 2, key: "a", at: 5000 }, { id: 3, key: "a", at: 6000 }],
      now: 7000,
      want: [[2, 0, 1], [3, 0, 1]],
    },
    {
      name: "never waits with a delay of 0",
      overrides: { maxQueueDelayUs: 0 },
      reqs: ones(1),
      now: 0,
      want: [[1, 0, 1]],
    },
    {
      name: "serves priority 1 before an older priority 2",
      overrides: { maxBatchSize: 1 },
      reqs: [{ id: 1, priority: 2 }, { id: 2, priority: 1, at: 5 }],
      now: 10,
      want: [[2, 0, 1]],
    },
    {
      name: "fills a batch from lower levels after the higher one",
      overrides: { maxBatchSize: 3 },
      reqs: [{ id: 1, priority: 2 }, { id: 2, priority: 1 }, { id: 3, priority: 2 }, { id: 4, priority: 2 }],
      now: 0,
      want: [[2, 0, 1], [1, 0, 1], [3, 0, 1]],
    },
    {
      name: "never mixes shapes: other keys stay queued",
      overrides: { maxQueueDelayUs: 0 },
      reqs: [{ id: 1, key: "a" }, { id: 2, key: "b" }, { id: 3, key: "a" }],
      now: 0,
      want: [[1, 0, 1], [3, 0, 1]],
    },
    {
      name: "cuts early for a deadline instead of waiting out the delay",
      overrides: { maxQueueDelayUs: 5000 },
      reqs: [{ id: 1, at: 0 }, { id: 2, at: 0, deadline: 3000 }],
      now: 2800,
      runUs: 300,
      want: [[1, 0, 1], [2, 0, 1]],
    },
    {
      name: "cuts early enough for the run and the 1 ms reply allowance",
      overrides: { maxQueueDelayUs: 5000 },
      reqs: [{ id: 1, at: 0 }, { id: 2, at: 0, deadline: 3000 }],
      now: 1700,
      runUs: 300,
      want: [[1, 0, 1], [2, 0, 1]],
    },
    {
      name: "keeps waiting while a deadline leaves room for the expected run and the reply",
      overrides: { maxQueueDelayUs: 5000 },
      reqs: [{ id: 1, at: 0 }, { id: 2, at: 0, deadline: 3000 }],
      now: 1600,
      runUs: 300,
      want: "wait",
    },
    {
      name: "assumes a 1 ms run for deadlines before any run was measured",
      overrides: { maxQueueDelayUs: 5000 },
      reqs: [{ id: 1, at: 0, deadline: 3000 }],
      now: 1000,
      want: [[1, 0, 1]],
    },
    {
      name: "waits until then with no run measured",
      overrides: { maxQueueDelayUs: 5000 },
      reqs: [{ id: 1, at: 0, deadline: 3000 }],
      now: 999,
      want: "wait",
    },
    {
      name: "runs the head alone, at once, with batching off",
      overrides: { enabled: false, maxBatchSize: 0 },
      reqs: [{ id: 1, rows: 30 }, { id: 2 }],
      now: 0,
      want: [[1, 0, 30]],
    },
    {
      name: "splits an oversized request to fill a batch",
      overrides: { maxBatchSize: 4, splitOversized: true },
      reqs: [{ id: 1, rows: 2 }, { id: 2, rows: 10 }],
      now: 0,
      want: [[1, 0, 2], [2, 0, 2]],
    },
  ];
  it.each(cuts)("$name", ({ overrides, reqs, now, runUs, want }) => {
    const { options, queue } = setup(overrides, reqs);
    const { decision, expired } = nextBatch(queue, now, options, { runUs });
    expect(slices(decision)).toEqual(want);
    expect(expired).toEqual([]);
  });

  it("is idle on an empty queue", () => {
    const { options, queue } = setup({}, []);
    expect(nextBatch(queue, 0, options).decision).toEqual({ kind: "idle" });
  });

  it("waits until the delay has passed for the oldest request", () => {
    const { options, queue } = setup({ maxQueueDelayUs: 2000 }, [{ id: 1, at: 300 }]);
    expect(nextBatch(queue, 1000, options).decision).toEqual({ kind: "wait", untilUs: 2300 });
    expect(queue.size).toBe(1);
  });

  it("wakes when the delay has passed for the batch's oldest request, however long a straggler of another shape has waited", () => {
    const { options, queue } = setup({ maxQueueDelayUs: 2000 }, [{ id: 1, key: "b", priority: 2, at: 0 }, { id: 2, key: "a", at: 5000 }]);
    expect(nextBatch(queue, 5500, options).decision).toEqual({ kind: "wait", untilUs: 7000 });
  });

  it("wakes sooner when a queued request's deadline or timeout comes first", () => {
    const { options, queue } = setup({ maxQueueDelayUs: 2000 }, [{ id: 1, at: 0 }, { id: 2, key: "b", at: 0, deadline: 700 }]);
    expect(nextBatch(queue, 100, options).decision).toEqual({ kind: "wait", untilUs: 700 });
  });

  it("runs the next batch of another shape after the head's batch", () => {
    const { options, queue } = setup({ maxQueueDelayUs: 0 }, [{ id: 1, key: "a" }, { id: 2, key: "b" }, { id: 3, key: "a" }]);
    nextBatch(queue, 0, options);
    expect(slices(nextBatch(queue, 0, options).decision)).toEqual([[2, 0, 1]]);
  });

  it("takes an oversized request in max-sized runs, the last rows shared with others", () => {
    const { options, queue } = setup({ maxBatchSize: 4, splitOversized: true, maxQueueDelayUs: 0 }, [
      { id: 1, rows: 10 },
      { id: 2, rows: 1 },
    ]);
    const runs = [1, 2, 3].map(() => slices(nextBatch(queue, 0, options).decision));
    expect(runs).toEqual([[[1, 0, 4]], [[1, 4, 4]], [[1, 8, 2], [2, 0, 1]]]);
    expect(queue.size).toBe(0);
  });

  const pads: { name: string; rows: number[]; padRows: number }[] = [
    { name: "to the next preferred size", rows: [1, 2], padRows: 1 },
    { name: "to max_batch_size past the largest preferred size", rows: [3, 2], padRows: 3 },
    { name: "not at all on a preferred size", rows: [2, 2], padRows: 0 },
  ];
  it.each(pads)("pads $name", ({ rows, padRows }) => {
    const { options, queue } = setup(
      { preferredBatchSizes: [4], padToPreferred: true, maxQueueDelayUs: 0 },
      rows.map((r, i) => ({ id: i + 1, rows: r })),
    );
    const { decision } = nextBatch(queue, 0, options);
    expect(decision.kind === "run" && decision.padRows).toBe(padRows);
  });

  describe("expiry", () => {
    it("answers a request past its deadline and never puts it in a batch", () => {
      const { options, queue } = setup({ maxQueueDelayUs: 0 }, [{ id: 1, deadline: 50 }, { id: 2 }]);
      const { decision, expired } = nextBatch(queue, 100, options);
      expect(expired.map((e) => [e.request.id, e.reason])).toEqual([[1, "deadline"]]);
      expect(slices(decision)).toEqual([[2, 0, 1]]);
    });

    it("answers a request whose signal aborted", () => {
      const ac = new AbortController();
      const { options, queue } = setup({}, [{ id: 1, signal: ac.signal }]);
      ac.abort();
      const { decision, expired } = nextBatch(queue, 0, options);
      expect(expired.map((e) => e.reason)).toEqual(["cancelled"]);
      expect(decision.kind).toBe("idle");
    });

    it("rejects a request past its queue timeout under REJECT", () => {
      const { options, queue } = setup({ maxQueueDelayUs: 0 }, [{ id: 1, timeoutAt: 50 }, { id: 2 }]);
      const { decision, expired } = nextBatch(queue, 100, options);
      expect(expired.map((e) => [e.request.id, e.reason])).toEqual([[1, "timeout"]]);
      expect(slices(decision)).toEqual([[2, 0, 1]]);
    });

    it("runs a request past its queue timeout after all others under DELAY", () => {
      const { options, queue } = setup(
        { maxBatchSize: 1, maxQueueDelayUs: 0, defaultQueuePolicy: { timeoutAction: "delay" } },
        [{ id: 1, timeoutAt: 50 }, { id: 2, priority: 2 }, { id: 3 }],
      );
      const order: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const { decision, expired } = nextBatch(queue, 100, options);
        expect(expired).toEqual([]);
        order.push(...(slices(decision) as unknown[][]).map((s) => s[0]));
      }
      expect(order).toEqual([3, 2, 1]);
    });

    it("still expires a demoted request at its deadline", () => {
      const { options, queue } = setup({ defaultQueuePolicy: { timeoutAction: "delay" } }, [{ id: 1, timeoutAt: 50, deadline: 1200 }]);
      // Cut at 200: the deadline less the 1 ms reply allowance.
      expect(nextBatch(queue, 100, options, { runUs: 0 }).decision).toEqual({ kind: "wait", untilUs: 200 });
      expect(queue.isDemoted(1)).toBe(true);
      expect(nextBatch(queue, 1200, options).expired.map((e) => e.reason)).toEqual(["deadline"]);
    });
  });
});
