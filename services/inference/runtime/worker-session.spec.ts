import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { ModelProtoSchema, StringStringEntryProtoSchema } from "../../../libs/gen/onnx/onnx_pb.js";
import { exampleModel } from "../../../mesh/models/index.js";
import { EventLoopSession } from "./event-loop-session.js";
import type { SessionFactory, SessionPlacement } from "./session.js";
import { WorkerSession } from "./worker-session.js";

/** The model with every initializer moved into `weights.bin` beside it (ONNX external data), as large models ship. */
async function writeWithExternalData(dir: string, bytes: Uint8Array): Promise<string> {
  const model = fromBinary(ModelProtoSchema, bytes);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const init of model.graph?.initializer ?? []) {
    const raw = init.rawData;
    init.externalData = [
      create(StringStringEntryProtoSchema, { key: "location", value: "weights.bin" }),
      create(StringStringEntryProtoSchema, { key: "offset", value: String(offset) }),
      create(StringStringEntryProtoSchema, { key: "length", value: String(raw.byteLength) }),
    ];
    init.dataLocation = 1; // EXTERNAL
    init.rawData = new Uint8Array(0);
    chunks.push(raw);
    offset += raw.byteLength;
  }
  await writeFile(join(dir, "weights.bin"), Buffer.concat(chunks));
  const path = join(dir, "model.onnx");
  await writeFile(path, toBinary(ModelProtoSchema, model));
  return path;
}

const wide = exampleModel("wide").build();
const gather = exampleModel("gather").build();

const placements: [SessionPlacement, SessionFactory][] = [
  ["thread", (model, options) => WorkerSession.create(model, options)],
  ["event-loop", (model, options) => EventLoopSession.create(model, options)],
];

describe.each(placements)("a session on %s placement", (placement, createSession) => {
  it("answers bit for bit what a session created here answers, and times its run", async () => {
    const x = new ort.Tensor("float32", Float32Array.from({ length: 4 * 512 }, (_, i) => Math.sin(i)), [4, 512]);
    const direct = await ort.InferenceSession.create(wide);
    const expected = (await direct.run({ x })).y!.data as Float32Array;
    await direct.release();
    const session = await createSession(wide, {});
    expect(session.placement).toBe(placement);
    const { results, runUs, waitedUs } = await session.run({ x });
    const actual = results.y!;
    await session.release();
    expect(runUs).toBeGreaterThan(0);
    expect(Number.isFinite(runUs)).toBe(true);
    // A thread is given one run at a time: none is ever ahead of it there.
    if (placement === "thread") expect(waitedUs).toBe(0);
    else expect(Number.isFinite(waitedUs)).toBe(true);
    expect(actual.dims).toEqual([4, 16]);
    expect(Buffer.compare(Buffer.from((actual.data as Float32Array).buffer), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))).toBe(0);
  });

  it("moves owned inputs to the session's thread (none on the event loop) and leaves shared ones intact, answering the same", async () => {
    const session = await createSession(wide, {});
    const values = Float32Array.from({ length: 2 * 512 }, (_, i) => Math.cos(i));
    const shared = new ort.Tensor("float32", values.slice(), [2, 512]);
    const owned = new ort.Tensor("float32", values.slice(), [2, 512]);
    const fromShared = (await session.run({ x: shared })).results.y!.data as Float32Array;
    const fromOwned = (await session.run({ x: owned }, true)).results.y!.data as Float32Array;
    await session.release();
    expect((shared.data as Float32Array).length).toBe(2 * 512);
    expect(Array.from(shared.data as Float32Array)).toEqual(Array.from(values));
    // On a thread, detached: it moved. On the event loop it is read where it lies: nothing to move.
    expect((owned.data as Float32Array).byteLength).toBe(placement === "thread" ? 0 : 2 * 512 * 4);
    expect(Buffer.compare(Buffer.from(fromOwned.buffer, fromOwned.byteOffset, fromOwned.byteLength), Buffer.from(fromShared.buffer, fromShared.byteOffset, fromShared.byteLength))).toBe(0);
    expect(fromOwned.length).toBe(2 * 16);
  });

  it("reports a run the graph rejects, and keeps working", async () => {
    const session = await createSession(gather, {});
    const x = new ort.Tensor("float32", new Float32Array(4), [1, 4]);
    await expect(session.run({ x, idx: new ort.Tensor("int64", BigInt64Array.from([99n]), [1]) })).rejects.toThrow(/idx|indices|out of bounds|range/i);
    const ok = await session.run({ x, idx: new ort.Tensor("int64", BigInt64Array.from([1n]), [1]) });
    expect(ok.results.y!.dims).toEqual([1, 4]);
    await session.release();
  });

  it("refuses bytes that are not a model", async () => {
    await expect(createSession(new TextEncoder().encode("not a model"), {})).rejects.toThrow();
  });

  it("loads a model from its file, external data beside it included", async () => {
    const dir = await mkdtemp(join(tmpdir(), "worker-session-"));
    try {
      const path = await writeWithExternalData(dir, wide);
      const x = new ort.Tensor("float32", Float32Array.from({ length: 2 * 512 }, (_, i) => Math.cos(i)), [2, 512]);
      const fromBytes = await createSession(wide, {});
      const expected = (await fromBytes.run({ x })).results.y!;
      await fromBytes.release();
      // The load message carries a path of a few dozen bytes; the session reads the weights itself.
      const session = await createSession(path, {});
      const actual = (await session.run({ x })).results.y!;
      await session.release();
      expect(actual.dims).toEqual([2, 16]);
      expect(Array.from(actual.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
      // Without the external data file the model cannot load: the weights really were outside model.onnx.
      await rm(join(dir, "weights.bin"));
      await expect(createSession(path, {})).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("WorkerSession", () => {
  it("leaves the event loop free while a batch runs", async () => {
    const session = await WorkerSession.create(wide, {});
    const x = new ort.Tensor("float32", new Float32Array(1024 * 512).fill(0.5), [1024, 512]);
    const order: string[] = [];
    const run = session.run({ x }).then(() => order.push("run"));
    await new Promise<void>((resolve) => setImmediate(() => (order.push("event loop"), resolve())));
    await run;
    await session.release();
    expect(order).toEqual(["event loop", "run"]);
  });

  it("ends a thread in the middle of a run only once the run has come out of ONNX Runtime (ending it inside can abort the process)", async () => {
    const session = await WorkerSession.create(wide, {});
    const x = new ort.Tensor("float32", new Float32Array(2048 * 512).fill(0.5), [2048, 512]);
    const run = session.run({ x }).then(
      () => "answered" as const,
      (e: unknown) => ConnectError.from(e).code,
    );
    for (let i = 0; i < 5_000 && !session.inRuntimeCall; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(session.inRuntimeCall).toBe(true);
    await session.terminate();
    // Killed inside the call, the thread would have left its flag set (or taken the process with it).
    expect(session.inRuntimeCall).toBe(false);
    expect(session.alive).toBe(false);
    expect(["answered", Code.Unavailable]).toContain(await run);
  });

  it("answers what a dead thread held, and everything after, UNAVAILABLE, and says it died", async () => {
    const session = await WorkerSession.create(gather, {});
    const deaths: Error[] = [];
    session.onDeath = (error) => deaths.push(error);
    session.hang();
    const x = new ort.Tensor("float32", new Float32Array(4), [1, 4]);
    const inFlight = session.run({ x, idx: new ort.Tensor("int64", BigInt64Array.from([1n]), [1]) }).catch((e: unknown) => ConnectError.from(e));
    await session.crash();
    expect((await inFlight as ConnectError).code).toBe(Code.Unavailable);
    expect(session.alive).toBe(false);
    expect(deaths).toHaveLength(1);
    await expect(session.run({ x, idx: new ort.Tensor("int64", BigInt64Array.from([1n]), [1]) })).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("does not call a thread it ended itself dead", async () => {
    const session = await WorkerSession.create(gather, {});
    let died = false;
    session.onDeath = () => (died = true);
    session.hang();
    await session.terminate();
    expect(session.alive).toBe(false);
    expect(died).toBe(false);
  });
});
