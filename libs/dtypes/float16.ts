/**
 * IEEE 754 binary16 ⇄ number, for FP16 tensors, which Tessera holds as bit patterns in a
 * Uint16Array (Node 20 has no Float16Array). Only the JSON paths convert values; the raw
 * and ONNX Runtime paths pass the bits through untouched.
 */

/** The binary16 bit pattern nearest to `x` (round half to even; NaN becomes the quiet NaN 0x7e00). */
export function toFloat16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65520 is halfway between the largest half (65504) and 2^16: it and above round to infinity.
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal: a multiple of 2^-24. A result of 1024 is the smallest normal, which the
    // bit layout encodes the same way.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let e = Math.floor(Math.log2(a));
  // Math.log2 may be off by one ulp near powers of two.
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  // Scaling by powers of two is exact, so the only rounding is the one below; a carry out of
  // the mantissa (1024) correctly bumps the exponent.
  const mantissa = roundHalfEven((a / 2 ** e - 1) * 1024);
  return sign | (((e + 15) << 10) + mantissa);
}

/** The number a binary16 bit pattern stands for. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Whether a binary16 bit pattern is NaN or ±Infinity (exponent all ones). */
export function isFloat16NonFinite(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
