import { describe, expect, it } from "vitest";
import { formatServeSpec, parseServeList } from "./serve-list.js";

describe("parseServeList()", () => {
  it("reads aliases, versions and bare names (meaning @production)", () => {
    expect(parseServeList("fraud@production,wide@3,other")).toEqual([
      { model: "fraud", alias: "production" },
      { model: "wide", version: 3 },
      { model: "other", alias: "production" },
    ]);
  });

  it("ignores spaces around entries and blank entries", () => {
    expect(parseServeList(" fraud@staging , ,wide@12,")).toEqual([
      { model: "fraud", alias: "staging" },
      { model: "wide", version: 12 },
    ]);
  });

  it("returns nothing for an empty list", () => {
    expect(parseServeList("")).toEqual([]);
  });

  it("keeps two selectors of one model, in order (the first is its default)", () => {
    expect(parseServeList("fraud@production,fraud@staging").map(formatServeSpec)).toEqual(["fraud@production", "fraud@staging"]);
  });

  it.each([
    ["Fraud@production", /not a model name/],
    ["fraud@", /neither a version number nor an alias/],
    ["fraud@Prod", /neither a version number nor an alias/],
    ["fraud@0", /out of range/],
    ["fraud@99999999999", /out of range/],
    ["@production", /not a model name/],
    ["fraud@production@2", /neither a version number nor an alias/],
    ["fraud@production,fraud@production", /listed twice/],
  ])("refuses %s", (text, message) => {
    expect(() => parseServeList(text)).toThrow(message);
  });
});
