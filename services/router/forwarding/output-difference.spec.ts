import { describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelInferResponseSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { PredictResponseSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { compareOutputs, outputDifference } from "./output-difference.js";

const predict = (score: number[]) => toBinary(PredictResponseSchema, create(PredictResponseSchema, { outputs: [{ name: "score", floatData: score }] }));
const infer = (score: number[]) =>
  toBinary(
    ModelInferResponseSchema,
    create(ModelInferResponseSchema, { outputs: [{ name: "score", datatype: "FP32", shape: [BigInt(score.length)] }], rawOutputContents: [new Uint8Array(Float32Array.from(score).buffer)] }),
  );

describe("outputDifference()", () => {
  it("is the largest absolute difference between matching outputs", () => {
    expect(outputDifference("predict", predict([0.5, 0.25]), predict([0.5, 0.25]))).toBe(0);
    expect(outputDifference("predict", predict([0.5, 0.25]), predict([0.75, 0]))).toBe(0.25);
    expect(outputDifference("infer", infer([1, 2]), infer([1, 2.5]))).toBe(0.5);
  });

  it("is Infinity when the outputs do not line up", () => {
    expect(outputDifference("predict", predict([0.5]), predict([0.5, 1]))).toBe(Infinity);
  });

  it("is Infinity when an output is missing on one side", () => {
    const two = toBinary(PredictResponseSchema, create(PredictResponseSchema, { outputs: [{ name: "score", floatData: [0.5] }, { name: "label", int64Data: [1n] }] }));
    expect(outputDifference("predict", predict([0.5]), two)).toBe(Infinity);
  });
});

describe("compareOutputs()", () => {
  it("gives each output's difference and which do not line up", () => {
    const primary = toBinary(PredictResponseSchema, create(PredictResponseSchema, { outputs: [{ name: "score", floatData: [0.5, 0.25] }, { name: "label", int64Data: [1n] }] }));
    const shadow = toBinary(PredictResponseSchema, create(PredictResponseSchema, { outputs: [{ name: "score", floatData: [0.5, 0.5] }, { name: "extra", floatData: [1] }] }));
    expect(compareOutputs("predict", primary, shadow)).toEqual({
      maxAbsDifference: 0.25,
      mismatch: true,
      outputs: [
        { name: "score", maxAbsDifference: 0.25, mismatch: false },
        { name: "label", maxAbsDifference: 0, mismatch: true },
        { name: "extra", maxAbsDifference: 0, mismatch: true },
      ],
    });
  });
});

describe("compareOutputs() by dtype", () => {
  const predictRaw = (dtype: DataType, bytes: ArrayBufferView) =>
    toBinary(PredictResponseSchema, create(PredictResponseSchema, { outputs: [{ name: "y", dtype, rawData: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }] }));
  const inferRaw = (datatype: string, bytes: ArrayBufferView) =>
    toBinary(
      ModelInferResponseSchema,
      create(ModelInferResponseSchema, { outputs: [{ name: "y", datatype, shape: [1n] }], rawOutputContents: [new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)] }),
    );
  const big = 2n ** 60n;

  it("tells int64 values past 2^53 apart, in typed fields and in raw bytes", () => {
    const typed = (v: bigint) => toBinary(PredictResponseSchema, create(PredictResponseSchema, { outputs: [{ name: "y", int64Data: [v] }] }));
    expect(outputDifference("predict", typed(big), typed(big + 1n))).toBe(1);
    expect(outputDifference("predict", predictRaw(DataType.INT64, BigInt64Array.of(big)), predictRaw(DataType.INT64, BigInt64Array.of(big + 1n)))).toBe(1);
    const contents = (v: bigint) =>
      toBinary(ModelInferResponseSchema, create(ModelInferResponseSchema, { outputs: [{ name: "y", datatype: "UINT64", shape: [1n], contents: { uint64Contents: [v] } }] }));
    expect(outputDifference("infer", contents(2n ** 64n - 1n), contents(2n ** 64n - 3n))).toBe(2);
    expect(outputDifference("infer", inferRaw("INT64", BigInt64Array.of(-big)), inferRaw("INT64", BigInt64Array.of(-big)))).toBe(0);
  });

  it("reads raw FP64, FP16 and signed integers as values, not bytes", () => {
    expect(outputDifference("predict", predictRaw(DataType.FLOAT64, Float64Array.of(0.5)), predictRaw(DataType.FLOAT64, Float64Array.of(0.75)))).toBe(0.25);
    // Half precision 1.0 (0x3c00) and 1.5 (0x3e00); NaN (0x7e00) on both sides is no mismatch.
    expect(outputDifference("infer", inferRaw("FP16", Uint16Array.of(0x3c00, 0x7e00)), inferRaw("FP16", Uint16Array.of(0x3e00, 0x7e00)))).toBe(0.5);
    expect(outputDifference("infer", inferRaw("INT8", Int8Array.of(-1)), inferRaw("INT8", Int8Array.of(1)))).toBe(2);
    expect(outputDifference("predict", predictRaw(DataType.INT32, Int32Array.of(-70_000)), predictRaw(DataType.INT32, Int32Array.of(70_000)))).toBe(140_000);
  });

  it("marks a NaN on one side only, and raw bytes that are not a whole number of values, as a mismatch", () => {
    expect(outputDifference("infer", inferRaw("FP16", Uint16Array.of(0x7e00)), inferRaw("FP16", Uint16Array.of(0x3c00)))).toBe(Infinity);
    expect(outputDifference("infer", inferRaw("FP32", Float32Array.of(1, 2)), inferRaw("FP32", new Uint8Array(7)))).toBe(Infinity);
  });
});
