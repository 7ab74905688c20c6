import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { DataType, SignatureSchema } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor } from "./host-tensor.js";
import { thrownBy } from "./spec-samples.js";
import { validateInputs } from "./validate-inputs.js";

const batch = { size: -1n, name: "batch" };
const signature = create(SignatureSchema, {
  inputs: [
    { name: "features", dtype: DataType.FLOAT32, shape: [batch, { size: 4n }] },
    { name: "tokens", dtype: DataType.INT64, shape: [batch, { size: -1n, name: "seq" }] },
    { name: "temperature", dtype: DataType.FLOAT64, shape: [] },
    { name: "noisy", dtype: DataType.FLOAT32, shape: [batch], allowNonFinite: true },
  ],
});

const f32 = (shape: number[], values?: number[]): HostTensor => ({
  dtype: DataType.FLOAT32,
  shape,
  data: values === undefined ? new Float32Array(shape.reduce((a, b) => a * b, 1)) : new Float32Array(values),
});
const i64 = (shape: number[]): HostTensor => ({ dtype: DataType.INT64, shape, data: new BigInt64Array(shape.reduce((a, b) => a * b, 1)) });
const f64 = (values: number[]): HostTensor => ({ dtype: DataType.FLOAT64, shape: [], data: new Float64Array(values) });

/** A valid request of `rows` rows, with some inputs replaced. */
function request(rows: number, replace: Record<string, HostTensor | undefined> = {}): Map<string, HostTensor> {
  const inputs = new Map<string, HostTensor>([
    ["features", f32([rows, 4])],
    ["tokens", i64([rows, 7])],
    ["temperature", f64([0.7])],
    ["noisy", f32([rows])],
  ]);
  for (const [name, host] of Object.entries(replace)) {
    if (host === undefined) inputs.delete(name);
    else inputs.set(name, host);
  }
  return inputs;
}

const TAKES =
  "this model takes 'features' FP32 [-1, 4] (batch, 4), 'tokens' INT64 [-1, -1] (batch, seq), " +
  "'temperature' FP64 [], 'noisy' FP32 [-1] (batch)";

describe("validateInputs()", () => {
  it("answers the number of rows the inputs agree on", () => {
    expect(validateInputs(request(1), signature)).toEqual({ rows: 1 });
    expect(validateInputs(request(3), signature)).toEqual({ rows: 3 });
  });

  it("answers 1 row for a model without a batch dimension", () => {
    const fixed = create(SignatureSchema, { inputs: [{ name: "x", dtype: DataType.FLOAT32, shape: [{ size: 2n }, { size: 2n }] }] });
    expect(validateInputs(new Map([["x", f32([2, 2])]]), fixed)).toEqual({ rows: 1 });
  });

  it("accepts non-finite values where the spec allows them", () => {
    expect(validateInputs(request(2, { noisy: f32([2], [NaN, -Infinity]) }), signature)).toEqual({ rows: 2 });
  });

  it("accepts any size ≥ 1 for a dynamic dimension that is not the batch", () => {
    expect(validateInputs(request(2, { tokens: i64([2, 1]) }), signature).rows).toBe(2);
    expect(validateInputs(request(2, { tokens: i64([2, 512]) }), signature).rows).toBe(2);
  });

  it.each<[string, Map<string, HostTensor>, string]>([
    ["a missing input", request(1, { tokens: undefined }), `missing input 'tokens'; ${TAKES}`],
    ["missing inputs", request(1, { tokens: undefined, noisy: undefined }), `missing inputs 'tokens', 'noisy'; ${TAKES}`],
    ["an unknown input", request(1, { feature: f32([1, 4]) }), `unknown input 'feature'; ${TAKES}`],
    [
      "an unknown input standing in for a missing one",
      request(1, { features: undefined, feature: f32([1, 4]) }),
      `unknown input 'feature' and missing input 'features'; ${TAKES}`,
    ],
    [
      "the wrong dtype",
      request(2, { features: { dtype: DataType.FLOAT64, shape: [2, 4], data: new Float64Array(8) } }),
      "input 'features': expected FP32 [-1, 4] (batch, 4), got FP64 [2, 4]; send FP32 values",
    ],
    [
      "the wrong dtype and a wrong dimension",
      request(1, { features: { dtype: DataType.FLOAT64, shape: [1, 8], data: new Float64Array(8) } }),
      "input 'features': expected FP32 [-1, 4] (batch, 4), got FP64 [1, 8]; send FP32 values, dimension 1 must be 4",
    ],
    [
      "the wrong rank",
      request(1, { features: f32([4]) }),
      "input 'features': expected FP32 [-1, 4] (batch, 4), got FP32 [4]; send 2 dimensions, not 1",
    ],
    [
      "the wrong rank for a scalar",
      request(1, { temperature: { dtype: DataType.FLOAT64, shape: [1], data: new Float64Array(1) } }),
      "input 'temperature': expected FP64 [], got FP64 [1]; send 0 dimensions, not 1",
    ],
    [
      "zero rows",
      request(0),
      "input 'features': expected FP32 [-1, 4] (batch, 4), got FP32 [0, 4]; dimension 0 (batch) is 0; send at least one row",
    ],
    [
      "an empty dynamic dimension",
      request(1, { tokens: i64([1, 0]) }),
      "input 'tokens': expected INT64 [-1, -1] (batch, seq), got INT64 [1, 0]; dimension 1 (seq) must be at least 1",
    ],
    [
      "inputs that disagree on the batch size",
      request(2, { tokens: i64([3, 5]) }),
      "inputs disagree on the batch size: 'features' has 2 rows but 'tokens' has 3; send the same number of rows in every input",
    ],
    [
      "a NaN",
      request(2, { features: f32([2, 4], [0, 1, 2, 3, 4, NaN, 6, 7]) }),
      "input 'features' has NaN at index 5 (row 1); this model does not accept non-finite values",
    ],
    [
      "an infinity in an unbatched input",
      request(1, { temperature: f64([Infinity]) }),
      "input 'temperature' has Infinity at index 0; this model does not accept non-finite values",
    ],
    [
      "a -Infinity",
      request(1, { features: f32([1, 4], [0, 0, -Infinity, 0]) }),
      "input 'features' has -Infinity at index 2 (row 0); this model does not accept non-finite values",
    ],
  ])("answers INVALID_ARGUMENT for %s", (_label, inputs, message) => {
    const error = thrownBy(() => validateInputs(inputs, signature));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe(message);
  });

  it("checks FP16 inputs for non-finite values", () => {
    const half: MessageInitShape<typeof SignatureSchema> = {
      inputs: [{ name: "h", dtype: DataType.FLOAT16, shape: [batch, { size: 2n }] }],
    };
    const inputs = new Map([["h", { dtype: DataType.FLOAT16, shape: [2, 2], data: new Uint16Array([0x3c00, 0, 0, 0x7e00]) }]]);
    const error = thrownBy(() => validateInputs(inputs, create(SignatureSchema, half)));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("input 'h' has NaN at index 3 (row 1); this model does not accept non-finite values");
  });
});
