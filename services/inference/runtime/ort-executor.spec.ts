import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBatchingOptions } from "../../../libs/batching/index.js";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { TensorProto_DataType } from "../../../libs/gen/onnx/onnx_pb.js";
import { buildModel, node, tensorValue } from "../../../libs/onnx/build-model.js";
import { exampleModel } from "../../../mesh/models/index.js";
import { DynamicBatcher } from "../batching/index.js";
import type { HostTensor, TensorMap } from "../tensor/index.js";
import { OrtExecutor, type OrtExecutorOptions } from "./ort-executor.js";
import type { SessionPlacement } from "./session.js";

const fraud = exampleModel("fraud");
const tuning = { intraOpThreads: 1, interOpThreads: 0, graphOptimization: "all", memoryArena: true, spinning: false } as const;

const row = (seed = 0): TensorMap =>
  new Map<string, HostTensor>([["features", { dtype: DataType.FLOAT32, shape: [1, 16], data: Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + seed)) }]]);

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected it to fail");
}

/** y = zeros of shape [n]: n = 2^42 asks for 16 TiB, which the runtime fails to allocate (a real out-of-memory run). */
const fill = buildModel({
  name: "fill",
  inputs: [tensorValue("n", TensorProto_DataType.INT64, [1])],
  outputs: [tensorValue("y", TensorProto_DataType.FLOAT, ["n"])],
  nodes: [node("ConstantOfShape", ["n"], ["y"], { name: "fill" })],
  initializers: [],
});
const fillInput = (n: bigint): TensorMap => new Map([["n", { dtype: DataType.INT64, shape: [1], data: BigInt64Array.from([n]) }]]);

const placements: SessionPlacement[] = ["thread", "event-loop"];
/** What a dead session's run is answered with, by placement. */
const deathMessage = { thread: /fraud@1: the session thread exited/, "event-loop": /fraud@1: the event-loop session died/ };

describe.each(placements)("OrtExecutor on %s placement", (placement) => {
  let dir: string;
  let modelPath: string;
  const open: OrtExecutor[] = [];
  // A thread's run is held by hanging it, so the crash finds it running; an event-loop run is still queued (setImmediate) when the crash comes.
  const holdRuns = (executor: OrtExecutor) => placement === "thread" && executor.hangSessions();
  const create = async (options: Partial<OrtExecutorOptions> = {}) => {
    const executor = await OrtExecutor.create({ model: modelPath, device: { kind: "cpu" }, tuning, instanceCount: 1, label: "fraud@1", placement, ...options });
    open.push(executor);
    return executor;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ort-executor-"));
    modelPath = join(dir, "fraud.onnx");
    await writeFile(modelPath, fraud.build());
  });

  afterAll(async () => {
    await Promise.allSettled(open.map((e) => e.release(0)));
    await rm(dir, { recursive: true, force: true });
  });

  it("answers a run on a session that dies UNAVAILABLE, replaces the session, and runs the next request", async () => {
    const executor = await create();
    expect(executor.placement).toBe(placement);
    const expected = await executor.run(row(1));
    holdRuns(executor);
    const inFlight = executor.run(row(1));
    await executor.crashSession("running");
    const error = await failure(inFlight);
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toMatch(deathMessage[placement]);
    // Waits for the session loaded in the dead one's place.
    const after = await executor.run(row(1));
    expect(after.get("score")?.data).toEqual(expected.get("score")?.data);
    expect(executor.liveSessions).toBe(1);
  });

  it("answers the batch of a dead session UNAVAILABLE for every request, without bisecting it", async () => {
    const executor = await create();
    const batcher = new DynamicBatcher({
      options: resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 8, preferredBatchSizes: [4], maxQueueDelayUs: 60_000_000, isolateFailures: true }),
      execute: (inputs) => executor.runTimed(inputs),
      instances: 1,
    });
    holdRuns(executor);
    const answers = [1, 2, 3, 4].map((seed) => failure(batcher.submit({ inputs: row(seed), rows: 1 })));
    // Cut only at the preferred size (the delay is a minute), so the four are one batch on the hung session.
    expect(batcher.inFlight).toBe(1);
    await executor.crashSession("running");
    const codes = (await Promise.all(answers)).map((e) => e.code);
    expect(codes).toEqual([Code.Unavailable, Code.Unavailable, Code.Unavailable, Code.Unavailable]);
    expect(batcher.stats().outcomes.isolationRuns).toBe(0);
  });

  it("keeps answering INVALID_ARGUMENT for what the graph itself rejects", async () => {
    const gather = await create({ model: exampleModel("gather").build(), label: "gather@1" });
    const bad = new Map<string, HostTensor>([
      ["x", { dtype: DataType.FLOAT32, shape: [1, 4], data: new Float32Array(4) }],
      ["idx", { dtype: DataType.INT64, shape: [1], data: BigInt64Array.from([99n]) }],
    ]);
    expect((await failure(gather.run(bad))).code).toBe(Code.InvalidArgument);
    expect(gather.liveSessions).toBe(1);
  });

  it("answers a run the runtime cannot allocate memory for RESOURCE_EXHAUSTED, and keeps working", async () => {
    const executor = await create({ model: fill, label: "fill@1" });
    const error = await failure(executor.run(fillInput(1n << 42n)));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toMatch(/fill@1 ran out of memory on this replica/);
    expect((await executor.run(fillInput(3n))).get("y")?.shape).toEqual([3]);
    expect(executor.liveSessions).toBe(1);
  });

  it("lets a run finish within the release grace before freeing its session", async () => {
    const executor = await create({ instanceCount: 2 });
    const runs = [executor.run(row(1)), executor.run(row(2))];
    const released = executor.release(60_000);
    const results = await Promise.all(runs);
    await released;
    expect(results.map((r) => r.get("score")?.shape)).toEqual([
      [1, 1],
      [1, 1],
    ]);
    expect(executor.liveSessions).toBe(0);
  });

  it("reports itself broken when no session can be loaded in place of the dead one", async () => {
    const path = join(dir, "soon-broken.onnx");
    await writeFile(path, fraud.build());
    let broken: ConnectError | undefined;
    const executor = await create({ model: path, replaceAttempts: 2, onBroken: (error) => (broken = error) });
    await writeFile(path, "no longer a model");
    holdRuns(executor);
    const running = failure(executor.run(row()));
    const waiting = failure(executor.run(row()));
    await executor.crashSession("running");
    expect((await running).rawMessage).toMatch(deathMessage[placement]);
    const error = await waiting;
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toMatch(/lost its sessions and could not load new ones/);
    expect(broken?.code).toBe(Code.Unavailable);
    expect((await failure(executor.run(row()))).code).toBe(Code.Unavailable);
  });
});

describe("OrtExecutor on event-loop placement", () => {
  it("gives one session runsPerSession runs at once, the rest waiting their turn, and answers all alike", async () => {
    const executor = await OrtExecutor.create({ model: fraud.build(), device: { kind: "cpu" }, tuning, instanceCount: 1, label: "fraud@1", placement: "event-loop", runsPerSession: 4 });
    try {
      expect(executor.runsAtOnce).toBe(4);
      const expected = (await executor.run(row(5))).get("score")!.data;
      let turnOver = false;
      const runs = Array.from({ length: 5 }, () => executor.runTimed(row(5)).then((run) => ({ ...run, turnOver })));
      // Queued once the runs' own immediates are (a few microtasks in): it fires after the four given at once ran.
      for (let i = 0; i < 10; i++) await Promise.resolve();
      setImmediate(() => (turnOver = true));
      const done = await Promise.all(runs);
      for (const run of done) expect(run.outputs.get("score")!.data).toEqual(expected);
      expect(done.every((r) => r.runUs > 0 && Number.isFinite(r.waitedUs))).toBe(true);
      // Four in the first turn; the fifth got the slot the first gave back, and ran in the next.
      expect(done.map((r) => r.turnOver)).toEqual([false, false, false, false, true]);
    } finally {
      await executor.release(0);
    }
  });

  it("releases a session given several runs only once the last of them has answered", async () => {
    const executor = await OrtExecutor.create({ model: fraud.build(), device: { kind: "cpu" }, tuning, instanceCount: 1, label: "fraud@1", placement: "event-loop", runsPerSession: 3 });
    const running = [1, 2, 3].map((seed) => executor.run(row(seed)));
    const waiting = failure(executor.run(row(4)));
    await executor.release(0);
    for (const run of await Promise.all(running)) expect(run.get("score")?.shape).toEqual([1, 1]);
    expect((await waiting).code).toBe(Code.Unavailable);
    expect(executor.liveSessions).toBe(0);
  });

  it("refuses more than one run at once for sessions on threads, and a runsPerSession that is not a count", async () => {
    const base = { model: fraud.build(), device: { kind: "cpu" }, tuning, instanceCount: 1, label: "fraud@1" } as const;
    await expect(OrtExecutor.create({ ...base, placement: "thread", runsPerSession: 2 })).rejects.toThrow(/only sessions on the event loop/);
    await expect(OrtExecutor.create({ ...base, placement: "event-loop", runsPerSession: 0 })).rejects.toThrow(/at least 1/);
  });

  it("lets a run in flight answer even with no release grace (it cannot be cut), and refuses to hang", async () => {
    const executor = await OrtExecutor.create({ model: fraud.build(), device: { kind: "cpu" }, tuning, instanceCount: 1, label: "fraud@1", placement: "event-loop" });
    expect(() => executor.hangSessions()).toThrow(/use thread placement/);
    const running = executor.run(row(2));
    const waiting = failure(executor.run(row(3)));
    await executor.release(0);
    expect((await running).get("score")?.shape).toEqual([1, 1]);
    expect((await waiting).code).toBe(Code.Unavailable);
    expect(executor.liveSessions).toBe(0);
  });
});

// A run stuck in native code can only be simulated on a thread: on the event loop it would stop the replica (EventLoopSession.hang).
describe("OrtExecutor on thread placement, with hung sessions", () => {
  let dir: string;
  let modelPath: string;
  const open: OrtExecutor[] = [];
  const create = async (options: Partial<OrtExecutorOptions> = {}) => {
    const executor = await OrtExecutor.create({ model: modelPath, device: { kind: "cpu" }, tuning, instanceCount: 1, label: "fraud@1", placement: "thread", ...options });
    open.push(executor);
    return executor;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ort-executor-hang-"));
    modelPath = join(dir, "fraud.onnx");
    await writeFile(modelPath, fraud.build());
  });

  afterAll(async () => {
    await Promise.allSettled(open.map((e) => e.release(0)));
    await rm(dir, { recursive: true, force: true });
  });

  it("ends a run still going after the release grace, and answers runs waiting for a session", async () => {
    const executor = await create();
    executor.hangSessions();
    const running = failure(executor.run(row()));
    const waiting = failure(executor.run(row()));
    await executor.release(50);
    expect((await running).code).toBe(Code.Unavailable);
    const waited = await waiting;
    expect(waited.code).toBe(Code.Unavailable);
    expect(waited.rawMessage).toMatch(/unloaded/);
    expect(executor.liveSessions).toBe(0);
    expect((await failure(executor.run(row()))).code).toBe(Code.Unavailable);
  });

  it("ends an idle session whose freeing hangs once the release grace is over", async () => {
    const executor = await create();
    executor.hangSessions();
    await executor.release(50);
    expect(executor.liveSessions).toBe(0);
  });
});
