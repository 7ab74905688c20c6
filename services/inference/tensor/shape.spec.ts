import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { MAX_ELEMENTS, elementCount, formatShape, shapeFromJson, shapeFromWire } from "./shape.js";
import { thrownBy } from "./spec-samples.js";

describe("elementCount()", () => {
  it.each([
    [[], 1],
    [[3], 3],
    [[2, 3, 4], 24],
    [[5, 0, 7], 0],
  ])("is the product of %j", (shape, count) => {
    expect(elementCount(shape)).toBe(count);
  });
});

describe("shapeFromWire()", () => {
  it("converts int64 dims to numbers", () => {
    expect(shapeFromWire([2n, 0n, 16n], "input 'x'")).toEqual([2, 0, 16]);
  });

  it.each([
    ["a negative dimension", [1n, -1n], ["input 'x'", "negative dimension at 1", "[1, -1]"]],
    ["too many elements", [2n ** 20n, 2n ** 20n], ["input 'x'", String(MAX_ELEMENTS)]],
    ["a huge dimension", [2n ** 62n], ["input 'x'", "more than"]],
  ] as const)("answers INVALID_ARGUMENT for %s", (_label, shape, fragments) => {
    const error = thrownBy(() => shapeFromWire(shape, "input 'x'"));
    expect(error.code).toBe(Code.InvalidArgument);
    for (const f of fragments) expect(error.rawMessage).toContain(f);
  });
});

describe("shapeFromJson()", () => {
  it("accepts an array of non-negative integers", () => {
    expect(shapeFromJson([1, 0, 3], "input 'x'")).toEqual([1, 0, 3]);
  });

  it.each([
    ["not an array", "1,2", `"shape" must be an array`],
    ["a negative entry", [1, -1], `"shape"[1] must be a non-negative integer, got -1`],
    ["a fraction", [1.5], `"shape"[0] must be a non-negative integer, got 1.5`],
    ["a string entry", ["2"], `"shape"[0] must be a non-negative integer, got "2"`],
    ["too many elements", [2 ** 20, 2 ** 20], "more than"],
  ])("answers INVALID_ARGUMENT for %s", (_label, shape, fragment) => {
    const error = thrownBy(() => shapeFromJson(shape, "input 'x'"));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("input 'x'");
    expect(error.rawMessage).toContain(fragment);
  });
});

describe("formatShape()", () => {
  it("writes numbers and bigints alike", () => {
    expect(formatShape([1, 8])).toBe("[1, 8]");
    expect(formatShape([-1n, 16n])).toBe("[-1, 16]");
    expect(formatShape([])).toBe("[]");
  });
});
