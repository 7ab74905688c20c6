import { invalidArgument } from "../../../libs/errors/index.js";
import { jsonKind } from "./json-kind.js";

/**
 * Largest element count a tensor may declare. Typed arrays in V8 stop at 2^32 elements
 * on 64-bit hosts; anything near that is a mistake in the shape, not a real request.
 */
export const MAX_ELEMENTS = 2 ** 32 - 1;

/** Product of the dimensions (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** "[1, 8]" for messages. */
export function formatShape(shape: readonly (number | bigint)[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * A wire shape (int64 dims) as numbers, checked: every dim ≥ 0 and the element count
 * small enough to hold in memory. `subject` names the tensor in errors ("input 'x'").
 */
export function shapeFromWire(shape: readonly bigint[], subject: string): number[] {
  const out = new Array<number>(shape.length);
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d < 0n) {
      throw invalidArgument(
        `${subject}: shape ${formatShape(shape)} has a negative dimension at ${i}; send the concrete size of every dimension`,
      );
    }
    if (d > BigInt(MAX_ELEMENTS)) throw tooLarge(subject, shape);
    out[i] = Number(d);
    count *= out[i]!;
  }
  if (count > MAX_ELEMENTS) throw tooLarge(subject, shape);
  return out;
}

/** A JSON shape (array of non-negative integers), checked like shapeFromWire. */
export function shapeFromJson(value: unknown, subject: string): number[] {
  if (!Array.isArray(value)) {
    throw invalidArgument(`${subject}: "shape" must be an array of non-negative integers, got ${jsonKind(value)}`);
  }
  const out = new Array<number>(value.length);
  let count = 1;
  for (let i = 0; i < value.length; i++) {
    const d: unknown = value[i];
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw invalidArgument(
        `${subject}: "shape"[${i}] must be a non-negative integer, got ${JSON.stringify(d) ?? String(d)}`,
      );
    }
    if (d > MAX_ELEMENTS) throw tooLarge(subject, value);
    out[i] = d;
    count *= d;
  }
  if (count > MAX_ELEMENTS) throw tooLarge(subject, out);
  return out;
}

function tooLarge(subject: string, shape: readonly (number | bigint)[]): Error {
  return invalidArgument(
    `${subject}: shape ${formatShape(shape)} holds more than ${MAX_ELEMENTS} elements; split the request`,
  );
}
