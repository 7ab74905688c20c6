import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { InferParameterSchema, type InferParameter } from "../../../libs/gen/inference/grpc_service_pb.js";
import { oipTarget, readBoolParameter, readCountParameter } from "./oip-parameters.js";

const param = (choice: InferParameter["parameterChoice"]) => create(InferParameterSchema, { parameterChoice: choice });

describe("readCountParameter()", () => {
  it("reads priority and timeout however Triton clients send them", () => {
    expect(readCountParameter({ priority: param({ case: "uint64Param", value: 2n }) }, "priority")).toBe(2);
    expect(readCountParameter({ timeout: param({ case: "int64Param", value: 5000n }) }, "timeout")).toBe(5000);
    expect(readCountParameter({ timeout: param({ case: "stringParam", value: "70" }) }, "timeout")).toBe(70);
    expect(readCountParameter({}, "priority")).toBeUndefined();
  });

  it.each([
    param({ case: "int64Param", value: -1n }),
    param({ case: "doubleParam", value: 1.5 }),
    param({ case: "stringParam", value: "soon" }),
    param({ case: "boolParam", value: true }),
  ])("refuses %o naming the parameter", (value) => {
    expect(() => readCountParameter({ priority: value }, "priority")).toThrow(/parameter "priority" must be a whole number/);
  });
});

describe("readBoolParameter()", () => {
  it("reads a bool_param and defaults to false", () => {
    expect(readBoolParameter({ binary_data_output: param({ case: "boolParam", value: true }) }, "binary_data_output")).toBe(true);
    expect(readBoolParameter({}, "binary_data_output")).toBe(false);
    expect(() => readBoolParameter({ binary_data: param({ case: "int64Param", value: 1n }) }, "binary_data")).toThrow(/bool_param/);
  });
});

describe("oipTarget()", () => {
  it("reads an empty version as the default, digits as a number, anything else as an alias", () => {
    expect(oipTarget("fraud", "")).toEqual({ model: "fraud" });
    expect(oipTarget("fraud", "3")).toEqual({ model: "fraud", version: 3 });
    expect(oipTarget("fraud", "production")).toEqual({ model: "fraud", alias: "production" });
    expect(() => oipTarget("fraud", "0")).toThrow(/out of range/);
  });
});
