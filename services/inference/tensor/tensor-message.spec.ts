import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { TensorSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { SAMPLES, tensorDifference, thrownBy } from "./spec-samples.js";
import { fromTensorMessage, toTensorMessage } from "./tensor-message.js";

const NATURAL_FIELD: Record<string, string> = {
  FP32: "floatData",
  FP64: "doubleData",
  FP16: "rawData",
  INT8: "int32Data",
  INT16: "int32Data",
  INT32: "int32Data",
  INT64: "int64Data",
  UINT8: "int32Data",
  UINT16: "int32Data",
  UINT32: "uint64Data",
  UINT64: "uint64Data",
  BOOL: "boolData",
  BYTES: "stringData",
};

describe("toTensorMessage() and fromTensorMessage()", () => {
  it.each(SAMPLES)("round-trip $label through its typed field and the wire", ({ label, host }) => {
    const message = toTensorMessage("t", host);
    const field = NATURAL_FIELD[label]!;
    const values = message[field as keyof typeof message] as { length: number };
    expect(values.length).toBeGreaterThan(0);
    const wire = fromBinary(TensorSchema, toBinary(TensorSchema, message));
    expect(tensorDifference(fromTensorMessage(wire), host)).toBeUndefined();
  });

  it.each(SAMPLES.filter((s) => s.label !== "BYTES"))("round-trip $label through raw_data and the wire", ({ host }) => {
    const message = toTensorMessage("t", host, { raw: true });
    expect(message.rawData.byteLength).toBeGreaterThan(0);
    const wire = fromBinary(TensorSchema, toBinary(TensorSchema, message));
    expect(tensorDifference(fromTensorMessage(wire), host)).toBeUndefined();
  });

  it("keeps BYTES in string_data even when raw is asked for", () => {
    const host = { dtype: DataType.STRING, shape: [1], data: ["a"] };
    expect(toTensorMessage("s", host, { raw: true }).stringData).toEqual(["a"]);
  });

  it("writes INT64 as bigints (the output's own BigInt64Array) and the shape as int64", () => {
    const data = new BigInt64Array([1n, -1n]);
    const message = toTensorMessage("ids", { dtype: DataType.INT64, shape: [2], data });
    expect(message.int64Data).toBe(data);
    expect(message.shape).toEqual([2n]);
    expect(message.name).toBe("ids");
  });

  it("reads raw_data little-endian", () => {
    const message = create(TensorSchema, {
      name: "x",
      dtype: DataType.INT32,
      shape: [2n],
      rawData: new Uint8Array([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
    });
    expect([...fromTensorMessage(message).data]).toEqual([1, -1]);
  });

  it("accepts an empty tensor with no values", () => {
    const host = fromTensorMessage(create(TensorSchema, { name: "x", dtype: DataType.FLOAT32, shape: [0n, 4n] }));
    expect(host.shape).toEqual([0, 4]);
    expect(host.data).toBeInstanceOf(Float32Array);
    expect(host.data.length).toBe(0);
  });

  const base = { name: "features", dtype: DataType.FLOAT32, shape: [2n, 3n] };
  it.each<[string, MessageInitShape<typeof TensorSchema>, string]>([
    [
      "values in two fields",
      { ...base, floatData: [1, 2, 3, 4, 5, 6], rawData: new Uint8Array(24) },
      "tensor 'features' has values in float_data and raw_data; send FP32 values in one field: float_data or raw_data",
    ],
    [
      "values in the wrong field",
      { ...base, doubleData: [1, 2, 3, 4, 5, 6] },
      "tensor 'features' is FP32 but its values are in double_data; send them in float_data or raw_data",
    ],
    [
      "too few values",
      { ...base, floatData: [1, 2, 3, 4, 5] },
      "tensor 'features': shape [2, 3] needs 6 values, got 5 in float_data",
    ],
    [
      "too many values",
      { ...base, floatData: [1, 2, 3, 4, 5, 6, 7] },
      "tensor 'features': shape [2, 3] needs 6 values, got 7 in float_data",
    ],
    ["no values", base, "tensor 'features': shape [2, 3] needs 6 values, got none; send them in float_data or raw_data"],
    [
      "raw_data of the wrong size",
      { ...base, rawData: new Uint8Array(20) },
      "tensor 'features': raw contents hold 20 bytes, but FP32 [2, 3] needs 6 × 4 = 24 bytes",
    ],
    [
      "FP16 outside raw_data",
      { name: "h", dtype: DataType.FLOAT16, shape: [1n], int32Data: [0x3c00] },
      "tensor 'h' is FP16 but its values are in int32_data; send them in raw_data",
    ],
    [
      "STRING in raw_data",
      { name: "s", dtype: DataType.STRING, shape: [1n], rawData: new Uint8Array([1, 0, 0, 0, 0x61]) },
      "tensor 's': BYTES values go in string_data; raw_data is for fixed-width types",
    ],
    [
      "an INT8 value out of range",
      { name: "i", dtype: DataType.INT8, shape: [2n], int32Data: [1, 300] },
      "tensor 'i': int32_data[1] = 300 is not a valid INT8 value (-128..127)",
    ],
    [
      "a UINT16 value below zero",
      { name: "u", dtype: DataType.UINT16, shape: [1n], int32Data: [-1] },
      "tensor 'u': int32_data[0] = -1 is not a valid UINT16 value (0..65535)",
    ],
    [
      "a UINT32 value out of range",
      { name: "u", dtype: DataType.UINT32, shape: [1n], uint64Data: [2n ** 32n] },
      "tensor 'u': uint64_data[0] = 4294967296 is not a valid UINT32 value (0..4294967295)",
    ],
    [
      "an unspecified dtype",
      { name: "x", shape: [1n], floatData: [1] },
      "tensor 'x': data type UNSPECIFIED (0) is not supported",
    ],
    ["a negative dimension", { ...base, shape: [-1n, 3n] }, "tensor 'features': shape [-1, 3] has a negative dimension at 0"],
  ])("answers INVALID_ARGUMENT for %s", (_label, init, message) => {
    const error = thrownBy(() => fromTensorMessage(create(TensorSchema, init)));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain(message);
  });
});
