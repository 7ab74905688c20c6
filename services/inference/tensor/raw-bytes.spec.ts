import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { dtypeInfo } from "../../../libs/dtypes/index.js";
import { decodeRaw, encodeRaw } from "./raw-bytes.js";
import { SAMPLES, tensorDifference, thrownBy, unaligned } from "./spec-samples.js";

const fp32 = dtypeInfo(DataType.FLOAT32);

describe("decodeRaw() and encodeRaw()", () => {
  it.each(SAMPLES)("round-trip $label bit-exactly", ({ host }) => {
    const bytes = encodeRaw(host, "t");
    const back = { dtype: host.dtype, shape: host.shape, data: decodeRaw(dtypeInfo(host.dtype), bytes, host.shape, "t") };
    expect(tensorDifference(back, host)).toBeUndefined();
    expect([...encodeRaw(back, "t")]).toEqual([...bytes]);
  });

  it.each(SAMPLES)("decode $label from an unaligned offset", ({ host }) => {
    const bytes = unaligned(encodeRaw(host, "t").slice());
    expect(bytes.byteOffset % 2).toBe(1);
    const data = decodeRaw(dtypeInfo(host.dtype), bytes, host.shape, "t");
    expect(tensorDifference({ dtype: host.dtype, shape: host.shape, data }, host)).toBeUndefined();
  });

  it.each([
    [DataType.FLOAT32, [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x80], [1, -0]],
    [DataType.FLOAT64, [0, 0, 0, 0, 0, 0, 0xf0, 0x3f], [1]],
    [DataType.INT16, [0x34, 0x12, 0xff, 0xff], [0x1234, -1]],
    [DataType.UINT32, [0x78, 0x56, 0x34, 0x12], [0x12345678]],
    [DataType.INT64, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [-2n]],
    [DataType.UINT64, [0, 0, 0, 0, 0, 0, 0, 0x80], [2n ** 63n]],
    [DataType.FLOAT16, [0x00, 0x3c], [0x3c00]],
    [DataType.BOOL, [0, 1, 7], [false, true, true]],
  ] as const)("reads DataType %i as little-endian", (dtype, bytes, values) => {
    const data = decodeRaw(dtypeInfo(dtype), unaligned(new Uint8Array(bytes)), [values.length], "t");
    expect([...data].map((v, i) => Object.is(v, values[i]))).toEqual(values.map(() => true));
  });

  it("views aligned FP32 bytes without copying", () => {
    const bytes = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
    const data = decodeRaw(fp32, bytes, [3], "t") as Float32Array;
    expect(data).toBeInstanceOf(Float32Array);
    expect(data.buffer).toBe(bytes.buffer);
  });

  it("copies unaligned FP32 bytes once, leaving the wire buffer alone", () => {
    const bytes = unaligned(new Uint8Array(new Float32Array([1, 2, 3]).buffer));
    const data = decodeRaw(fp32, bytes, [3], "t") as Float32Array;
    expect(data.buffer).not.toBe(bytes.buffer);
    expect([...data]).toEqual([1, 2, 3]);
  });

  it("copies unaligned bytes held in a Node Buffer, whose slice() does not copy", () => {
    const wire = Buffer.alloc(17);
    wire.writeDoubleLE(0.1, 1);
    wire.writeDoubleLE(-2.5, 9);
    const bytes = wire.subarray(1, 17);
    expect(bytes).toBeInstanceOf(Buffer);
    const data = decodeRaw(dtypeInfo(DataType.FLOAT64), bytes, [2], "t");
    expect([...data]).toEqual([0.1, -2.5]);
  });

  it("keeps a NaN payload through raw bytes", () => {
    const bytes = new Uint8Array([0x01, 0x00, 0xa0, 0x7f]); // 0x7fa00001, a signalling NaN
    const data = decodeRaw(fp32, unaligned(bytes), [1], "t");
    expect([...encodeRaw({ dtype: DataType.FLOAT32, shape: [1], data }, "t")]).toEqual([...bytes]);
  });

  it("shares a numeric tensor's memory when encoding", () => {
    const data = new Float32Array([1, 2]);
    expect(encodeRaw({ dtype: DataType.FLOAT32, shape: [2], data }, "t").buffer).toBe(data.buffer);
  });

  it("decodes an empty tensor", () => {
    expect(decodeRaw(fp32, unaligned(new Uint8Array(0)), [0, 4], "t").length).toBe(0);
  });

  it("answers INVALID_ARGUMENT naming the tensor when the byte count does not fit the shape", () => {
    const error = thrownBy(() => decodeRaw(fp32, new Uint8Array(10), [2, 2], "input 'features'"));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe(
      "input 'features': raw contents hold 10 bytes, but FP32 [2, 2] needs 4 × 4 = 16 bytes",
    );
  });

  it("answers INTERNAL when a tensor's data does not fit its dtype", () => {
    const error = thrownBy(() => encodeRaw({ dtype: DataType.FLOAT32, shape: [1], data: new Float64Array(1) }, "output 'y'"));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toContain("output 'y'");
  });
});
