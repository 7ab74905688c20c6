import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor } from "../tensor/index.js";
import { batchKey } from "./batch-key.js";

const f32 = (shape: number[]): HostTensor => ({
  dtype: DataType.FLOAT32,
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});
const i64 = (shape: number[]): HostTensor => ({
  dtype: DataType.INT64,
  shape,
  data: new BigInt64Array(shape.reduce((a, b) => a * b, 1)),
});

describe("batchKey()", () => {
  it("is equal for requests that differ only in rows", () => {
    expect(batchKey(new Map([["x", f32([2, 4])]]), 2)).toBe(batchKey(new Map([["x", f32([5, 4])]]), 5));
  });

  it("does not depend on the order of the inputs", () => {
    const a = new Map([["a", f32([1, 2])], ["b", i64([1])]]);
    const b = new Map([["b", i64([1])], ["a", f32([1, 2])]]);
    expect(batchKey(a, 1)).toBe(batchKey(b, 1));
  });

  const differ: { name: string; a: Map<string, HostTensor>; b: Map<string, HostTensor> }[] = [
    { name: "trailing dims", a: new Map([["x", f32([1, 4])]]), b: new Map([["x", f32([1, 8])]]) },
    { name: "rank", a: new Map([["x", f32([1, 4])]]), b: new Map([["x", f32([1, 4, 1])]]) },
    { name: "dtype", a: new Map([["x", f32([1, 4])]]), b: new Map([["x", i64([1, 4])]]) },
    { name: "input names", a: new Map([["x", f32([1, 4])]]), b: new Map([["y", f32([1, 4])]]) },
  ];
  it.each(differ)("differs when $name differ", ({ a, b }) => {
    expect(batchKey(a, 1)).not.toBe(batchKey(b, 1));
  });

  const bad: { name: string; inputs: Map<string, HostTensor>; rows: number; message: string }[] = [
    { name: "0 rows", inputs: new Map([["x", f32([0, 4])]]), rows: 0, message: "at least 1 row" },
    { name: "no inputs", inputs: new Map(), rows: 1, message: "at least one input" },
    { name: "rows that disagree", inputs: new Map([["x", f32([3, 4])]]), rows: 2, message: "input 'x' has shape [3,4] but the request has 2 rows" },
    { name: "a scalar", inputs: new Map([["x", f32([])]]), rows: 1, message: "input 'x' has shape []" },
    {
      name: "data that does not fill the shape",
      inputs: new Map([["x", { dtype: DataType.FLOAT32, shape: [2, 2], data: new Float32Array(3) }]]),
      rows: 2,
      message: "holds 3",
    },
  ];
  it.each(bad)("throws INVALID_ARGUMENT for $name", ({ inputs, rows, message }) => {
    let caught: unknown;
    try {
      batchKey(inputs, rows);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConnectError);
    expect((caught as ConnectError).code).toBe(Code.InvalidArgument);
    expect((caught as ConnectError).message).toContain(message);
  });
});
