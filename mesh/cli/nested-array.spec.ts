import { describe, expect, it } from "vitest";
import { elementPath, flattenNested, nestValues } from "./nested-array.js";

describe("flattenNested()", () => {
  it.each([
    ["a matrix", [[1, 2, 3], [4, 5, 6]], [2, 3], [1, 2, 3, 4, 5, 6]],
    ["a vector", [1, 2], [2], [1, 2]],
    ["a scalar", 7, [], [7]],
    ["an empty list", [], [0], []],
    ["a 3-d array", [[[1], [2]], [[3], [4]]], [2, 2, 1], [1, 2, 3, 4]],
  ])("reads %s", (_label, value, shape, values) => {
    expect(flattenNested(value, "x")).toEqual({ shape, values });
  });

  it.each([
    ["a short row", [[1, 2], [3]], "x[1] has 1 element where x[0] has 2; every row must be the same length"],
    ["a list among values", [[1, 2], [3, [4]]], "x[1][1] is a list where x[0][0] is a single value"],
    ["a value among lists", [[1, 2], 3], "x[1] is a single value where x[0] is a list"],
  ])("names the first element of %s", (_label, value, message) => {
    expect(() => flattenNested(value, "x")).toThrow(message);
  });
});

describe("nestValues()", () => {
  it("undoes flattenNested", () => {
    const value = [[[1], [2]], [[3], [4]]];
    const { shape, values } = flattenNested(value, "x");
    expect(nestValues(values, shape)).toEqual(value);
  });

  it("answers a scalar for shape []", () => {
    expect(nestValues([5], [])).toBe(5);
  });

  it("refuses values that do not fill the shape", () => {
    expect(() => nestValues([1, 2, 3], [2, 2])).toThrow("shape [2, 2] holds 4 elements, got 3");
  });
});

describe("elementPath()", () => {
  it("turns a flat index into row-major indices", () => {
    expect(elementPath("features", [2, 16], 17)).toBe("features[1][1]");
    expect(elementPath("s", [], 0)).toBe("s");
  });
});
