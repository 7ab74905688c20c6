import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { DataType, TensorSpecSchema } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { fromNestedArray } from "./nested-array.js";
import { thrownBy } from "./spec-samples.js";

const spec = (dtype: DataType) => create(TensorSpecSchema, { name: "features", dtype, shape: [{ size: -1n, name: "batch" }, { size: 2n }] });

describe("fromNestedArray()", () => {
  it.each<[string, DataType, unknown, number[], unknown[]]>([
    ["a batch of rows", DataType.FLOAT32, [[0.1, 0.2], [0.3, 0.4]], [2, 2], [0.1, 0.2, 0.3, 0.4].map(Math.fround)],
    ["one row", DataType.FLOAT64, [[0.1, 0.2]], [1, 2], [0.1, 0.2]],
    ["a flat vector", DataType.INT32, [1, 2, 3], [3], [1, 2, 3]],
    ["a scalar", DataType.INT64, "42", [], [42n]],
    ["three levels", DataType.UINT8, [[[1], [2]], [[3], [4]]], [2, 2, 1], [1, 2, 3, 4]],
    ["an empty array", DataType.FLOAT32, [], [0], []],
    ["rows of nothing", DataType.FLOAT32, [[], []], [2, 0], []],
    ["booleans", DataType.BOOL, [[true, false]], [1, 2], [true, false]],
    ["strings", DataType.STRING, [["a", "b"]], [1, 2], ["a", "b"]],
    ["FP16 from numbers", DataType.FLOAT16, [[1, -2]], [1, 2], [0x3c00, 0xc000]],
  ])("reads %s", (_label, dtype, value, shape, data) => {
    const host = fromNestedArray(spec(dtype), value);
    expect(host.dtype).toBe(dtype);
    expect(host.shape).toEqual(shape);
    expect([...host.data]).toEqual(data);
  });

  it.each<[string, DataType, unknown, string]>([
    ["ragged rows", DataType.FLOAT32, [[1, 2], [3]], "input 'features': features[1] has 1 element, expected 2"],
    ["a value among rows", DataType.FLOAT32, [[1, 2], 3], "input 'features': features[1] has a value, expected 2"],
    ["a row among values", DataType.FLOAT32, [1, [2]], "input 'features': features[1] is an array, but its siblings are values"],
    ["a string in FP32", DataType.FLOAT32, [[1, "x"]], `input 'features': values[1] must be a number (or "NaN", "Infinity", "-Infinity") for FP32, got "x"`],
    ["a fraction in INT64", DataType.INT64, [[1.5]], "input 'features': values[0] must be an integer in"],
    ["a number in BOOL", DataType.BOOL, [[1]], "input 'features': values[0] must be true or false for BOOL, got 1"],
    ["null", DataType.FLOAT32, [[null]], "input 'features': values[0] must be a number"],
    ["an unspecified dtype", DataType.UNSPECIFIED, [[1]], "input 'features': data type UNSPECIFIED (0) is not supported"],
  ])("answers INVALID_ARGUMENT for %s", (_label, dtype, value, message) => {
    const error = thrownBy(() => fromNestedArray(spec(dtype), value));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain(message);
  });
});
