import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { ServedTable, type Target, type VersionSlot } from "./served-table.js";

const slot = (model: string, version: number, state: VersionSlot["state"] = "READY", error?: string): VersionSlot => ({ model, version, state, error });

/** fraud@production → 3, fraud@2 pinned, wide@staging still loading 7. */
function table(): ServedTable<VersionSlot> {
  const t = new ServedTable<VersionSlot>();
  t.addSelector("fraud", { alias: "production" });
  t.addSelector("fraud", { version: 2 });
  t.putVersion(slot("fraud", 3));
  t.putVersion(slot("fraud", 2));
  t.setPending("fraud", "production", 3);
  t.promote("fraud", "production", 3);
  t.addSelector("wide", { alias: "staging" });
  t.putVersion(slot("wide", 7, "LOADING"));
  t.setPending("wide", "staging", 7);
  return t;
}

function codeOf(t: ServedTable<VersionSlot>, target: Target): { code: Code; message: string } {
  try {
    t.resolve(target);
  } catch (error) {
    const e = ConnectError.from(error);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error("resolve() did not throw");
}

describe("ServedTable.resolve()", () => {
  it("resolves an alias to the version it points at here", () => {
    expect(table().resolve({ model: "fraud", alias: "production" }).version).toBe(3);
  });

  it("resolves a version number", () => {
    expect(table().resolve({ model: "fraud", version: 2 }).version).toBe(2);
    expect(table().resolve({ model: "fraud", version: 3 }).version).toBe(3);
  });

  it("resolves neither to the model's first selector", () => {
    expect(table().resolve({ model: "fraud" }).version).toBe(3);
    expect(table().resolve({ model: "fraud", version: 0, alias: "" }).version).toBe(3);
  });

  it("accepts an alias and the version it points at together, refuses a mismatch", () => {
    expect(table().resolve({ model: "fraud", alias: "production", version: 3 }).version).toBe(3);
    expect(codeOf(table(), { model: "fraud", alias: "production", version: 2 }).code).toBe(Code.InvalidArgument);
  });

  it("answers NOT_FOUND listing what the replica serves for an unknown model", () => {
    const { code, message } = codeOf(table(), { model: "nope" });
    expect(code).toBe(Code.NotFound);
    expect(message).toContain('model "nope" is not served by this replica');
    expect(message).toContain("fraud@production (version 3), fraud@2, wide@staging (loading version 7)");
  });

  it("answers NOT_FOUND for an unknown version or alias of a served model", () => {
    expect(codeOf(table(), { model: "fraud", version: 9 })).toMatchObject({ code: Code.NotFound, message: expect.stringContaining("version 9") });
    expect(codeOf(table(), { model: "fraud", alias: "canary" })).toMatchObject({ code: Code.NotFound, message: expect.stringContaining('alias "canary"') });
  });

  it("answers UNAVAILABLE while the version is loading", () => {
    expect(codeOf(table(), { model: "wide", alias: "staging" }).code).toBe(Code.Unavailable);
    expect(codeOf(table(), { model: "wide", version: 7 }).code).toBe(Code.Unavailable);
    expect(codeOf(table(), { model: "wide" }).code).toBe(Code.Unavailable);
  });

  it("answers FAILED_PRECONDITION with the reason for a version that failed to load", () => {
    const t = table();
    t.addSelector("bad", { version: 1 });
    t.putVersion(slot("bad", 1, "FAILED", "not an ONNX model"));
    expect(codeOf(t, { model: "bad" })).toMatchObject({ code: Code.FailedPrecondition, message: expect.stringContaining("not an ONNX model") });
  });

  it("answers UNAVAILABLE for a version that failed for a passing reason and is being loaded again", () => {
    const t = table();
    t.addSelector("lost", { version: 1 });
    t.putVersion({ ...slot("lost", 1, "FAILED", "lost its sessions"), retryable: true });
    expect(codeOf(t, { model: "lost" })).toMatchObject({ code: Code.Unavailable, message: expect.stringContaining("lost its sessions") });
  });
});

describe("ServedTable alias moves", () => {
  it("keeps the alias on the old version until the new one is READY, then switches", () => {
    const t = table();
    t.putVersion(slot("fraud", 4, "LOADING"));
    t.setPending("fraud", "production", 4);
    expect(t.promote("fraud", "production", 4)).toBe(false);
    expect(t.resolve({ model: "fraud", alias: "production" }).version).toBe(3);
    t.getVersion("fraud", 4)!.state = "READY";
    expect(t.promote("fraud", "production", 4)).toBe(true);
    expect(t.resolve({ model: "fraud", alias: "production" }).version).toBe(4);
    expect(t.unneeded("fraud").map((s) => s.version)).toEqual([3]);
  });

  it("does not switch to a version a later move superseded", () => {
    const t = table();
    t.putVersion(slot("fraud", 4));
    t.putVersion(slot("fraud", 5, "LOADING"));
    t.setPending("fraud", "production", 4);
    t.setPending("fraud", "production", 5);
    expect(t.promote("fraud", "production", 4)).toBe(false);
    expect(t.unneeded("fraud").map((s) => s.version)).toEqual([4]);
  });

  it("keeps a version still pinned when the alias leaves it", () => {
    const t = table();
    t.setPending("fraud", "production", 2);
    expect(t.promote("fraud", "production", 2)).toBe(true);
    expect(t.aliasesOf("fraud", 2)).toEqual(["production"]);
    expect(t.unneeded("fraud").map((s) => s.version)).toEqual([3]);
  });
});

describe("ServedTable.allReady()", () => {
  it("is false while a selector leads to no READY version, true once it does", () => {
    const t = table();
    expect(t.allReady()).toBe(false);
    t.getVersion("wide", 7)!.state = "READY";
    t.promote("wide", "staging", 7);
    expect(t.allReady()).toBe(true);
  });
});

describe("ServedTable.removeSelectors()", () => {
  it("drops the pins and aliases that lead to a version, leaving it unneeded", () => {
    const t = table();
    expect(t.removeSelectors("fraud", 3)).toEqual([{ alias: "production" }]);
    expect(t.unneeded("fraud").map((s) => s.version)).toEqual([3]);
    expect(t.resolve({ model: "fraud" }).version).toBe(2);
  });

  it("drops everything with version 0", () => {
    const t = table();
    t.removeSelectors("fraud", 0);
    expect(t.unneeded("fraud").map((s) => s.version).sort()).toEqual([2, 3]);
  });
});
