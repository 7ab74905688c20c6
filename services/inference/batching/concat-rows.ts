import type { HostTensor, TensorData, TensorMap } from "../tensor/index.js";
import { internal } from "../../../libs/errors/index.js";

type TypedArray = Exclude<TensorData, boolean[] | string[]>;
type TypedArrayConstructor = new (length: number) => TypedArray;

/**
 * Stacks tensors along dimension 0, then repeats the last row `padRows`
 * times (padding to a size the model was warmed up for; a copy of a real
 * row keeps the padding numerically harmless). Every part must share dtype
 * and trailing dimensions — batchKey() grouped them so.
 */
export function concatRows(parts: readonly HostTensor[], padRows = 0): HostTensor {
  const first = parts[0];
  if (!first) throw internal("concatRows() needs at least one tensor");
  const tail = first.shape.slice(1);
  const rowSize = tail.reduce((a, b) => a * b, 1);
  let rows = 0;
  for (const part of parts) {
    if (part.dtype !== first.dtype || part.shape.length !== first.shape.length || part.shape.some((d, i) => i > 0 && d !== tail[i - 1])) {
      throw internal(`cannot stack a [${part.shape.join(",")}] tensor onto [${first.shape.join(",")}]: the batcher mixed shapes`);
    }
    rows += part.shape[0] ?? 0;
  }
  const total = rows + padRows;
  if (padRows > 0 && rows === 0) throw internal("cannot pad a batch that has no rows");

  let data: TensorData;
  if (Array.isArray(first.data)) {
    const out: (string | boolean)[] = [];
    for (const part of parts) for (const v of part.data as (string | boolean)[]) out.push(v);
    const lastRow = out.slice(out.length - rowSize);
    for (let i = 0; i < padRows; i++) for (const v of lastRow) out.push(v);
    data = out as TensorData;
  } else {
    const out = new (first.data.constructor as TypedArrayConstructor)(total * rowSize);
    let at = 0;
    for (const part of parts) {
      // `set` with a typed array of the same kind is a memcpy.
      (out as Float64Array).set(part.data as Float64Array, at);
      at += part.data.length;
    }
    for (let i = 0; i < padRows; i++, at += rowSize) out.copyWithin(at, at - rowSize, at);
    data = out;
  }
  return { dtype: first.dtype, shape: [total, ...tail], data };
}

/** concatRows() for every input name of the first map. */
export function concatTensorMaps(maps: readonly TensorMap[], padRows = 0): Map<string, HostTensor> {
  const first = maps[0];
  if (!first) throw internal("concatTensorMaps() needs at least one map");
  const out = new Map<string, HostTensor>();
  for (const name of first.keys()) {
    out.set(
      name,
      concatRows(
        maps.map((m) => {
          const t = m.get(name);
          if (!t) throw internal(`a request in the batch has no input '${name}': the batcher mixed signatures`);
          return t;
        }),
        padRows,
      ),
    );
  }
  return out;
}
