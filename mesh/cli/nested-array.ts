import { UsageError } from "./usage-error.js";

/** A nested JSON array read as a tensor: its shape and its elements, row-major. */
export interface FlatArray {
  readonly shape: number[];
  readonly values: unknown[];
}

/**
 * Flattens a nested array (`[[1, 2], [3, 4]]` → shape [2, 2], values
 * [1, 2, 3, 4]); a bare value is a scalar (shape []). Every row must have
 * the same length and depth; the error names the first element that
 * breaks the pattern (`features[1]`) so a person can find it.
 */
export function flattenNested(value: unknown, name: string): FlatArray {
  const shape = shapeOf(value);
  const values: unknown[] = [];
  collect(value, 0, name);
  return { shape, values };

  function collect(node: unknown, depth: number, path: string): void {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw new UsageError(`${path} is a list where ${firstPath(name, depth)} is a single value; every row must nest equally deep`);
      values.push(node);
      return;
    }
    if (!Array.isArray(node)) throw new UsageError(`${path} is a single value where ${firstPath(name, depth)} is a list; every row must nest equally deep`);
    if (node.length !== shape[depth]) {
      throw new UsageError(`${path} has ${node.length} element${node.length === 1 ? "" : "s"} where ${firstPath(name, depth)} has ${shape[depth]}; every row must be the same length`);
    }
    node.forEach((child: unknown, i) => collect(child, depth + 1, `${path}[${i}]`));
  }
}

/** The shape as the first element at each depth says: [[1,2],[3,4]] → [2, 2]. */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let node = value;
  while (Array.isArray(node)) {
    shape.push(node.length);
    node = node[0];
  }
  return shape;
}

function firstPath(name: string, depth: number): string {
  return name + "[0]".repeat(depth);
}

/** `name[i][j]` for the element at `flatIndex` of a row-major tensor of `shape`. */
export function elementPath(name: string, shape: readonly number[], flatIndex: number): string {
  const indices: number[] = [];
  let rest = flatIndex;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    indices.unshift(size === 0 ? 0 : rest % size);
    rest = size === 0 ? 0 : Math.floor(rest / size);
  }
  return name + indices.map((i) => `[${i}]`).join("");
}

/**
 * The inverse of flattenNested: row-major `values` as nested arrays of
 * `shape` (a scalar for shape []). Throws if the counts disagree.
 */
export function nestValues<T>(values: readonly T[], shape: readonly number[]): unknown {
  const count = shape.reduce((product, size) => product * size, 1);
  if (count !== values.length) throw new RangeError(`shape [${shape.join(", ")}] holds ${count} elements, got ${values.length}`);
  if (shape.length === 0) return values[0];
  let offset = 0;
  const build = (depth: number): unknown[] => {
    const size = shape[depth]!;
    const out: unknown[] = [];
    for (let i = 0; i < size; i++) out.push(depth === shape.length - 1 ? values[offset++] : build(depth + 1));
    return out;
  };
  return build(0);
}
