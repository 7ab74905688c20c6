import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { decodeLengthPrefixed, encodeLengthPrefixed } from "./length-prefixed.js";
import { thrownBy, unaligned } from "./spec-samples.js";

/** Builds the wire form by hand, so the codec is checked against the spec, not itself. */
function wire(...elements: number[][]): Uint8Array {
  const out: number[] = [];
  for (const e of elements) out.push(e.length & 0xff, (e.length >> 8) & 0xff, (e.length >> 16) & 0xff, e.length >>> 24, ...e);
  return new Uint8Array(out);
}

describe("decodeLengthPrefixed()", () => {
  it("reads 4-byte little-endian lengths and UTF-8 bytes", () => {
    const bytes = wire([0x61, 0x62], [], [0xc3, 0xa9]);
    expect(decodeLengthPrefixed(bytes, 3, "input 's'")).toEqual(["ab", "", "é"]);
  });

  it("reads a length of 256 and more (the second length byte)", () => {
    const long = new Array<number>(300).fill(0x78);
    expect(decodeLengthPrefixed(wire(long), 1, "input 's'")).toEqual(["x".repeat(300)]);
  });

  it("reads from an unaligned offset", () => {
    expect(decodeLengthPrefixed(unaligned(wire([0x7a], [0x79])), 2, "input 's'")).toEqual(["z", "y"]);
  });

  it.each([
    ["too few elements", wire([0x61]), 2, "end after 1 of 2 elements"],
    ["a length past the end", new Uint8Array([9, 0, 0, 0, 0x61]), 1, "declares 9 bytes but only 1 remain"],
    ["bytes left over", wire([0x61], [0x62]), 1, "5 bytes left after the 1 element the shape holds"],
    ["invalid UTF-8", wire([0xff, 0xfe]), 1, "element 0 is not valid UTF-8"],
  ])("answers INVALID_ARGUMENT for %s", (_label, bytes, count, fragment) => {
    const error = thrownBy(() => decodeLengthPrefixed(bytes, count, "input 's'"));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("input 's'");
    expect(error.rawMessage).toContain(fragment);
  });
});

describe("encodeLengthPrefixed()", () => {
  it("writes what the spec says", () => {
    expect([...encodeLengthPrefixed(["ab", "", "é"])]).toEqual([...wire([0x61, 0x62], [], [0xc3, 0xa9])]);
  });

  it("round-trips non-ASCII text", () => {
    const strings = ["日本語", "party 🎉", "", "x".repeat(70000)];
    expect(decodeLengthPrefixed(encodeLengthPrefixed(strings), 4, "t")).toEqual(strings);
  });
});
