import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { exampleModel } from "../../../mesh/models/index.js";
import { WorkerSession } from "./worker-session.js";

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
});
