import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../errors/index.js";
import { validateSubject, validateSubjectPattern } from "./validate-subject.js";

function codeOf(fn: () => void): Code | "ok" {
  try {
    fn();
    return "ok";
  } catch (err) {
    return err instanceof ConnectError ? err.code : Code.Unknown;
  }
}

describe("validateSubject()", () => {
  it.each(["a", "tessera.registry.alias.moved", "a-b_c.d/e=f", "x.Y.9", "$KV.bucket.key"])("accepts %j", (s) => {
    expect(codeOf(() => validateSubject(s))).toBe("ok");
  });
  it.each(["", ".", "a.", ".a", "a..b", "a b", "a\tb", "a.*", "a.>", "*", ">", "a*", "é", "a\u0000"])(
    "rejects %j with INVALID_ARGUMENT",
    (s) => {
      expect(codeOf(() => validateSubject(s))).toBe(Code.InvalidArgument);
    },
  );
});

describe("validateSubjectPattern()", () => {
  it.each(["a", "a.*", "a.>", "*", ">", "*.b.>", "a.*.c"])("accepts %j", (s) => {
    expect(codeOf(() => validateSubjectPattern(s))).toBe("ok");
  });
  it.each(["", "a..b", "a.>.b", ">.a", "a b", "a*", "a.b>", "a."])("rejects %j with INVALID_ARGUMENT", (s) => {
    expect(codeOf(() => validateSubjectPattern(s))).toBe(Code.InvalidArgument);
  });
});
