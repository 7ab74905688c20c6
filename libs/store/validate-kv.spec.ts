import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../errors/index.js";
import { KV_MAX_VALUE_BYTES } from "./kv-store.js";
import { validateKvKey, validateKvPrefix, validateKvRevision, validateKvValue } from "./validate-kv.js";

function codeOf(fn: () => void): Code | "ok" {
  try {
    fn();
    return "ok";
  } catch (err) {
    return err instanceof ConnectError ? err.code : Code.Unknown;
  }
}

describe("validateKvKey()", () => {
  it.each(["a", "models.iris", "versions.iris.3", "a-b/c_d=e", "A.9"])("accepts %j", (key) => {
    expect(codeOf(() => validateKvKey(key))).toBe("ok");
  });
  it.each(["", ".", ".a", "a.", "a..b", "a b", "a*", "a.>", "a:b", "ü", "a\nb"])("rejects %j", (key) => {
    expect(codeOf(() => validateKvKey(key))).toBe(Code.InvalidArgument);
  });
});

describe("validateKvPrefix()", () => {
  it.each(["", "m", "models.", "models.ir", "a-b/"])("accepts %j", (prefix) => {
    expect(codeOf(() => validateKvPrefix(prefix))).toBe("ok");
  });
  it.each([".", "a..", "a b", "models.>", "*"])("rejects %j", (prefix) => {
    expect(codeOf(() => validateKvPrefix(prefix))).toBe(Code.InvalidArgument);
  });
});

describe("validateKvRevision()", () => {
  it.each([1, 42, Number.MAX_SAFE_INTEGER])("accepts %d", (r) => {
    expect(codeOf(() => validateKvRevision("k", r))).toBe("ok");
  });
  it.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])("rejects %d", (r) => {
    expect(codeOf(() => validateKvRevision("k", r))).toBe(Code.InvalidArgument);
  });
});

describe("validateKvValue()", () => {
  it("accepts a value at the limit and rejects one byte more", () => {
    expect(codeOf(() => validateKvValue("k", new Uint8Array(KV_MAX_VALUE_BYTES)))).toBe("ok");
    expect(codeOf(() => validateKvValue("k", new Uint8Array(KV_MAX_VALUE_BYTES + 1)))).toBe(Code.InvalidArgument);
  });
});
