import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { HostTensor, TensorData } from "./host-tensor.js";

/**
 * @internal Test fixtures for this folder's specs: one [2, 3] tensor per dtype, with the
 * edge values each codec must carry (extremes, -0, NaN, infinities, subnormals, non-ASCII).
 */
export const SAMPLES: readonly { readonly label: string; readonly host: HostTensor }[] = [
  sample("FP32", DataType.FLOAT32, new Float32Array([1.5, -0, NaN, Infinity, -Infinity, 1.401298464324817e-45])),
  sample("FP64", DataType.FLOAT64, new Float64Array([0.1, -0, NaN, Infinity, -Infinity, 5e-324])),
  sample("FP16", DataType.FLOAT16, new Uint16Array([0x3c00, 0x8000, 0x7e00, 0x7c00, 0xfc00, 0x0001])),
  sample("INT8", DataType.INT8, new Int8Array([-128, 127, 0, -1, 1, 42])),
  sample("INT16", DataType.INT16, new Int16Array([-32768, 32767, 0, -1, 1, 42])),
  sample("INT32", DataType.INT32, new Int32Array([-2147483648, 2147483647, 0, -1, 1, 42])),
  sample("INT64", DataType.INT64, new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n, 42n])),
  sample("UINT8", DataType.UINT8, new Uint8Array([0, 255, 1, 2, 128, 42])),
  sample("UINT16", DataType.UINT16, new Uint16Array([0, 65535, 1, 2, 32768, 42])),
  sample("UINT32", DataType.UINT32, new Uint32Array([0, 4294967295, 1, 2, 2147483648, 42])),
  sample("UINT64", DataType.UINT64, new BigUint64Array([0n, 2n ** 64n - 1n, 1n, 2n, 2n ** 63n, 42n])),
  sample("BOOL", DataType.BOOL, [true, false, true, true, false, false]),
  sample("BYTES", DataType.STRING, ["", "a", "héllo", "日本語", "party 🎉", "x".repeat(300)]),
];

function sample(label: string, dtype: DataType, data: TensorData): { label: string; host: HostTensor } {
  return { label, host: { dtype, shape: [2, 3], data } };
}

/**
 * Why two tensors differ, or undefined when they are the same: dtype, shape, storage class,
 * and every element under Object.is (NaN equals NaN, -0 differs from 0). Use as
 * `expect(tensorDifference(a, b)).toBeUndefined()`.
 */
export function tensorDifference(actual: HostTensor, expected: HostTensor): string | undefined {
  if (actual.dtype !== expected.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (actual.shape.join() !== expected.shape.join()) return `shape [${actual.shape.join()}], expected [${expected.shape.join()}]`;
  if (actual.data.constructor !== expected.data.constructor) {
    return `storage ${actual.data.constructor.name}, expected ${expected.data.constructor.name}`;
  }
  if (actual.data.length !== expected.data.length) return `length ${actual.data.length}, expected ${expected.data.length}`;
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    if (!Object.is(a, e)) return `element ${i}: ${String(a)}, expected ${String(e)}`;
  }
  return undefined;
}

/** Bytes at an odd offset inside a bigger buffer, as a protobuf field can sit on the wire. */
export function unaligned(bytes: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(bytes.byteLength + 3);
  buffer.set(bytes, 1);
  return buffer.subarray(1, 1 + bytes.byteLength);
}

export { thrownBy } from "../../../libs/testing/index.js";
