import { describe, expect, it } from "vitest";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor } from "../tensor/index.js";
import { sliceRows, splitRows, splitTensorMap } from "./split-rows.js";

describe("splitRows()", () => {
  const cases: { name: string; tensor: HostTensor; counts: number[]; want: HostTensor[] }[] = [
    {
      name: "float32 rows, dropping padding",
      tensor: { dtype: DataType.FLOAT32, shape: [4, 2], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) },
      counts: [1, 2],
      want: [
        { dtype: DataType.FLOAT32, shape: [1, 2], data: new Float32Array([1, 2]) },
        { dtype: DataType.FLOAT32, shape: [2, 2], data: new Float32Array([3, 4, 5, 6]) },
      ],
    },
    {
      name: "strings",
      tensor: { dtype: DataType.STRING, shape: [3], data: ["a", "b", "c"] },
      counts: [2, 1],
      want: [
        { dtype: DataType.STRING, shape: [2], data: ["a", "b"] },
        { dtype: DataType.STRING, shape: [1], data: ["c"] },
      ],
    },
    {
      name: "booleans of rank 3",
      tensor: { dtype: DataType.BOOL, shape: [2, 1, 2], data: [true, false, false, true] },
      counts: [1, 1],
      want: [
        { dtype: DataType.BOOL, shape: [1, 1, 2], data: [true, false] },
        { dtype: DataType.BOOL, shape: [1, 1, 2], data: [false, true] },
      ],
    },
  ];
  it.each(cases)("cuts $name", ({ tensor, counts, want }) => {
    expect(splitRows(tensor, counts)).toEqual(want);
  });

  it("copies rows into buffers of their own", () => {
    const tensor: HostTensor = { dtype: DataType.FLOAT32, shape: [2], data: new Float32Array([1, 2]) };
    const [first] = splitRows(tensor, [1]);
    expect((first?.data as Float32Array).buffer.byteLength).toBe(4);
  });

  it("refuses rows past the end", () => {
    expect(() => sliceRows({ dtype: DataType.FLOAT32, shape: [2], data: new Float32Array(2) }, 1, 2)).toThrow(/rows 1..3/);
  });
});

describe("splitTensorMap()", () => {
  it("gives each count a map with every output", () => {
    const map = new Map<string, HostTensor>([
      ["y", { dtype: DataType.FLOAT32, shape: [3], data: new Float32Array([1, 2, 3]) }],
      ["z", { dtype: DataType.INT32, shape: [3, 1], data: new Int32Array([4, 5, 6]) }],
    ]);
    const [a, b] = splitTensorMap(map, [2, 1]);
    expect(a?.get("y")?.data).toEqual(new Float32Array([1, 2]));
    expect(b?.get("z")).toEqual({ dtype: DataType.INT32, shape: [1, 1], data: new Int32Array([6]) });
  });
});
