import { describe, expect, it } from "vitest";
import { BatchQueue, type QueuedRequest } from "./batch-queue.js";

const req = (id: number, priority = 1, rows = 1): QueuedRequest<null> => ({
  id,
  rows,
  priority,
  key: "k",
  enqueuedUs: id,
  payload: null,
});
const ids = (q: BatchQueue<null>) => [...q].map((r) => r.id);

describe("BatchQueue", () => {
  it("serves level 1 before level 2, FIFO inside a level", () => {
    const q = new BatchQueue<null>(2);
    for (const [id, p] of [[1, 2], [2, 1], [3, 2], [4, 1]] as const) q.push(req(id, p));
    expect(ids(q)).toEqual([2, 4, 1, 3]);
    expect(q.head()?.id).toBe(2);
  });

  it("puts a demoted request behind every request that has not timed out, of any level", () => {
    const q = new BatchQueue<null>(2);
    for (const [id, p] of [[1, 1], [2, 1], [3, 2]] as const) q.push(req(id, p));
    q.demote(1);
    expect(ids(q)).toEqual([2, 3, 1]);
    expect(q.isDemoted(1)).toBe(true);
    expect(q.sizeOf(1)).toBe(2);
  });

  it("reports full at the model-wide limit and at a level's own limit", () => {
    const q = new BatchQueue<null>(2, 3, [0, 1]);
    q.push(req(1, 2));
    expect(q.full(1)).toBeUndefined();
    expect(q.full(2)).toEqual({ scope: "priority", limit: 1 });
    q.push(req(2, 1));
    q.push(req(3, 1));
    expect(q.full(1)).toEqual({ scope: "model", limit: 3 });
  });

  it("keeps a partly taken request queued until its last rows are taken", () => {
    const q = new BatchQueue<null>(1);
    q.push(req(1, 1, 5));
    expect(q.take(1, 2)).toBe(0);
    expect(q.remaining(1)).toBe(3);
    expect(q.rows).toBe(3);
    expect(q.take(1, 3)).toBe(2);
    expect(q.has(1)).toBe(false);
    expect(q.size).toBe(0);
  });

  it("refuses to take more rows than remain", () => {
    const q = new BatchQueue<null>(1);
    q.push(req(1, 1, 2));
    expect(() => q.take(1, 3)).toThrow(RangeError);
  });

  it("removes a request from wherever it is", () => {
    const q = new BatchQueue<null>(2);
    q.push(req(1, 1));
    q.push(req(2, 2));
    q.demote(2);
    expect(q.remove(2)?.id).toBe(2);
    expect(q.remove(2)).toBeUndefined();
    expect(ids(q)).toEqual([1]);
  });

  it("knows its oldest request", () => {
    const q = new BatchQueue<null>(2);
    q.push(req(7, 1));
    q.push(req(3, 2));
    expect(q.oldestEnqueuedUs()).toBe(3);
  });
});
