import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PredictResponseSchema } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { formatPrediction, predictionJson } from "./format-prediction.js";

const response = create(PredictResponseSchema, {
  model: "fraud",
  version: 3,
  requestId: "r1",
  timing: { queueUs: 150n, computeUs: 12_345n, batchSize: 4 },
  outputs: [
    { name: "score", dtype: DataType.FLOAT32, shape: [2n, 1n], floatData: [0.1234567891, 0.5] },
    { name: "ids", dtype: DataType.INT64, shape: [2n], int64Data: [7n, 2n ** 60n] },
  ],
});

describe("formatPrediction()", () => {
  it("prints the version, timing and each output as nested arrays", () => {
    expect(formatPrediction(response)).toBe(
      ["fraud v3  queue 0.15 ms  compute 12.3 ms  batch 4", "score float32 [2, 1]", "[[0.123457], [0.5]]", "ids int64 [2]", "[7, 1152921504606846976]"].join("\n"),
    );
  });

  it("reads outputs the server sent as raw little-endian bytes", () => {
    const raw = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const text = formatPrediction(create(PredictResponseSchema, { model: "m", version: 1, outputs: [{ name: "y", dtype: DataType.FLOAT32, shape: [1n, 2n], rawData: raw }] }));
    expect(text.split("\n").slice(1)).toEqual(["y float32 [1, 2]", "[[1.5, -2]]"]);
  });

  it("names non-finite values rather than printing null", () => {
    const text = formatPrediction(create(PredictResponseSchema, { model: "m", version: 1, outputs: [{ name: "y", dtype: DataType.FLOAT64, shape: [2n], doubleData: [NaN, -Infinity] }] }));
    expect(text.split("\n")[2]).toBe("[NaN, -Infinity]");
  });
});

describe("predictionJson()", () => {
  it("keeps full precision, and writes integers past 2^53 as strings", () => {
    expect(predictionJson(response)).toEqual({
      model: "fraud",
      version: 3,
      requestId: "r1",
      timing: { queueUs: 150, computeUs: 12345, batchSize: 4 },
      outputs: {
        score: { dtype: "float32", shape: [2, 1], data: [[0.1234567891], [0.5]] },
        ids: { dtype: "int64", shape: [2], data: [7, "1152921504606846976"] },
      },
    });
  });
});
