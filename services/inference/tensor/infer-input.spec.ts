import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { ModelInferRequest_InferInputTensorSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { fromInferInput } from "./infer-input.js";
import { thrownBy, unaligned } from "./spec-samples.js";

type InputInit = MessageInitShape<typeof ModelInferRequest_InferInputTensorSchema>;
const input = (init: InputInit) => create(ModelInferRequest_InferInputTensorSchema, init);

describe("fromInferInput()", () => {
  it.each<[string, InputInit, DataType, unknown[]]>([
    ["INT8 from int_contents", { datatype: "INT8", shape: [2n], contents: { intContents: [-128, 127] } }, DataType.INT8, [-128, 127]],
    ["INT16 from int_contents", { datatype: "INT16", shape: [1n], contents: { intContents: [-300] } }, DataType.INT16, [-300]],
    ["INT32 from int_contents", { datatype: "INT32", shape: [1n], contents: { intContents: [-7] } }, DataType.INT32, [-7]],
    ["UINT8 from uint_contents", { datatype: "UINT8", shape: [1n], contents: { uintContents: [255] } }, DataType.UINT8, [255]],
    ["UINT16 from uint_contents", { datatype: "UINT16", shape: [1n], contents: { uintContents: [65535] } }, DataType.UINT16, [65535]],
    ["UINT32 from uint_contents", { datatype: "UINT32", shape: [1n], contents: { uintContents: [4294967295] } }, DataType.UINT32, [4294967295]],
    ["INT64 from int64_contents", { datatype: "INT64", shape: [1n], contents: { int64Contents: [-(2n ** 63n)] } }, DataType.INT64, [-(2n ** 63n)]],
    ["UINT64 from uint64_contents", { datatype: "UINT64", shape: [1n], contents: { uint64Contents: [2n ** 64n - 1n] } }, DataType.UINT64, [2n ** 64n - 1n]],
    ["FP32 from fp32_contents", { datatype: "FP32", shape: [2n], contents: { fp32Contents: [0.5, -0] } }, DataType.FLOAT32, [0.5, -0]],
    ["FP64 from fp64_contents", { datatype: "FP64", shape: [1n], contents: { fp64Contents: [0.1] } }, DataType.FLOAT64, [0.1]],
    ["BOOL from bool_contents", { datatype: "BOOL", shape: [2n], contents: { boolContents: [true, false] } }, DataType.BOOL, [true, false]],
    [
      "BYTES from bytes_contents",
      { datatype: "BYTES", shape: [2n], contents: { bytesContents: [new Uint8Array([0x68, 0x69]), new Uint8Array([0xc3, 0xa9])] } },
      DataType.STRING,
      ["hi", "é"],
    ],
  ])("reads %s", (_label, init, dtype, values) => {
    const host = fromInferInput(input({ name: "x", ...init }));
    expect(host.dtype).toBe(dtype);
    expect([...host.data].every((v, i) => Object.is(v, values[i]))).toBe(true);
    expect(host.data.length).toBe(values.length);
  });

  it("reads raw bytes little-endian from an unaligned offset", () => {
    const raw = unaligned(new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]));
    const host = fromInferInput(input({ name: "x", datatype: "FP32", shape: [1n, 2n] }), raw);
    expect(host.shape).toEqual([1, 2]);
    expect([...host.data]).toEqual([1, -2]);
  });

  it("reads FP16 from raw bytes", () => {
    const host = fromInferInput(input({ name: "h", datatype: "FP16", shape: [1n] }), new Uint8Array([0x00, 0x3c]));
    expect(host.data).toEqual(new Uint16Array([0x3c00]));
  });

  it("reads BYTES from length-prefixed raw bytes", () => {
    const raw = new Uint8Array([2, 0, 0, 0, 0x68, 0x69, 0, 0, 0, 0]);
    expect(fromInferInput(input({ name: "s", datatype: "BYTES", shape: [2n] }), raw).data).toEqual(["hi", ""]);
  });

  it.each<[string, InputInit, Uint8Array | undefined, string]>([
    [
      "an unknown datatype",
      { datatype: "FLOAT", shape: [1n] },
      undefined,
      "input 'x': datatype 'FLOAT' is not supported; use one of FP32",
    ],
    [
      "contents and raw bytes together",
      { datatype: "FP32", shape: [1n], contents: { fp32Contents: [1] } },
      new Uint8Array(4),
      "input 'x' has values in both contents.fp32_contents and raw_input_contents",
    ],
    [
      "values in the wrong contents field",
      { datatype: "INT32", shape: [1n], contents: { int64Contents: [1n] } },
      undefined,
      "input 'x' is INT32 but its values are in contents.int64_contents; send them in contents.int_contents",
    ],
    [
      "values in two contents fields",
      { datatype: "FP32", shape: [1n], contents: { fp32Contents: [1], fp64Contents: [1] } },
      undefined,
      "input 'x' has values in contents.fp32_contents and contents.fp64_contents",
    ],
    [
      "too few values",
      { datatype: "FP32", shape: [2n, 2n], contents: { fp32Contents: [1, 2, 3] } },
      undefined,
      "input 'x': shape [2, 2] needs 4 values, got 3 in contents.fp32_contents",
    ],
    [
      "no values",
      { datatype: "FP32", shape: [2n] },
      undefined,
      "input 'x': shape [2] needs 2 values, got none; send them in contents.fp32_contents or raw_input_contents",
    ],
    [
      "FP16 in contents",
      { datatype: "FP16", shape: [1n], contents: { uintContents: [0x3c00] } },
      undefined,
      "input 'x': FP16 values must be sent in raw_input_contents",
    ],
    [
      "an out-of-range INT8",
      { datatype: "INT8", shape: [1n], contents: { intContents: [128] } },
      undefined,
      "input 'x': contents.int_contents[0] = 128 is not a valid INT8 value (-128..127)",
    ],
    [
      "raw bytes of the wrong size",
      { datatype: "INT64", shape: [2n] },
      new Uint8Array(12),
      "input 'x': raw contents hold 12 bytes, but INT64 [2] needs 2 × 8 = 16 bytes",
    ],
    [
      "truncated raw BYTES",
      { datatype: "BYTES", shape: [1n] },
      new Uint8Array([5, 0, 0, 0, 0x61]),
      "input 'x': raw BYTES element 0 declares 5 bytes but only 1 remain",
    ],
    [
      "a BYTES element that is not UTF-8",
      { datatype: "BYTES", shape: [1n], contents: { bytesContents: [new Uint8Array([0xff])] } },
      undefined,
      "input 'x': BYTES element 0 is not valid UTF-8",
    ],
    ["a negative dimension", { datatype: "FP32", shape: [-1n] }, undefined, "input 'x': shape [-1] has a negative dimension"],
  ])("answers INVALID_ARGUMENT for %s", (_label, init, raw, message) => {
    const error = thrownBy(() => fromInferInput(input({ name: "x", ...init }), raw));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain(message);
  });
});
