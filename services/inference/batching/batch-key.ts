import type { TensorMap } from "../tensor/index.js";
import { invalidArgument } from "../../../libs/errors/index.js";

/**
 * The key under which a request may share a run with others: its input
 * names, dtypes and every dimension but the first. Requests batch together
 * only when their keys are equal, since rows are stacked along dimension 0.
 * Also checks that every input has `rows` rows, so the rows can be cut back.
 */
export function batchKey(inputs: TensorMap, rows: number): string {
  if (!Number.isSafeInteger(rows) || rows < 1) {
    throw invalidArgument(`a request must have at least 1 row; it has ${rows}`);
  }
  if (inputs.size === 0) {
    throw invalidArgument("a request must have at least one input tensor");
  }
  const parts: string[] = [];
  for (const name of [...inputs.keys()].sort()) {
    const tensor = inputs.get(name);
    if (!tensor) continue;
    const shape = `[${tensor.shape.join(",")}]`;
    if (tensor.shape[0] !== rows) {
      throw invalidArgument(
        `input '${name}' has shape ${shape} but the request has ${rows} rows; every input's first dimension must be the row count`,
      );
    }
    let elements = 1;
    for (const d of tensor.shape) elements *= d;
    if (tensor.data.length !== elements) {
      throw invalidArgument(`input '${name}' has shape ${shape} (${elements} elements) but holds ${tensor.data.length}`);
    }
    parts.push(`${JSON.stringify(name)}:${tensor.dtype}:${tensor.shape.slice(1).join("x")}`);
  }
  return parts.join(";");
}
