import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DataType, TensorSpecSchema } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { describeHost, describeSpec } from "./spec-text.js";

describe("describeSpec()", () => {
  it.each([
    ["FP32 [-1, 16] (batch, 16)", [{ size: -1n, name: "batch" }, { size: 16n }]],
    ["FP32 [-1, 16] (any, 16)", [{ size: -1n }, { size: 16n }]],
    ["FP32 [2, 16]", [{ size: 2n }, { size: 16n }]],
    ["FP32 []", []],
  ])("writes %s", (text, shape) => {
    expect(describeSpec(create(TensorSpecSchema, { name: "x", dtype: DataType.FLOAT32, shape }))).toBe(text);
  });
});

describe("describeHost()", () => {
  it("writes the dtype and shape", () => {
    expect(describeHost({ dtype: DataType.FLOAT64, shape: [1, 8], data: new Float64Array(8) })).toBe("FP64 [1, 8]");
  });
});
