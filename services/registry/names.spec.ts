import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { checkAliasName, checkMetrics, checkModelName, checkTags } from "./names.js";

function codeOf(fn: () => unknown): Code | "ok" {
  try {
    fn();
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe("checkModelName()", () => {
  it.each([
    ["fraud", "ok"],
    ["fraud-v2_tabular", "ok"],
    ["0day", "ok"],
    ["a".repeat(63), "ok"],
    ["a".repeat(64), Code.InvalidArgument],
    ["", Code.InvalidArgument],
    ["Fraud", Code.InvalidArgument],
    ["fraud.v2", Code.InvalidArgument],
    ["-fraud", Code.InvalidArgument],
    ["fraud model", Code.InvalidArgument],
    ["fraud/x", Code.InvalidArgument],
  ] as const)("%j → %s", (name, expected) => {
    expect(codeOf(() => checkModelName(name))).toBe(expected);
  });
});

describe("checkAliasName()", () => {
  it.each([
    ["production", "ok"],
    ["canary-2", "ok"],
    ["latest", Code.InvalidArgument],
    ["2nd", Code.InvalidArgument],
    ["Prod", Code.InvalidArgument],
    ["", Code.InvalidArgument],
  ] as const)("%j → %s", (alias, expected) => {
    expect(codeOf(() => checkAliasName(alias))).toBe(expected);
  });
});

describe("checkTags() and checkMetrics()", () => {
  it("accepts ordinary keys and refuses odd ones, naming the key", () => {
    expect(codeOf(() => checkTags({ team: "risk", "k8s.io/app": "x" }))).toBe("ok");
    expect(() => checkTags({ "bad key": "x" })).toThrow(/"bad key"/);
    expect(() => checkTags({ k: "v".repeat(1025) })).toThrow(/at most 1024/);
  });

  it("refuses non-finite metrics", () => {
    expect(codeOf(() => checkMetrics({ auc: 0.9 }))).toBe("ok");
    expect(() => checkMetrics({ auc: Number.POSITIVE_INFINITY })).toThrow(/"auc" is Infinity/);
  });
});
