import { invalidArgument } from "../../../libs/errors/index.js";
import type { DtypeInfo } from "../../../libs/dtypes/index.js";
import { checkHostData } from "./host-data.js";
import type { HostTensor, TensorData } from "./host-tensor.js";
import { decodeLengthPrefixed, encodeLengthPrefixed } from "./length-prefixed.js";
import { elementCount, formatShape } from "./shape.js";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes raw (row-major, little-endian) tensor bytes, as in OIP raw_input_contents and
 * Tessera's Tensor.raw_data. Fixed-width dtypes view the bytes without copying when they are
 * aligned for the element type; bytes from the wire often are not (protobuf fields sit at any
 * offset), and those are copied once first. The result may therefore alias `bytes`: treat
 * both as read-only. BOOL is one byte per element, any non-zero byte true. BYTES (STRING) is
 * the OIP's form: each element a 4-byte little-endian length, then that many UTF-8 bytes.
 */
export function decodeRaw(info: DtypeInfo, bytes: Uint8Array, shape: readonly number[], subject: string): TensorData {
  const count = elementCount(shape);
  if (info.storage.kind === "string") return decodeLengthPrefixed(bytes, count, subject);
  const expected = count * info.byteSize;
  if (bytes.byteLength !== expected) {
    throw invalidArgument(
      `${subject}: raw contents hold ${bytes.byteLength} bytes, but ${info.oip} ${formatShape(shape)} needs ` +
        `${count} × ${info.byteSize} = ${expected} bytes`,
    );
  }
  if (info.storage.kind === "boolean") {
    const out = new Array<boolean>(count);
    for (let i = 0; i < count; i++) out[i] = bytes[i] !== 0;
    return out;
  }
  const Ctor = info.storage.array;
  let source = bytes;
  if (source.byteOffset % info.byteSize !== 0 || !LITTLE_ENDIAN) {
    // Not bytes.slice(): on a Node Buffer (what grpc-js hands protobuf-es) slice is a view.
    source = new Uint8Array(bytes.byteLength);
    source.set(bytes);
    if (!LITTLE_ENDIAN) swapBytes(source, info.byteSize);
  }
  // The cast only settles the union of constructors; a SharedArrayBuffer works the same.
  return new Ctor(source.buffer as ArrayBuffer, source.byteOffset, count);
}

/**
 * Encodes a tensor as raw bytes (the inverse of decodeRaw). Numeric tensors return a view
 * of their own memory, without copying, on little-endian hosts.
 */
export function encodeRaw(host: HostTensor, subject: string): Uint8Array {
  const info = checkHostData(host, subject);
  const data = host.data;
  if (info.storage.kind === "string") return encodeLengthPrefixed(data as string[]);
  if (info.storage.kind === "boolean") {
    const flags = data as boolean[];
    const out = new Uint8Array(flags.length);
    for (let i = 0; i < flags.length; i++) out[i] = flags[i] ? 1 : 0;
    return out;
  }
  const view = data as ArrayBufferView;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const swapped = new Uint8Array(bytes);
  swapBytes(swapped, info.byteSize);
  return swapped;
}

/** Reverses each `size`-byte element in place (only on big-endian hosts). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}
