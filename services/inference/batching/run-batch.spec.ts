import { describe, expect, it } from "vitest";
import { Code, unavailable, type ConnectError } from "../../../libs/errors/index.js";
import { silentLogger } from "../../../libs/log/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor, TensorMap } from "../tensor/index.js";
import { BatchStatsRecorder } from "./batch-stats.js";
import { resolveBatchingOptions } from "../../../libs/batching/index.js";
import { createPending, type PendingSlice } from "./pending-request.js";
import { runBatch, type ExecuteBatch, type RunContext } from "./run-batch.js";

const one = (v: number): TensorMap =>
  new Map<string, HostTensor>([["x", { dtype: DataType.FLOAT32, shape: [1], data: new Float32Array([v]) }]]);

/** Eight one-row requests, the fourth poisoned with a NaN. */
const slices = (): PendingSlice[] =>
  [1, 2, 3, NaN, 5, 6, 7, 8].map((v, i) => ({
    request: { id: i + 1, rows: 1, priority: 1, key: "k", enqueuedUs: 0, payload: createPending(one(v), () => {}, () => {}) },
    start: 0,
    rows: 1,
  }));

function context(execute: ExecuteBatch, isolateFailures = true) {
  const delivered: number[] = [];
  const failed: [number, Code][] = [];
  let runs = 0;
  const ctx: RunContext = {
    execute: (inputs, rows) => {
      runs++;
      return execute(inputs, rows);
    },
    options: resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 8, isolateFailures }),
    clock: { now: () => 0, wallMs: () => 0 },
    stats: new BatchStatsRecorder(),
    logger: silentLogger,
    deliver: (slice) => {
      slice.request.payload.settled = true;
      delivered.push(slice.request.id);
    },
    fail: (request, error: ConnectError) => {
      request.payload.settled = true;
      failed.push([request.id, error.code]);
    },
  };
  return { ctx, delivered, failed, runs: () => runs };
}

const echoUnlessNaN: ExecuteBatch = async (inputs) => {
  if ((inputs.get("x")?.data as Float32Array).some(Number.isNaN)) throw new Error("NaN in x");
  return { outputs: new Map([["y", inputs.get("x")!]]) };
};

describe("runBatch()", () => {
  it("bisects a failed batch so only the poisoned request fails", async () => {
    const { ctx, delivered, failed, runs } = context(echoUnlessNaN);
    await runBatch(ctx, slices(), 0);
    expect(failed).toEqual([[4, Code.Internal]]);
    expect(delivered.sort((a, b) => a - b)).toEqual([1, 2, 3, 5, 6, 7, 8]);
    // 8 → 4+4 → 2+2 → 1+1: one run, then two per level.
    expect(runs()).toBe(7);
  });

  it("fails the whole batch in one run without isolation", async () => {
    const { ctx, delivered, failed, runs } = context(echoUnlessNaN, false);
    await runBatch(ctx, slices(), 0);
    expect(failed.length).toBe(8);
    expect(delivered).toEqual([]);
    expect(runs()).toBe(1);
  });

  it("does not bisect an error that is not about the rows", async () => {
    const { ctx, failed, runs } = context(async () => {
      throw unavailable("session closed");
    });
    await runBatch(ctx, slices(), 0);
    expect(failed.map(([, code]) => code)).toEqual(Array(8).fill(Code.Unavailable));
    expect(runs()).toBe(1);
  });

  it("charges the time a run waited for its turn as queue time, not compute", async () => {
    let nowUs = 1_000;
    const { ctx } = context(async (inputs) => {
      nowUs += 500;
      return { outputs: new Map([["y", inputs.get("x")!]]), waitedUs: 400 };
    });
    const batch = slices().filter((s) => !Number.isNaN((s.request.payload.inputs.get("x")!.data as Float32Array)[0]));
    await runBatch({ ...ctx, clock: { now: () => nowUs, wallMs: () => 0 } }, batch, 0);
    for (const s of batch) {
      expect(s.request.payload.firstRunUs).toBe(1_400);
      expect(s.request.payload.times.inferUs).toBe(100);
      expect(s.request.payload.computeUs).toBe(100);
    }
  });
});
