import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { LoggedTensorSchema, PredictionLogSchema, type LoggedTensor } from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { encodePredictionLog } from "../../../libs/prediction-log/index.js";
import { loggedTensor } from "./build-prediction-log.js";

/** The same tensor with plain arrays, as a decoder would give it back. */
const plain = (t: LoggedTensor) => create(LoggedTensorSchema, { ...t, numbers: Array.from(t.numbers), strings: [...t.strings] });

describe("loggedTensor()", () => {
  it("keeps the leading rows of a typed tensor as doubles, counting the rows left out", () => {
    const t = loggedTensor("x", { dtype: DataType.FLOAT32, shape: [2, 3], data: new Float32Array([0.1, -0, 3, 4, 5, 6]) }, 1);
    expect(Array.from(t.numbers)).toEqual([Math.fround(0.1), -0, 3]);
    expect(t.shape).toEqual([2n, 3n]);
    expect(t.rowsOmitted).toBe(1);
    expect(loggedTensor("x", { dtype: DataType.INT32, shape: [2], data: new Int32Array([-7, 9]) }, "all").numbers).toHaveLength(2);
  });

  it("logs int64 values as numbers, booleans as 1 and 0, strings as strings", () => {
    expect(Array.from(loggedTensor("i", { dtype: DataType.INT64, shape: [2], data: new BigInt64Array([-3n, 2n ** 40n]) }, "all").numbers)).toEqual([-3, 2 ** 40]);
    expect(Array.from(loggedTensor("b", { dtype: DataType.BOOL, shape: [3], data: [true, false, true] }, "all").numbers)).toEqual([1, 0, 1]);
    const s = loggedTensor("s", { dtype: DataType.STRING, shape: [2, 1], data: ["a", "é"] }, 1);
    expect([s.strings, s.numbers.length, s.rowsOmitted]).toEqual([["a"], 0, 1]);
  });

  it("encodes a log of typed-array tensors to the bytes toBinary writes for the same values in plain arrays", () => {
    const inputs = [
      loggedTensor("x", { dtype: DataType.FLOAT32, shape: [1, 4], data: new Float32Array([0.5, Number.NaN, -Infinity, 1e-40]) }, "all"),
      loggedTensor("d", { dtype: DataType.FLOAT64, shape: [2], data: new Float64Array([1e300, -0]) }, "all"),
    ];
    const log = create(PredictionLogSchema, { model: "m", version: 1, inputs });
    const reference = create(PredictionLogSchema, { model: "m", version: 1, inputs: inputs.map(plain) });
    expect(Buffer.from(encodePredictionLog(log)).equals(Buffer.from(toBinary(PredictionLogSchema, reference)))).toBe(true);
  });
});
