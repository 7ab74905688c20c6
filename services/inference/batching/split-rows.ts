import type { HostTensor, TensorData, TensorMap } from "../tensor/index.js";
import { internal } from "../../../libs/errors/index.js";

/**
 * Rows [start, start + rows) of a tensor, as a copy. A copy, not a view:
 * a caller's result must not keep a whole batch's buffer alive, and an
 * encoder that writes `data.buffer` must see only this caller's rows.
 */
export function sliceRows(tensor: HostTensor, start: number, rows: number): HostTensor {
  const total = tensor.shape[0];
  if (total === undefined || start < 0 || start + rows > total) {
    throw internal(`cannot take rows ${start}..${start + rows} of a [${tensor.shape.join(",")}] tensor`);
  }
  const rowSize = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = tensor.data.slice(start * rowSize, (start + rows) * rowSize) as TensorData;
  return { dtype: tensor.dtype, shape: [rows, ...tensor.shape.slice(1)], data };
}

/**
 * Cuts a tensor along dimension 0 into consecutive pieces of `counts` rows;
 * rows past the sum of counts (padding) are dropped.
 */
export function splitRows(tensor: HostTensor, counts: readonly number[]): HostTensor[] {
  const out: HostTensor[] = [];
  let start = 0;
  for (const rows of counts) {
    out.push(sliceRows(tensor, start, rows));
    start += rows;
  }
  return out;
}

/** sliceRows() for every tensor of a map. */
export function sliceTensorMap(map: TensorMap, start: number, rows: number): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, tensor] of map) out.set(name, sliceRows(tensor, start, rows));
  return out;
}

/** splitRows() for every tensor of a map: one map per count. */
export function splitTensorMap(map: TensorMap, counts: readonly number[]): Map<string, HostTensor>[] {
  const out = counts.map(() => new Map<string, HostTensor>());
  for (const [name, tensor] of map) {
    splitRows(tensor, counts).forEach((piece, i) => out[i]?.set(name, piece));
  }
  return out;
}
