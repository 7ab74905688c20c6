import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor, TensorData } from "./host-tensor.js";
import { fromRestInput, toRestBinaryOutput, toRestOutput } from "./rest-tensor.js";
import { SAMPLES, tensorDifference, thrownBy } from "./spec-samples.js";

/** JSON has no -0: JSON.stringify writes it as 0. Everything else survives. */
function withoutNegativeZero(host: HostTensor): HostTensor {
  const data = host.data;
  if (data instanceof Float32Array || data instanceof Float64Array) {
    return { ...host, data: data.map((v) => (Object.is(v, -0) ? 0 : v)) as TensorData };
  }
  if (host.dtype === DataType.FLOAT16 && data instanceof Uint16Array) {
    return { ...host, data: data.map((v) => (v === 0x8000 ? 0 : v)) };
  }
  return host;
}

describe("toRestOutput() and fromRestInput()", () => {
  it.each(SAMPLES)("round-trip $label through JSON text", ({ label, host }) => {
    const json = toRestOutput("t", host);
    expect(json).toMatchObject({ name: "t", datatype: label, shape: [2, 3] });
    const back = fromRestInput(JSON.parse(JSON.stringify(json)));
    expect(back.name).toBe("t");
    expect(tensorDifference(back.tensor, withoutNegativeZero(host))).toBeUndefined();
  });

  it.each(SAMPLES)("round-trip $label through the binary data extension", ({ host }) => {
    const { tensor, raw } = toRestBinaryOutput("t", host);
    expect(tensor.parameters.binary_data_size).toBe(raw.byteLength);
    const back = fromRestInput(JSON.parse(JSON.stringify(tensor)), raw);
    expect(back.binaryBytes).toBe(raw.byteLength);
    expect(tensorDifference(back.tensor, host)).toBeUndefined();
  });

  it("writes non-finite floats as strings, FP16 as numbers, and 64-bit integers as numbers when safe", () => {
    expect(toRestOutput("f", { dtype: DataType.FLOAT32, shape: [3], data: new Float32Array([NaN, Infinity, 0.5]) }).data).toEqual(
      ["NaN", "Infinity", 0.5],
    );
    expect(toRestOutput("h", { dtype: DataType.FLOAT16, shape: [2], data: new Uint16Array([0x3c00, 0xfc00]) }).data).toEqual([
      1,
      "-Infinity",
    ]);
    const ids = new BigInt64Array([2n ** 53n - 1n, 2n ** 53n, -(2n ** 63n)]);
    expect(toRestOutput("ids", { dtype: DataType.INT64, shape: [3], data: ids }).data).toEqual([
      9007199254740991,
      "9007199254740992",
      "-9223372036854775808",
    ]);
  });

  it("writes FP32 with the fewest digits that read back the same", () => {
    const data = new Float32Array([0.1, 0.2, 1 / 3, 16777217, 1.401298464324817e-45, 3.4028234663852886e38]);
    const json = toRestOutput("p", { dtype: DataType.FLOAT32, shape: [6], data });
    expect(JSON.stringify(json.data)).toBe("[0.1,0.2,0.33333334,16777216,1e-45,3.4028235e+38]");
    const back = fromRestInput(JSON.parse(JSON.stringify(json))).tensor.data;
    expect(back).toEqual(data);
  });

  it("flattens nested data row-major", () => {
    const { tensor } = fromRestInput({ name: "x", datatype: "INT32", shape: [2, 2], data: [[1, 2], [3, 4]] });
    expect(tensor).toEqual({ dtype: DataType.INT32, shape: [2, 2], data: new Int32Array([1, 2, 3, 4]) });
  });

  it("reads 64-bit integers from numbers and decimal strings", () => {
    const { tensor } = fromRestInput({ name: "x", datatype: "UINT64", shape: [2], data: [7, "18446744073709551615"] });
    expect(tensor.data).toEqual(new BigUint64Array([7n, 2n ** 64n - 1n]));
  });

  const x = { name: "x", datatype: "FP32", shape: [2] };
  it.each<[string, unknown, string]>([
    ["not an object", [1, 2], `input must be an object with "name", "shape", "datatype" and "data", got an array`],
    ["no name", { ...x, name: undefined, data: [1, 2] }, `input: "name" must be a non-empty string, got nothing`],
    ["no datatype", { ...x, datatype: undefined, data: [1, 2] }, `input 'x': "datatype" must be a string such as "FP32"`],
    ["an unknown datatype", { ...x, datatype: "FLOAT32", data: [1, 2] }, `input 'x': datatype 'FLOAT32' is not supported`],
    ["a bad shape", { ...x, shape: [-2], data: [] }, `input 'x': "shape"[0] must be a non-negative integer, got -2`],
    ["no data", x, `input 'x': "data" must be an array of values, got nothing`],
    ["data that is not an array", { ...x, data: 3 }, `input 'x': "data" must be an array of values, got a number`],
    ["too few values", { ...x, data: [1] }, `input 'x': shape [2] needs 2 values, got 1 in "data"`],
    ["too many nested values", { ...x, data: [[1, 2], [3]] }, `input 'x': shape [2] needs 2 values, got 3 in "data"`],
    ["a string where a number goes", { ...x, data: [1, "2"] }, `input 'x': data[1] must be a number (or "NaN", "Infinity", "-Infinity") for FP32, got "2"`],
    ["a fraction in INT32", { ...x, datatype: "INT32", data: [1, 1.5] }, `input 'x': data[1] must be an integer in -2147483648..2147483647 for INT32, got 1.5`],
    ["an out-of-range UINT8", { ...x, datatype: "UINT8", data: [256, 0] }, `input 'x': data[0] must be an integer in 0..255 for UINT8, got 256`],
    ["an unsafe INT64 number", { ...x, datatype: "INT64", data: [2 ** 60, 0] }, `input 'x': data[0] must be an integer in`],
    ["an INT64 string out of range", { ...x, datatype: "INT64", data: ["9223372036854775808", 0] }, `input 'x': data[0] must be an integer in`],
    ["a negative UINT64", { ...x, datatype: "UINT64", data: ["-1", 0] }, `input 'x': data[0] must be an integer in 0..`],
    ["a number in BOOL", { ...x, datatype: "BOOL", data: [true, 1] }, `input 'x': data[1] must be true or false for BOOL, got 1`],
    ["a number in BYTES", { ...x, datatype: "BYTES", data: ["a", 1] }, `input 'x': data[1] must be a string for BYTES, got 1`],
    ["parameters that are not an object", { ...x, data: [1, 2], parameters: [] }, `input 'x': "parameters" must be an object`],
    ["a bad binary_data_size", { ...x, parameters: { binary_data_size: -1 } }, `input 'x': parameters.binary_data_size must be a non-negative integer`],
    ["binary_data_size with data", { ...x, data: [1, 2], parameters: { binary_data_size: 8 } }, `input 'x' has both "data" and parameters.binary_data_size`],
    ["binary_data_size past the body", { ...x, parameters: { binary_data_size: 8 } }, `input 'x': binary_data_size is 8 but the body's binary part has 0 bytes left`],
  ])("answers INVALID_ARGUMENT for %s", (_label, json, message) => {
    const error = thrownBy(() => fromRestInput(json));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain(message);
  });
});
