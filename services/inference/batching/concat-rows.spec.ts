import { describe, expect, it } from "vitest";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor } from "../tensor/index.js";
import { concatRows, concatTensorMaps } from "./concat-rows.js";

describe("concatRows()", () => {
  const cases: { name: string; parts: HostTensor[]; pad: number; want: HostTensor }[] = [
    {
      name: "float32 rows",
      parts: [
        { dtype: DataType.FLOAT32, shape: [1, 2], data: new Float32Array([1, 2]) },
        { dtype: DataType.FLOAT32, shape: [2, 2], data: new Float32Array([3, 4, 5, 6]) },
      ],
      pad: 0,
      want: { dtype: DataType.FLOAT32, shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    },
    {
      name: "int64 rows padded with the last row",
      parts: [
        { dtype: DataType.INT64, shape: [1, 2], data: new BigInt64Array([1n, 2n]) },
        { dtype: DataType.INT64, shape: [1, 2], data: new BigInt64Array([3n, 4n]) },
      ],
      pad: 2,
      want: { dtype: DataType.INT64, shape: [4, 2], data: new BigInt64Array([1n, 2n, 3n, 4n, 3n, 4n, 3n, 4n]) },
    },
    {
      name: "strings, padded",
      parts: [
        { dtype: DataType.STRING, shape: [1], data: ["a"] },
        { dtype: DataType.STRING, shape: [2], data: ["b", "c"] },
      ],
      pad: 1,
      want: { dtype: DataType.STRING, shape: [4], data: ["a", "b", "c", "c"] },
    },
    {
      name: "booleans",
      parts: [
        { dtype: DataType.BOOL, shape: [1, 1], data: [true] },
        { dtype: DataType.BOOL, shape: [1, 1], data: [false] },
      ],
      pad: 0,
      want: { dtype: DataType.BOOL, shape: [2, 1], data: [true, false] },
    },
    {
      name: "a 1-D tensor",
      parts: [{ dtype: DataType.UINT8, shape: [2], data: new Uint8Array([7, 8]) }],
      pad: 1,
      want: { dtype: DataType.UINT8, shape: [3], data: new Uint8Array([7, 8, 8]) },
    },
  ];
  it.each(cases)("stacks $name", ({ parts, pad, want }) => {
    expect(concatRows(parts, pad)).toEqual(want);
  });

  it("copies, so the inputs stay as they were", () => {
    const a: HostTensor = { dtype: DataType.FLOAT32, shape: [1], data: new Float32Array([1]) };
    const out = concatRows([a, a]);
    (out.data as Float32Array)[0] = 9;
    expect(a.data[0]).toBe(1);
  });

  it("refuses parts with different trailing dims", () => {
    expect(() =>
      concatRows([
        { dtype: DataType.FLOAT32, shape: [1, 2], data: new Float32Array(2) },
        { dtype: DataType.FLOAT32, shape: [1, 3], data: new Float32Array(3) },
      ]),
    ).toThrow(/mixed shapes/);
  });
});

describe("concatTensorMaps()", () => {
  it("stacks every input by name", () => {
    const t = (v: number[]): HostTensor => ({ dtype: DataType.FLOAT32, shape: [v.length], data: new Float32Array(v) });
    const out = concatTensorMaps([new Map([["x", t([1])], ["y", t([2])]]), new Map([["y", t([4])], ["x", t([3])]])]);
    expect(out.get("x")?.data).toEqual(new Float32Array([1, 3]));
    expect(out.get("y")?.data).toEqual(new Float32Array([2, 4]));
  });
});
