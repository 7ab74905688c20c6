import { describe, expect, it } from "vitest";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor } from "./host-tensor.js";
import { firstNonFinite } from "./non-finite.js";

describe("firstNonFinite()", () => {
  it.each<[string, HostTensor, number]>([
    ["finite FP32", { dtype: DataType.FLOAT32, shape: [3], data: new Float32Array([0, -0, 3.4e38]) }, -1],
    ["FP32 NaN", { dtype: DataType.FLOAT32, shape: [3], data: new Float32Array([0, 1, NaN]) }, 2],
    ["FP64 Infinity first", { dtype: DataType.FLOAT64, shape: [2], data: new Float64Array([Infinity, NaN]) }, 0],
    ["FP64 -Infinity", { dtype: DataType.FLOAT64, shape: [2], data: new Float64Array([1e308, -Infinity]) }, 1],
    ["finite FP16", { dtype: DataType.FLOAT16, shape: [2], data: new Uint16Array([0x7bff, 0xfbff]) }, -1],
    ["FP16 infinity", { dtype: DataType.FLOAT16, shape: [2], data: new Uint16Array([0, 0x7c00]) }, 1],
    ["UINT16 that looks like FP16 infinity", { dtype: DataType.UINT16, shape: [1], data: new Uint16Array([0x7c00]) }, -1],
    ["INT32", { dtype: DataType.INT32, shape: [1], data: new Int32Array([-1]) }, -1],
    ["STRING", { dtype: DataType.STRING, shape: [1], data: ["NaN"] }, -1],
  ])("answers the first bad index of %s", (_label, host, index) => {
    expect(firstNonFinite(host)).toBe(index);
  });
});
