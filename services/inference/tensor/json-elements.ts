import { invalidArgument } from "../../../libs/errors/index.js";
import type { DtypeInfo } from "../../../libs/dtypes/index.js";
import { fromFloat16Bits, toFloat16Bits } from "../../../libs/dtypes/index.js";
import { checkHostData } from "./host-data.js";
import type { HostTensor, TensorData } from "./host-tensor.js";

/** One element of a tensor in JSON (KServe V2 REST, the CLI). */
export type JsonElement = number | string | boolean;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const INTEGER_TEXT = /^-?[0-9]+$/;

/**
 * JSON has no NaN or infinities, so float elements may also be the strings "NaN",
 * "Infinity" and "-Infinity" (what toJsonElements writes for them).
 */
const NON_FINITE: ReadonlyMap<string, number> = new Map([
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
]);

/**
 * Flat JSON elements into the dtype's storage, checking each one's type and range. 64-bit
 * integers may be numbers (up to 2^53) or decimal strings. `where` names the array in
 * messages ("data").
 */
export function fromJsonElements(info: DtypeInfo, values: readonly unknown[], subject: string, where: string): TensorData {
  const n = values.length;
  const bad = (i: number, wanted: string): Error =>
    invalidArgument(`${subject}: ${where}[${i}] must be ${wanted} for ${info.oip}, got ${preview(values[i])}`);
  switch (info.numeric) {
    case "float": {
      const out = info.oip === "FP32" ? new Float32Array(n) : info.oip === "FP64" ? new Float64Array(n) : new Uint16Array(n);
      const half = info.oip === "FP16";
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const x = typeof v === "number" ? v : typeof v === "string" ? NON_FINITE.get(v) : undefined;
        if (x === undefined) throw bad(i, `a number (or "NaN", "Infinity", "-Infinity")`);
        out[i] = half ? toFloat16Bits(x) : x;
      }
      return out;
    }
    case "int": {
      const [min, max] = info.range!;
      const out = new (info.storage.kind === "typed" ? (info.storage.array as Int32ArrayConstructor) : Int32Array)(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw bad(i, `an integer in ${min}..${max}`);
        out[i] = v;
      }
      return out;
    }
    case "bigint": {
      const signed = info.oip === "INT64";
      const min = signed ? INT64_MIN : 0n;
      const max = signed ? INT64_MAX : UINT64_MAX;
      const out = signed ? new BigInt64Array(n) : new BigUint64Array(n);
      const wanted = `an integer in ${min}..${max} (a number up to 2^53, or a decimal string)`;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let b: bigint;
        if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
        else if (typeof v === "string" && INTEGER_TEXT.test(v)) b = BigInt(v);
        else throw bad(i, wanted);
        if (b < min || b > max) throw bad(i, wanted);
        out[i] = b;
      }
      return out;
    }
    case "none": {
      if (info.storage.kind === "boolean") {
        const out = new Array<boolean>(n);
        for (let i = 0; i < n; i++) {
          const v = values[i];
          if (typeof v !== "boolean") throw bad(i, "true or false");
          out[i] = v;
        }
        return out;
      }
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== "string") throw bad(i, "a string");
        out[i] = v;
      }
      return out;
    }
  }
}

/**
 * A tensor's elements as flat JSON values: numbers (FP16 decoded), non-finite floats as
 * "NaN"/"Infinity"/"-Infinity", 64-bit integers as numbers when they are safe and as decimal
 * strings when not, booleans, strings.
 */
export function toJsonElements(host: HostTensor, subject: string): JsonElement[] {
  const info = checkHostData(host, subject);
  const data = host.data;
  const n = data.length;
  const out = new Array<JsonElement>(n);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) {
      const b = data[i]!;
      out[i] = b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b.toString();
    }
    return out;
  }
  if (info.numeric === "float") {
    const half = info.oip === "FP16";
    const single = info.oip === "FP32";
    const numbers = data as Float32Array | Float64Array | Uint16Array;
    for (let i = 0; i < n; i++) {
      const x = half ? fromFloat16Bits(numbers[i]!) : numbers[i]!;
      out[i] = !Number.isFinite(x) ? String(x) : single ? shortestFloat32(x) : x;
    }
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = data[i]!;
  return out;
}

/**
 * The number with the fewest significant digits that still reads back as the same float32,
 * so 0.1f is written 0.1 and not 0.10000000149011612. Exact either way; this is for people.
 */
function shortestFloat32(x: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(x.toPrecision(digits));
    if (Math.fround(candidate) === x) return candidate;
  }
  return x;
}

/**
 * Flattens nested JSON arrays (row-major), as KServe V2 REST allows for "data". A flat array
 * comes back as is.
 */
export function flattenJson(value: readonly unknown[]): readonly unknown[] {
  if (!value.some((v) => Array.isArray(v))) return value;
  const out: unknown[] = [];
  const walk = (v: readonly unknown[]): void => {
    for (const e of v) {
      if (Array.isArray(e)) walk(e);
      else out.push(e);
    }
  };
  walk(value);
  return out;
}

/** A value, short, for messages. */
export function preview(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
