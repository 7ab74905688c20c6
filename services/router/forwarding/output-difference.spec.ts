import { describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelInferResponseSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { PredictResponseSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { outputDifference } from "./output-difference.js";

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
});
