import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { packTensors } from "./wire-tensors.js";

const tensor = (data: Float32Array) => new ort.Tensor("float32", data, [1, data.length]);

describe("packTensors", () => {
  it("transfers an owned tensor's whole buffer without copying it", () => {
    const data = Float32Array.from([1, 2, 3, 4]);
    const packed = packTensors([["x", tensor(data)]], true);
    expect(packed.transfer).toEqual([data.buffer]);
    expect(packed.tensors[0]!.data).toBe(data);
  });

  it("leaves data that is not owned to structured clone (warm-up inputs are shared by several runs)", () => {
    const data = Float32Array.from([1, 2, 3, 4]);
    const packed = packTensors([["x", tensor(data)]], false);
    expect(packed.transfer).toEqual([]);
    expect(packed.tensors[0]!.data).toBe(data);
  });

  it("copies a view into a larger buffer down to its own bytes and moves the copy, leaving the buffer alone", () => {
    const frame = new ArrayBuffer(1024);
    new Float32Array(frame).fill(9);
    const view = new Float32Array(frame, 16, 4);
    view.set([1, 2, 3, 4]);
    for (const owned of [true, false]) {
      const packed = packTensors([["x", tensor(view)]], owned);
      const sent = packed.tensors[0]!.data as Float32Array;
      expect(sent).not.toBe(view);
      expect(Array.from(sent)).toEqual([1, 2, 3, 4]);
      expect(sent.buffer.byteLength).toBe(16);
      expect(packed.transfer).toEqual([sent.buffer]);
    }
    expect(frame.byteLength).toBe(1024);
  });

  it("lists a buffer two tensors share once", () => {
    const data = Float32Array.from([1, 2]);
    const packed = packTensors([["a", tensor(data)], ["b", tensor(data)]], true);
    expect(packed.transfer).toEqual([data.buffer]);
  });

  it("clones strings", () => {
    const packed = packTensors([["s", new ort.Tensor("string", ["a", "b"], [2])]], true);
    expect(packed.tensors[0]!.data).toEqual(["a", "b"]);
    expect(packed.transfer).toEqual([]);
  });
});
