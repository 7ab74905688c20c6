import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBatchingOptions } from "../../../libs/batching/index.js";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { silentLogger } from "../../../libs/log/index.js";
import { readSignature } from "../../../libs/onnx/index.js";
import { exampleModel } from "../../../mesh/models/index.js";
import { createModelRunner, type ModelRunnerOptions } from "./model-runner.js";
import { EVENT_LOOP_MAX_RUN_US, EVENT_LOOP_RUNS_AT_ONCE } from "./session-placement.js";

const fraud = exampleModel("fraud").build();
const wide = exampleModel("wide").build();
const tuning = { intraOpThreads: 1, interOpThreads: 0, graphOptimization: "all", memoryArena: true, spinning: false } as const;
const features = (rows: number) => new Map([["features", { dtype: DataType.FLOAT32, shape: [rows, 16], data: new Float32Array(rows * 16).fill(0.25) }]]);

describe("createModelRunner: session placement", () => {
  let dir: string;
  const options = (extra: Partial<ModelRunnerOptions>): ModelRunnerOptions => ({
    model: join(dir, "fraud", "model.onnx"),
    signature: readSignature(fraud),
    batching: resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 8 }),
    device: { kind: "cpu" },
    tuning,
    instanceCount: 1,
    label: "fraud@1",
    logger: silentLogger,
    ...extra,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "model-runner-"));
    for (const [name, bytes] of [["fraud", fraud], ["wide", wide]] as const) {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, "model.onnx"), bytes);
    }
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("auto: times a small model's runs on its thread and places it by the lower-quartile run, answering either way", async () => {
    const runner = await createModelRunner(options({ placement: "auto" }));
    try {
      const { placement, reason, runUs } = runner.placement;
      expect(runUs).toBeGreaterThan(0);
      // Which side of the bound a run falls on depends on the machine; the choice must follow the timing it reports.
      expect(placement).toBe(runUs! < EVENT_LOOP_MAX_RUN_US ? "event-loop" : "thread");
      expect(reason).toMatch(/^auto: lower-quartile run \d+ µs at 8 rows \(\d+ runs\), model \d+ bytes/);
      const answer = await runner.infer({ inputs: features(3), rows: 3 });
      expect(answer.outputs.get("score")?.shape).toEqual([3, 1]);
    } finally {
      await runner.release();
    }
  });

  it("auto: threads without timing for a model over the size bound, or for several instances", async () => {
    const big = await createModelRunner(options({ model: join(dir, "wide", "model.onnx"), signature: readSignature(wide), label: "wide@1", placement: "auto" }));
    const several = await createModelRunner(options({ placement: "auto", instanceCount: 2 }));
    try {
      expect(big.placement).toMatchObject({ placement: "thread", reason: expect.stringMatching(/bytes, over the \d+ bytes loaded on the event loop/) });
      expect(big.placement.runUs).toBeUndefined();
      expect(several.placement).toMatchObject({ placement: "thread", reason: expect.stringMatching(/instance_count 2/) });
    } finally {
      await Promise.all([big.release(), several.release()]);
    }
  });

  it.each(["thread", "event-loop"] as const)("answers a warm-up that fails on %s placement FAILED_PRECONDITION", async (placement) => {
    // The gather model under fraud's signature: the warm-up feeds an input the graph does not have.
    let caught: unknown;
    try {
      await createModelRunner(options({ model: exampleModel("gather").build(), label: "gather@1", placement }));
    } catch (error) {
      caught = error;
    }
    const error = ConnectError.from(caught);
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.rawMessage).toMatch(/gather@1 failed its warm-up run \(1 rows of zeros\)/);
  });

  it("answers a queued request cancelled or past its queue timeout as before on event-loop placement, and the rest", async () => {
    // Cut only at 8 rows or after a minute: the requests below wait in the queue. (A queue timeout, not a
    // deadline: the batcher cuts a batch early enough for a deadline to be met, so the request would run.)
    const batching = resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 8, maxQueueDelayUs: 60_000_000, defaultQueuePolicy: { allowTimeoutOverride: true } });
    const runner = await createModelRunner(options({ placement: "event-loop", batching }));
    try {
      const controller = new AbortController();
      const cancelled = runner.infer({ inputs: features(1), rows: 1, signal: controller.signal }).catch((e: unknown) => ConnectError.from(e).code);
      const late = runner.infer({ inputs: features(1), rows: 1, queueTimeoutUs: 50_000 }).catch((e: unknown) => ConnectError.from(e).code);
      controller.abort();
      expect(await cancelled).toBe(Code.Canceled);
      expect(await late).toBe(Code.DeadlineExceeded);
      const full = await runner.infer({ inputs: features(8), rows: 8 });
      expect(full.outputs.get("score")?.shape).toEqual([8, 1]);
    } finally {
      await runner.release();
    }
  });

  it("on the event loop with batching off, starts the requests that arrive together at once (up to EVENT_LOOP_RUNS_AT_ONCE); on a thread, one", async () => {
    const off = resolveBatchingOptions(undefined, { enabled: false });
    for (const [placement, runningAtOnce] of [["event-loop", EVENT_LOOP_RUNS_AT_ONCE], ["thread", 1]] as const) {
      const runner = await createModelRunner(options({ placement, batching: off }));
      try {
        const calls = Array.from({ length: EVENT_LOOP_RUNS_AT_ONCE + 4 }, () => runner.infer({ inputs: features(1), rows: 1 }));
        expect(runner.queueDepth).toBe(calls.length - runningAtOnce);
        const answers = await Promise.all(calls);
        expect(answers.every((a) => a.outputs.get("score")?.shape[0] === 1)).toBe(true);
        // Time waiting behind the other runs counts as queue time, compute stays each one's own run: in total the
        // requests waited (behind up to 15 runs each) longer than they ran. Sums, not maxima, so one run slowed by
        // the scheduler cannot decide it (it also makes every later request wait longer).
        const total = (pick: (a: (typeof answers)[number]) => number) => answers.reduce((sum, a) => sum + pick(a), 0);
        if (placement === "event-loop") expect(total((a) => a.computeUs)).toBeLessThan(total((a) => a.queueUs));
      } finally {
        await runner.release();
      }
    }
  });

  it("keeps one run at a time on the event loop with batching on, so requests queue into the next batch", async () => {
    const runner = await createModelRunner(options({ placement: "event-loop", batching: resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 8, maxQueueDelayUs: 0 }) }));
    try {
      const calls = Array.from({ length: 5 }, () => runner.infer({ inputs: features(1), rows: 1 }));
      // The first is cut alone (no delay); the other four wait for it and go in one batch.
      expect(runner.queueDepth).toBe(4);
      const answers = await Promise.all(calls);
      expect(answers.map((a) => a.batchSize)).toEqual([1, 4, 4, 4, 4]);
    } finally {
      await runner.release();
    }
  });

  it("drains queued and running requests on event-loop placement, answering each", async () => {
    const runner = await createModelRunner(options({ placement: "event-loop", batching: resolveBatchingOptions(undefined, { enabled: false }) }));
    const calls = Array.from({ length: 20 }, (_, i) => runner.infer({ inputs: features(1 + (i % 3)), rows: 1 + (i % 3) }));
    await runner.release();
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.outputs.get("score")?.shape[0])).toEqual(Array.from({ length: 20 }, (_, i) => 1 + (i % 3)));
    await expect(runner.infer({ inputs: features(1), rows: 1 })).rejects.toMatchObject({ code: Code.Unavailable });
  });
});
