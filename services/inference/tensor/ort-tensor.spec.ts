import { Tensor } from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { fromOrtTensor, toOrtTensor } from "./ort-tensor.js";
import { SAMPLES, tensorDifference, thrownBy } from "./spec-samples.js";

const ORT_TYPE: Record<string, string> = {
  FP32: "float32",
  FP64: "float64",
  FP16: "float16",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  BOOL: "bool",
  BYTES: "string",
};

describe("toOrtTensor() and fromOrtTensor()", () => {
  it.each(SAMPLES)("round-trip $label through an onnxruntime-node Tensor", ({ label, host }) => {
    const t = toOrtTensor(host);
    expect(t).toBeInstanceOf(Tensor);
    expect(t.type).toBe(ORT_TYPE[label]);
    expect(t.dims).toEqual([2, 3]);
    expect(t.size).toBe(6);
    expect(tensorDifference(fromOrtTensor(t), host)).toBeUndefined();
  });

  it("shares numeric data both ways instead of copying", () => {
    const data = new Float32Array([1, 2, 3]);
    const t = toOrtTensor({ dtype: DataType.FLOAT32, shape: [1, 3], data });
    expect(t.data).toBe(data);
    expect(fromOrtTensor(t).data).toBe(data);
  });

  it("packs BOOL as the Uint8Array ONNX Runtime takes", () => {
    const t = toOrtTensor({ dtype: DataType.BOOL, shape: [3], data: [true, false, true] });
    expect(t.data).toEqual(new Uint8Array([1, 0, 1]));
  });

  it("reads a Tensor onnxruntime made itself", () => {
    const t = new Tensor("int64", new BigInt64Array([5n, -5n]), [2, 1]);
    expect(fromOrtTensor(t)).toEqual({ dtype: DataType.INT64, shape: [2, 1], data: new BigInt64Array([5n, -5n]) });
  });

  it("answers INTERNAL naming the tensor for a type Tessera does not serve", () => {
    const error = thrownBy(() => fromOrtTensor(new Tensor("int4", new Uint8Array(1), [2]), "logits"));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toContain("tensor 'logits': the model produced onnxruntime type 'int4'");
  });

  it("answers INVALID_ARGUMENT for an unsupported dtype", () => {
    const error = thrownBy(() => toOrtTensor({ dtype: DataType.UNSPECIFIED, shape: [1], data: new Float32Array(1) }, "x"));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("tensor 'x': data type UNSPECIFIED (0) is not supported");
  });

  it("answers INTERNAL when the data does not fit the shape", () => {
    const error = thrownBy(() => toOrtTensor({ dtype: DataType.FLOAT32, shape: [2, 2], data: new Float32Array(3) }, "x"));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("tensor 'x': shape [2, 2] needs 4 elements, the tensor holds 3");
  });
});
