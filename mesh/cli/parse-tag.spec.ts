import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { collectList, collectTag } from "./parse-tag.js";

describe("collectTag()", () => {
  it("adds key=value to the tags so far, splitting at the first '='", () => {
    expect(collectTag("team=risk", { owner: "ana" })).toEqual({ owner: "ana", team: "risk" });
    expect(collectTag("query=a=b")).toEqual({ query: "a=b" });
    expect(collectTag("empty=")).toEqual({ empty: "" });
  });

  it.each([
    ["team", "is not key=value"],
    ["=risk", "has no key before '='"],
  ])("refuses %s", (text, message) => {
    expect(() => collectTag(text)).toThrow(InvalidArgumentError);
    expect(() => collectTag(text)).toThrow(message);
  });

  it("refuses a key given twice", () => {
    expect(() => collectTag("team=b", { team: "a" })).toThrow('tag "team" is given twice');
  });
});

describe("collectList()", () => {
  it("appends each repeated value", () => {
    expect(collectList("staging", collectList("production"))).toEqual(["production", "staging"]);
  });
});
