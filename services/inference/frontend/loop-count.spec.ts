import { describe, expect, it } from "vitest";
import { chooseFrontEndLoops, defaultFrontEndLoops, loopsUnsupportedReason } from "./loop-count.js";

describe("defaultFrontEndLoops", () => {
  it("keeps one loop on two cores or fewer and on a CPU device", () => {
    expect(defaultFrontEndLoops(1, "cuda")).toBe(1);
    expect(defaultFrontEndLoops(2, "cuda")).toBe(1);
    expect(defaultFrontEndLoops(16, "cpu")).toBe(1);
  });

  it("takes a loop per core left after the main thread's on a GPU, up to four", () => {
    expect(defaultFrontEndLoops(3, "cuda")).toBe(2);
    expect(defaultFrontEndLoops(4, "cuda")).toBe(3);
    expect(defaultFrontEndLoops(16, "cuda")).toBe(4);
  });
});

describe("loopsUnsupportedReason", () => {
  it("accepts Node 22.12+, 23.1+ and later majors on Linux", () => {
    for (const version of ["v22.12.0", "v22.20.1", "v23.1.0", "v24.0.0", "v25.2.1"]) expect(loopsUnsupportedReason(version, "linux")).toBeUndefined();
  });

  it("names the missing reusePort on older Nodes and other platforms", () => {
    expect(loopsUnsupportedReason("v20.20.2", "linux")).toMatch(/v20\.20\.2 has no reusePort/);
    expect(loopsUnsupportedReason("v22.11.0", "linux")).toMatch(/no reusePort/);
    expect(loopsUnsupportedReason("v23.0.0", "linux")).toMatch(/no reusePort/);
    expect(loopsUnsupportedReason("v24.1.0", "darwin")).toMatch(/only on Linux, not darwin/);
  });
});

describe("chooseFrontEndLoops", () => {
  const machine = { cores: 8, deviceKind: "cuda" as const, nodeVersion: "v24.1.0", platform: "linux" };

  it("takes what was asked, or the default", () => {
    expect(chooseFrontEndLoops(2, machine)).toEqual({ loops: 2 });
    expect(chooseFrontEndLoops(undefined, machine)).toEqual({ loops: 4 });
    expect(chooseFrontEndLoops(1, { ...machine, nodeVersion: "v20.0.0" })).toEqual({ loops: 1 });
  });

  it("falls back to one loop, with the reason, where this Node cannot share the port", () => {
    expect(chooseFrontEndLoops(3, { ...machine, nodeVersion: "v20.20.2" })).toEqual({ loops: 1, fallbackReason: expect.stringMatching(/no reusePort/) });
  });
});
