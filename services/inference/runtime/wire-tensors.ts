import type * as ort from "onnxruntime-node";

/** A tensor as it crosses between threads: plain fields, numeric data as a typed array. */
export interface WireTensor {
  readonly name: string;
  readonly type: ort.Tensor.Type;
  readonly dims: readonly number[];
  readonly data: ort.Tensor.DataType;
}

export interface PackedTensors {
  readonly tensors: WireTensor[];
  /** postMessage's transfer list: buffers that move to the other thread instead of being copied. */
  readonly transfer: ArrayBuffer[];
}

/**
 * Tensors ready for postMessage, moving numeric buffers instead of copying them.
 *
 * Structured clone copies a typed array's whole underlying buffer, not just
 * its view: a view into a received gRPC frame would copy the frame. So:
 * - `owned` (the caller never reads these tensors again) and the view is its
 *   whole buffer: the buffer is transferred as is, no copy;
 * - a view into a larger buffer: its own bytes are copied once into a fresh
 *   buffer, which is transferred;
 * - otherwise (shared data, such as warm-up inputs used by several runs at
 *   once): copied by structured clone, the caller's data untouched.
 * Strings are cloned.
 */
export function packTensors(tensors: Iterable<readonly [string, ort.Tensor]>, owned: boolean): PackedTensors {
  const out: WireTensor[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const [name, tensor] of tensors) {
    out.push({ name, type: tensor.type, dims: tensor.dims, data: movable(tensor.data, owned, transfer) });
  }
  return { tensors: out, transfer };
}

function movable(data: ort.Tensor.DataType, owned: boolean, transfer: ArrayBuffer[]): ort.Tensor.DataType {
  if (!ArrayBuffer.isView(data)) return data;
  const buffer = data.buffer;
  if (!(buffer instanceof ArrayBuffer)) return data; // a SharedArrayBuffer is shared, never moved
  const whole = data.byteOffset === 0 && data.byteLength === buffer.byteLength;
  if (whole) {
    if (owned && !transfer.includes(buffer)) transfer.push(buffer);
    return data;
  }
  // slice() on a typed array copies just the view's elements into a buffer of their own.
  const copy = (data as Float32Array).slice() as unknown as ort.Tensor.DataType & ArrayBufferView;
  transfer.push(copy.buffer as ArrayBuffer);
  return copy;
}
