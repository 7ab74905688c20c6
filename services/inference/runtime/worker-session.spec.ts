import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { ModelProtoSchema, StringStringEntryProtoSchema } from "../../../libs/gen/onnx/onnx_pb.js";
import { exampleModel } from "../../../mesh/models/index.js";
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

describe("WorkerSession", () => {
  it("answers what an in-thread session answers", async () => {
    const x = new ort.Tensor("float32", Float32Array.from({ length: 4 * 512 }, (_, i) => Math.sin(i)), [4, 512]);
    const direct = await ort.InferenceSession.create(wide);
    const expected = (await direct.run({ x })).y!.data as Float32Array;
    await direct.release();
    const session = await WorkerSession.create(wide, {});
    const actual = (await session.run({ x })).y!;
    await session.release();
    expect(actual.dims).toEqual([4, 16]);
    expect(Buffer.compare(Buffer.from((actual.data as Float32Array).buffer), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))).toBe(0);
  });

  it("moves owned inputs to the session's thread and leaves shared ones intact, answering the same", async () => {
    const session = await WorkerSession.create(wide, {});
    const values = Float32Array.from({ length: 2 * 512 }, (_, i) => Math.cos(i));
    const shared = new ort.Tensor("float32", values.slice(), [2, 512]);
    const owned = new ort.Tensor("float32", values.slice(), [2, 512]);
    const fromShared = (await session.run({ x: shared })).y!.data as Float32Array;
    const fromOwned = (await session.run({ x: owned }, true)).y!.data as Float32Array;
    await session.release();
    expect((shared.data as Float32Array).length).toBe(2 * 512);
    expect(Array.from(shared.data as Float32Array)).toEqual(Array.from(values));
    expect((owned.data as Float32Array).byteLength).toBe(0); // detached: it moved
    expect(Buffer.compare(Buffer.from(fromOwned.buffer, fromOwned.byteOffset, fromOwned.byteLength), Buffer.from(fromShared.buffer, fromShared.byteOffset, fromShared.byteLength))).toBe(0);
    expect(fromOwned.length).toBe(2 * 16);
  });

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

  it("reports a run the graph rejects, and keeps working", async () => {
    const session = await WorkerSession.create(gather, {});
    const x = new ort.Tensor("float32", new Float32Array(4), [1, 4]);
    await expect(session.run({ x, idx: new ort.Tensor("int64", BigInt64Array.from([99n]), [1]) })).rejects.toThrow(/idx|indices|out of bounds|range/i);
    const ok = await session.run({ x, idx: new ort.Tensor("int64", BigInt64Array.from([1n]), [1]) });
    expect(ok.y!.dims).toEqual([1, 4]);
    await session.release();
  });

  it("refuses bytes that are not a model", async () => {
    await expect(WorkerSession.create(new TextEncoder().encode("not a model"), {})).rejects.toThrow();
  });

  it("loads a model from its file, external data beside it included", async () => {
    const dir = await mkdtemp(join(tmpdir(), "worker-session-"));
    try {
      const path = await writeWithExternalData(dir, wide);
      const x = new ort.Tensor("float32", Float32Array.from({ length: 2 * 512 }, (_, i) => Math.cos(i)), [2, 512]);
      const fromBytes = await WorkerSession.create(wide, {});
      const expected = (await fromBytes.run({ x })).y!;
      await fromBytes.release();
      // The load message carries a path of a few dozen bytes; the thread reads the weights itself.
      const session = await WorkerSession.create(path, {});
      const actual = (await session.run({ x })).y!;
      await session.release();
      expect(actual.dims).toEqual([2, 16]);
      expect(Array.from(actual.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
      // Without the external data file the model cannot load: the weights really were outside model.onnx.
      await rm(join(dir, "weights.bin"));
      await expect(WorkerSession.create(path, {})).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
