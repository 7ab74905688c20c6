import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken, pageOf, resolvePageSize } from "./page-token.js";

describe("pageOf()", () => {
  const keys = ["models.a", "models.b", "models.c", "models.d", "models.e"];

  it("walks every key exactly once, page by page", () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = pageOf(keys, after, 2);
      seen.push(...page.keys);
      if (page.nextPageToken === "") break;
      after = decodePageToken(page.nextPageToken, "models.");
    }
    expect(seen).toEqual(keys);
  });

  it("resumes after the last key even when that key was deleted meanwhile", () => {
    const page = pageOf(["models.a", "models.c"], "models.b", 10);
    expect(page.keys).toEqual(["models.c"]);
    expect(page.nextPageToken).toBe("");
  });

  it("answers an empty last page past the end", () => {
    expect(pageOf(keys, "models.z", 2)).toEqual({ keys: [], nextPageToken: "" });
  });
});

describe("decodePageToken()", () => {
  it("refuses a token from another listing", () => {
    expect(() => decodePageToken(encodePageToken("versions.x.0000000001"), "models.")).toThrow(/not valid for this listing/);
  });

  it("treats an empty token as the first page", () => {
    expect(decodePageToken("", "models.")).toBeUndefined();
  });
});

describe("resolvePageSize()", () => {
  it.each([
    [0, 100],
    [1, 1],
    [1000, 1000],
  ])("%i → %i", (given, expected) => expect(resolvePageSize(given)).toBe(expected));

  it("refuses more than 1000", () => expect(() => resolvePageSize(1001)).toThrow(/at most 1000/));
});
