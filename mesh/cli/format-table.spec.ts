import { describe, expect, it } from "vitest";
import { formatTable } from "./format-table.js";

describe("formatTable()", () => {
  it("aligns columns two spaces apart and trims trailing spaces", () => {
    expect(formatTable(["NAME", "V"], [["fraud", "1"], ["a", ""]])).toBe("NAME   V\nfraud  1\na");
  });

  it("pads rows shorter than the header", () => {
    expect(formatTable(["A", "B", "C"], [["x"]])).toBe("A  B  C\nx");
  });
});
