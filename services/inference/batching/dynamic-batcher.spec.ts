import { describe, expect, it } from "vitest";
import { Code, ConnectError, unavailable } from "../../../libs/errors/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor, TensorMap } from "../tensor/index.js";
import { resolveBatchingOptions, type BatchingOverrides } from "../../../libs/batching/index.js";
import { DynamicBatcher, type BatchResult, type ExecuteBatch } from "./dynamic-batcher.js";

const cols = 3;

/** A request of `rows` rows; every element of row r is `marker + r` (NaN marks a poisoned row). */
const rowsOf = (marker: number, rows = 1, width = cols): TensorMap =>
  new Map<string, HostTensor>([
    [
      "x",
      {
        dtype: DataType.FLOAT32,
        shape: [rows, width],
        data: Float32Array.from({ length: rows * width }, (_, i) => marker + Math.floor(i / width)),
      },
    ],
  ]);

/** y = x * 2 + 1, row-wise in float32; throws on a NaN, as a model with a check would. */
function affine(inputs: TensorMap): TensorMap {
  const x = inputs.get("x");
  if (!x) throw new Error("no input x");
  const data = x.data as Float32Array;
  if (data.some(Number.isNaN)) throw new Error("input x holds a NaN; the model refuses it");
  const y = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) y[i] = data[i]! * 2 + 1;
  return new Map([["y", { dtype: DataType.FLOAT32, shape: [...x.shape], data: y }]]);
}

/** Holds every run until open(), so tests build a queue without relying on timing. */
class Gate {
  private opened = false;
  private waiters: (() => void)[] = [];
  wait(): Promise<void> {
    return this.opened ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

/** The affine model behind a gate, recording what each run saw. */
function model(gate = new Gate()) {
  const runs: { rows: number; firstColumn: number[]; width: number }[] = [];
  let running = 0;
  let maxRunning = 0;
  const execute: ExecuteBatch = async (inputs, rows) => {
    const x = inputs.get("x")!;
    const width = x.shape[1] ?? 1;
    const data = x.data as Float32Array;
    runs.push({ rows, width, firstColumn: Array.from({ length: rows }, (_, r) => data[r * width]!) });
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await gate.wait();
      return { outputs: affine(inputs) };
    } finally {
      running--;
    }
  };
  return { execute, runs, gate, maxRunning: () => maxRunning };
}

const options = (overrides: BatchingOverrides = {}) =>
  resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 8, maxQueueDelayUs: 0, ...overrides });

const codeOf = async (p: Promise<unknown>): Promise<Code | "resolved"> => {
  try {
    await p;
    return "resolved";
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return (err as ConnectError).code;
  }
};

const yOf = (r: BatchResult) => Array.from(r.outputs.get("y")!.data as Float32Array);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A batcher whose one instance is busy with a first request until the gate opens. */
function blocked(overrides: BatchingOverrides = {}, instances = 1) {
  const m = model();
  const batcher = new DynamicBatcher({ options: options(overrides), execute: m.execute, instances });
  const first = batcher.submit({ inputs: rowsOf(-1), rows: 1 });
  return { ...m, batcher, first };
}

describe("DynamicBatcher", () => {
  it("runs a request and returns its rows", async () => {
    const m = model();
    m.gate.open();
    const batcher = new DynamicBatcher({ options: options(), execute: m.execute, instances: 1 });
    const result = await batcher.submit({ inputs: rowsOf(5, 2), rows: 2 });
    expect(yOf(result)).toEqual([11, 11, 11, 13, 13, 13]);
    expect(result.batchSize).toBe(2);
    expect(result.outputs.get("y")?.shape).toEqual([2, cols]);
  });

  it("batches requests that arrive while the instance is busy", async () => {
    const { batcher, runs, gate, first } = blocked();
    const rest = [1, 2, 3, 4, 5].map((i) => batcher.submit({ inputs: rowsOf(i), rows: 1 }));
    expect(batcher.queueDepth).toBe(5);
    gate.open();
    const results = await Promise.all(rest);
    await first;
    expect(runs.map((r) => r.rows)).toEqual([1, 5]);
    expect(results.map((r) => r.batchSize)).toEqual([5, 5, 5, 5, 5]);
    expect(results.map((r) => yOf(r)[0])).toEqual([3, 5, 7, 9, 11]);
    const s = batcher.stats();
    expect(Number(s.inferenceCount) / Number(s.executionCount)).toBeGreaterThan(1);
  });

  it("cuts at a preferred size without waiting out a long delay", async () => {
    const m = model();
    m.gate.open();
    const batcher = new DynamicBatcher({
      options: options({ preferredBatchSizes: [4], maxQueueDelayUs: 60_000_000 }),
      execute: m.execute,
      instances: 1,
    });
    await Promise.all([1, 2, 3, 4].map((i) => batcher.submit({ inputs: rowsOf(i), rows: 1 })));
    expect(m.runs.map((r) => r.rows)).toEqual([4]);
  });

  it("cuts at max_batch_size without waiting out a long delay", async () => {
    const m = model();
    m.gate.open();
    const batcher = new DynamicBatcher({ options: options({ maxBatchSize: 3, maxQueueDelayUs: 60_000_000 }), execute: m.execute, instances: 1 });
    await Promise.all([1, 2, 3].map((i) => batcher.submit({ inputs: rowsOf(i), rows: 1 })));
    expect(m.runs.map((r) => r.rows)).toEqual([3]);
  });

  it("cuts a partial batch once the delay has passed", async () => {
    const m = model();
    m.gate.open();
    const batcher = new DynamicBatcher({ options: options({ maxQueueDelayUs: 1000 }), execute: m.execute, instances: 1 });
    const results = await Promise.all([1, 2].map((i) => batcher.submit({ inputs: rowsOf(i), rows: 1 })));
    expect(m.runs.map((r) => r.rows)).toEqual([2]);
    expect(results.every((r) => r.queueUs >= 0)).toBe(true);
  });

  it("serves priority 1 before priority 2", async () => {
    const { batcher, runs, gate } = blocked({ maxBatchSize: 1 });
    const low = batcher.submit({ inputs: rowsOf(20), rows: 1, priority: 2 });
    const high = batcher.submit({ inputs: rowsOf(10), rows: 1, priority: 1 });
    gate.open();
    await Promise.all([low, high]);
    expect(runs.map((r) => r.firstColumn[0])).toEqual([-1, 10, 20]);
  });

  it("rejects a priority outside the levels with INVALID_ARGUMENT", async () => {
    const { batcher, gate } = blocked();
    expect(await codeOf(batcher.submit({ inputs: rowsOf(1), rows: 1, priority: 3 }))).toBe(Code.InvalidArgument);
    gate.open();
  });

  describe("queue timeouts", () => {
    it("answers DEADLINE_EXCEEDED under REJECT and never runs the request", async () => {
      const { batcher, runs, gate } = blocked();
      const timed = batcher.submit({ inputs: rowsOf(7), rows: 1, queueTimeoutUs: 1000 });
      const patient = batcher.submit({ inputs: rowsOf(8), rows: 1 });
      expect(await codeOf(timed)).toBe(Code.DeadlineExceeded);
      gate.open();
      await patient;
      expect(runs.flatMap((r) => r.firstColumn)).not.toContain(7);
      expect(batcher.stats().outcomes.queueTimeout).toBe(1);
    });

    it("runs a timed-out request after the others under DELAY", async () => {
      const { batcher, runs, gate } = blocked({ maxBatchSize: 1, defaultQueuePolicy: { timeoutAction: "delay" } });
      const timed = batcher.submit({ inputs: rowsOf(7), rows: 1, queueTimeoutUs: 1000 });
      await sleep(20);
      const later = batcher.submit({ inputs: rowsOf(8), rows: 1 });
      gate.open();
      await Promise.all([timed, later]);
      expect(runs.map((r) => r.firstColumn[0])).toEqual([-1, 8, 7]);
    });

    it("ignores a request's own timeout where the policy does not allow it", async () => {
      const { batcher, gate } = blocked({ defaultQueuePolicy: { allowTimeoutOverride: false } });
      const timed = batcher.submit({ inputs: rowsOf(7), rows: 1, queueTimeoutUs: 1000 });
      await sleep(20);
      gate.open();
      expect(await codeOf(timed)).toBe("resolved");
    });

    it("applies the level's default timeout to a request that sets none", async () => {
      const { batcher, gate } = blocked({ defaultQueuePolicy: { defaultTimeoutUs: 1000 } });
      const timed = batcher.submit({ inputs: rowsOf(7), rows: 1 });
      expect(await codeOf(timed)).toBe(Code.DeadlineExceeded);
      gate.open();
    });
  });

  it("answers DEADLINE_EXCEEDED when the deadline passes in the queue; the model never sees the request", async () => {
    const { batcher, runs, gate } = blocked();
    const late = batcher.submit({ inputs: rowsOf(7), rows: 1, deadline: Date.now() + 5 });
    expect(await codeOf(late)).toBe(Code.DeadlineExceeded);
    gate.open();
    await batcher.submit({ inputs: rowsOf(8), rows: 1 });
    expect(runs.flatMap((r) => r.firstColumn)).not.toContain(7);
  });

  it("answers RESOURCE_EXHAUSTED at once when the queue is full, with a retry hint", async () => {
    const { batcher, gate } = blocked({ maxQueueSize: 2 });
    const queued = [1, 2].map((i) => batcher.submit({ inputs: rowsOf(i), rows: 1 }));
    let caught: unknown;
    try {
      await batcher.submit({ inputs: rowsOf(3), rows: 1 });
    } catch (err) {
      caught = err;
    }
    expect((caught as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((caught as ConnectError).message).toMatch(/retry in about \d+ ms/);
    expect((caught as ConnectError).metadata.get("grpc-retry-pushback-ms")).toMatch(/^\d+$/);
    gate.open();
    await Promise.all(queued);
  });

  it("bases the retry hint on the runs that go on at the same time, not on those given out at once", async () => {
    const hint = async (parallelRuns: number | undefined) => {
      const m = model();
      // Batching off, 4 runs given out at once, 8 queued: as an event-loop session taking runs at once.
      const batcher = new DynamicBatcher({ options: options({ enabled: false, maxBatchSize: 0, maxQueueSize: 8 }), execute: m.execute, instances: 4, ...(parallelRuns ? { parallelRuns } : {}) });
      const held = Array.from({ length: 12 }, (_, i) => batcher.submit({ inputs: rowsOf(i), rows: 1 }));
      const error = ConnectError.from(await batcher.submit({ inputs: rowsOf(99), rows: 1 }).catch((e: unknown) => e));
      m.gate.open();
      await Promise.all(held);
      expect(error.code).toBe(Code.ResourceExhausted);
      return Number(error.metadata.get("grpc-retry-pushback-ms"));
    };
    // Nothing measured yet (10 ms a run): 8 queued runs over 4 in parallel, then over 1.
    expect(await hint(undefined)).toBe(20);
    expect(await hint(1)).toBe(80);
  });

  it("answers RESOURCE_EXHAUSTED when a priority level's own queue is full", async () => {
    const { batcher, gate } = blocked({ queuePolicies: { 2: { maxQueueSize: 1 } } });
    const queued = batcher.submit({ inputs: rowsOf(1), rows: 1, priority: 2 });
    expect(await codeOf(batcher.submit({ inputs: rowsOf(2), rows: 1, priority: 2 }))).toBe(Code.ResourceExhausted);
    const other = batcher.submit({ inputs: rowsOf(3), rows: 1, priority: 1 });
    gate.open();
    await Promise.all([queued, other]);
  });

  describe("cancellation", () => {
    it("answers CANCELLED for a request cancelled in the queue; the model never sees its rows", async () => {
      const { batcher, runs, gate } = blocked();
      const ac = new AbortController();
      const cancelled = batcher.submit({ inputs: rowsOf(7), rows: 1, signal: ac.signal });
      const kept = batcher.submit({ inputs: rowsOf(8), rows: 1 });
      ac.abort();
      expect(await codeOf(cancelled)).toBe(Code.Canceled);
      expect(batcher.queueDepth).toBe(1);
      gate.open();
      await kept;
      expect(runs.flatMap((r) => r.firstColumn)).not.toContain(7);
    });

    it("drops a running request's result without touching the others in its batch", async () => {
      const { execute, runs, gate } = model();
      const batcher = new DynamicBatcher({
        options: options({ preferredBatchSizes: [2], maxQueueDelayUs: 60_000_000 }),
        execute,
        instances: 1,
      });
      const ac = new AbortController();
      const cancelled = batcher.submit({ inputs: rowsOf(7), rows: 1, signal: ac.signal });
      const kept = batcher.submit({ inputs: rowsOf(8), rows: 1 });
      expect(batcher.inFlight).toBe(1);
      ac.abort();
      gate.open();
      expect(await codeOf(cancelled)).toBe(Code.Canceled);
      expect(yOf(await kept)[0]).toBe(17);
      expect(runs.map((r) => r.firstColumn)).toEqual([[7, 8]]);
    });

    it("answers CANCELLED at once for a request whose signal had already aborted", async () => {
      const { batcher, gate } = blocked();
      expect(await codeOf(batcher.submit({ inputs: rowsOf(7), rows: 1, signal: AbortSignal.abort() }))).toBe(Code.Canceled);
      gate.open();
    });
  });

  it("never puts requests of different shapes in the same run", async () => {
    const { batcher, runs, gate } = blocked();
    const a = batcher.submit({ inputs: rowsOf(1, 1, 2), rows: 1 });
    const b = batcher.submit({ inputs: rowsOf(2, 1, 3), rows: 1 });
    const c = batcher.submit({ inputs: rowsOf(3, 1, 2), rows: 1 });
    gate.open();
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    expect(runs.slice(1).map((r) => [r.width, r.firstColumn])).toEqual([
      [2, [1, 3]],
      [3, [2]],
    ]);
    expect([ra, rb, rc].map((r) => r.outputs.get("y")?.shape)).toEqual([[1, 2], [1, 3], [1, 2]]);
  });

  describe("a failing batch", () => {
    it("fails only the request that fails on its own, with isolateFailures", async () => {
      const { batcher, gate } = blocked();
      const requests = [1, NaN, 3, 4, 5].map((v) => batcher.submit({ inputs: rowsOf(v), rows: 1 }));
      gate.open();
      const outcomes = await Promise.allSettled(requests);
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled"]);
      const error = (outcomes[1] as PromiseRejectedResult).reason as ConnectError;
      expect(error.message).toContain("holds a NaN");
      expect(outcomes.flatMap((o) => (o.status === "fulfilled" ? [yOf(o.value)[0]] : []))).toEqual([3, 7, 9, 11]);
      expect(batcher.stats().outcomes.isolationRuns).toBeGreaterThan(0);
    });

    it("fails the whole batch with the model's error without isolateFailures", async () => {
      const { batcher, gate } = blocked({ isolateFailures: false });
      const requests = [1, NaN, 3].map((v) => batcher.submit({ inputs: rowsOf(v), rows: 1 }));
      gate.open();
      const outcomes = await Promise.allSettled(requests);
      expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
      for (const o of outcomes) expect(((o as PromiseRejectedResult).reason as Error).message).toContain("holds a NaN");
    });

    it("does not re-run a batch whose error is not about its rows", async () => {
      let runs = 0;
      const batcher = new DynamicBatcher({
        options: options({ preferredBatchSizes: [3], maxQueueDelayUs: 60_000_000 }),
        execute: async () => {
          runs++;
          throw unavailable("the session was closed");
        },
        instances: 1,
      });
      const codes = await Promise.all([1, 2, 3].map((v) => codeOf(batcher.submit({ inputs: rowsOf(v), rows: 1 }))));
      expect(codes).toEqual([Code.Unavailable, Code.Unavailable, Code.Unavailable]);
      expect(runs).toBe(1);
    });

    it("fails every request with FAILED_PRECONDITION when outputs lose the batch dimension", async () => {
      const batcher = new DynamicBatcher({
        options: options(),
        execute: async () => ({ outputs: new Map([["y", { dtype: DataType.FLOAT32, shape: [1], data: new Float32Array(1) }]]) }),
        instances: 1,
      });
      const codes = await Promise.all([1, 2].map((v) => codeOf(batcher.submit({ inputs: rowsOf(v, 2), rows: 2 }))));
      expect(codes).toEqual([Code.FailedPrecondition, Code.FailedPrecondition]);
    });
  });

  it("drains: refuses new requests, answers every queued one, then resolves", async () => {
    const { batcher, gate, first } = blocked({ maxQueueDelayUs: 60_000_000 });
    const queued = [1, 2, 3].map((i) => batcher.submit({ inputs: rowsOf(i), rows: 1 }));
    const drained = batcher.drain();
    expect(await codeOf(batcher.submit({ inputs: rowsOf(4), rows: 1 }))).toBe(Code.Unavailable);
    gate.open();
    await drained;
    const results = await Promise.all([first, ...queued]);
    expect(results.map((r) => yOf(r)[0])).toEqual([-1, 3, 5, 7]);
    expect(batcher.queueDepth).toBe(0);
  });

  it("close() answers every queued and running request UNAVAILABLE at once", async () => {
    const { batcher, gate, first } = blocked({ maxQueueDelayUs: 60_000_000 });
    const queued = [1, 2].map((i) => batcher.submit({ inputs: rowsOf(i), rows: 1 }));
    batcher.close();
    expect(await Promise.all([first, ...queued].map(codeOf))).toEqual([Code.Unavailable, Code.Unavailable, Code.Unavailable]);
    expect(batcher.queueDepth).toBe(0);
    expect(await codeOf(batcher.submit({ inputs: rowsOf(3), rows: 1 }))).toBe(Code.Unavailable);
    const drained = batcher.drain();
    gate.open();
    await drained;
    expect(batcher.inFlight).toBe(0);
  });

  it("pads to the preferred size and drops the padded rows from the results", async () => {
    const { batcher, runs, gate } = blocked({ preferredBatchSizes: [4], padToPreferred: true });
    const a = batcher.submit({ inputs: rowsOf(1, 2), rows: 2 });
    const b = batcher.submit({ inputs: rowsOf(5), rows: 1 });
    gate.open();
    const [ra, rb] = await Promise.all([a, b]);
    expect(runs[1]?.rows).toBe(4);
    expect(runs[1]?.firstColumn).toEqual([1, 2, 5, 5]);
    expect(ra.outputs.get("y")?.shape).toEqual([2, cols]);
    expect(yOf(rb)).toEqual([11, 11, 11]);
    expect(batcher.stats().inferenceCount).toBe(4n); // 1 + 2 + 1 real rows; padding not counted
  });

  describe("oversized requests", () => {
    it("splits a request over several runs with split_oversized", async () => {
      const m = model();
      m.gate.open();
      const batcher = new DynamicBatcher({ options: options({ maxBatchSize: 4, splitOversized: true }), execute: m.execute, instances: 2 });
      const result = await batcher.submit({ inputs: rowsOf(0, 10), rows: 10 });
      expect(m.runs.map((r) => r.rows)).toEqual([4, 4, 2]);
      expect(result.outputs.get("y")?.shape).toEqual([10, cols]);
      expect(yOf(result).filter((_, i) => i % cols === 0)).toEqual(Array.from({ length: 10 }, (_, r) => r * 2 + 1));
    });

    it("rejects it with INVALID_ARGUMENT otherwise", async () => {
      const m = model();
      const batcher = new DynamicBatcher({ options: options({ maxBatchSize: 4 }), execute: m.execute, instances: 1 });
      expect(await codeOf(batcher.submit({ inputs: rowsOf(0, 5), rows: 5 }))).toBe(Code.InvalidArgument);
      expect(m.runs).toEqual([]);
    });
  });

  it("runs each request alone, within the instances, with batching off", async () => {
    const m = model();
    const batcher = new DynamicBatcher({
      options: resolveBatchingOptions(undefined, { enabled: false }),
      execute: m.execute,
      instances: 2,
    });
    const requests = [1, 2, 3, 4].map((i) => batcher.submit({ inputs: rowsOf(i, i), rows: i }));
    expect(m.runs.length).toBe(2);
    m.gate.open();
    await Promise.all(requests);
    expect(m.runs.map((r) => r.rows)).toEqual([1, 2, 3, 4]);
    expect(m.maxRunning()).toBe(2);
  });

  it("gives results identical to running each request alone (random rows, priorities, concurrency)", async () => {
    const rand = mulberry32(0x7e55e4a);
    for (let round = 0; round < 4; round++) {
      const m = model();
      m.gate.open();
      const maxBatchSize = 1 + Math.floor(rand() * 12);
      const batcher = new DynamicBatcher({
        options: options({ maxBatchSize, maxQueueDelayUs: Math.floor(rand() * 500), splitOversized: true, preferredBatchSizes: rand() < 0.5 ? [] : [Math.ceil(maxBatchSize / 2)] }),
        execute: async (inputs, rows) => {
          await new Promise((resolve) => setImmediate(resolve));
          return m.execute(inputs, rows);
        },
        instances: 1 + Math.floor(rand() * 3),
      });
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 60; i++) {
        const rows = 1 + Math.floor(rand() * 6);
        const data = Float32Array.from({ length: rows * cols }, () => (rand() - 0.5) * 1e6);
        const inputs = new Map([["x", { dtype: DataType.FLOAT32, shape: [rows, cols], data }]]);
        const alone = affine(inputs).get("y")!.data as Float32Array;
        pending.push(
          batcher.submit({ inputs, rows, priority: 1 + Math.floor(rand() * 2) }).then((r) => {
            const y = r.outputs.get("y")!.data as Float32Array;
            expect(new Uint8Array(y.buffer, y.byteOffset, y.byteLength)).toEqual(new Uint8Array(alone.buffer));
          }),
        );
        if (rand() < 0.3) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(pending);
      const s = batcher.stats();
      expect(s.inferenceStats.success.count).toBe(60n);
      expect(Number(s.inferenceCount) / Number(s.executionCount)).toBeGreaterThan(1);
    }
  });

  it("fills stats shaped like OIP ModelStatistics", async () => {
    const { batcher, gate } = blocked();
    const requests = [1, 2].map((i) => batcher.submit({ inputs: rowsOf(i), rows: 1 }));
    gate.open();
    await Promise.all(requests);
    const s = batcher.stats();
    expect(s.executionCount).toBe(2n);
    expect(s.inferenceCount).toBe(3n);
    expect(s.inferenceStats.success.count).toBe(3n);
    expect(s.inferenceStats.queue.count).toBe(3n);
    expect(s.batchStats.map((b) => [b.batchSize, b.computeInfer.count])).toEqual([
      [1n, 1n],
      [2n, 1n],
    ]);
    expect(s.lastInference).toBeGreaterThan(0n);
  });
});

/** A small deterministic PRNG, so a failure replays. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
