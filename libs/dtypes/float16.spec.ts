import { describe, expect, it } from "vitest";
import { fromFloat16Bits, isFloat16NonFinite, toFloat16Bits } from "./float16.js";

describe("toFloat16Bits()", () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0, 0x0000],
    [-0, 0x8000],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00],
    [1e10, 0x7c00],
    [-1e10, 0xfc00],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [3 * 2 ** -25, 0x0002],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [NaN, 0x7e00],
  ])("encodes %d as 0x%s", (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
  });

  it("round-trips every finite and infinite bit pattern", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if (Number.isNaN(fromFloat16Bits(bits))) continue;
      if (toFloat16Bits(fromFloat16Bits(bits)) !== bits) expect.fail(`0x${bits.toString(16)} did not round-trip`);
    }
  });
});

describe("fromFloat16Bits()", () => {
  it.each([
    [0x3c00, 1],
    [0x8000, -0],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x7e00, NaN],
    [0x7c01, NaN],
  ])("decodes 0x%s as %d", (bits, value) => {
    expect(Object.is(fromFloat16Bits(bits), value)).toBe(true);
  });
});

describe("isFloat16NonFinite()", () => {
  it("is true for NaN and infinities only", () => {
    expect([0x7c00, 0xfc00, 0x7e00, 0xffff].map(isFloat16NonFinite)).toEqual([true, true, true, true]);
    expect([0x0000, 0x7bff, 0xfbff, 0x0001].map(isFloat16NonFinite)).toEqual([false, false, false, false]);
  });
});
