import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { DataType, SignatureSchema } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { fromNestedInputs } from "./nested-inputs.js";
import { thrownBy } from "./spec-samples.js";

const signature = create(SignatureSchema, {
  inputs: [
    { name: "features", dtype: DataType.FLOAT32, shape: [{ size: -1n }, { size: 2n }] },
    { name: "mask", dtype: DataType.BOOL, shape: [{ size: -1n }] },
  ],
});

describe("fromNestedInputs()", () => {
  it("reads each input with its spec's dtype", () => {
    const inputs = fromNestedInputs(signature, { features: [[0.5, 1]], mask: [true] });
    expect(inputs.get("features")).toEqual({ dtype: DataType.FLOAT32, shape: [1, 2], data: new Float32Array([0.5, 1]) });
    expect(inputs.get("mask")).toEqual({ dtype: DataType.BOOL, shape: [1], data: [true] });
  });

  it("answers INVALID_ARGUMENT listing the model's inputs for an unknown name", () => {
    const error = thrownBy(() => fromNestedInputs(signature, { feature: [[1, 2]] }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("unknown input 'feature'; this model takes 'features', 'mask'");
  });

  it("answers INVALID_ARGUMENT for inputs that are not an object", () => {
    const error = thrownBy(() => fromNestedInputs(signature, [[1, 2]]));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("inputs must be a JSON object of input name to nested array, got an array");
  });
});
