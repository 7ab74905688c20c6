import { describe, expect, it } from "vitest";
import { parseMilliseconds, parseVersionNumber } from "./parse-count.js";

describe("parseVersionNumber()", () => {
  it("reads whole numbers from 1 to 2^32-1", () => {
    expect(parseVersionNumber("1")).toBe(1);
    expect(parseVersionNumber(" 42 ")).toBe(42);
    expect(parseVersionNumber("4294967295")).toBe(4294967295);
  });

  it.each(["0", "-1", "1.5", "v3", "", "4294967296"])("refuses %j", (text) => {
    expect(() => parseVersionNumber(text)).toThrow("is not a version number");
  });
});

describe("parseMilliseconds()", () => {
  it("reads whole milliseconds", () => {
    expect(parseMilliseconds("30000")).toBe(30000);
  });

  it.each(["0", "1s", "-5", "2.5"])("refuses %j", (text) => {
    expect(() => parseMilliseconds(text)).toThrow("is not a duration");
  });
});
