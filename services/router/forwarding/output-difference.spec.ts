import { describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelInferResponseSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { PredictResponseSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
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
