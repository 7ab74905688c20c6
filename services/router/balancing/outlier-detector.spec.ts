import { describe, expect, it } from "vitest";
import { OutlierDetector } from "./outlier-detector.js";

const peers = ["a", "b", "c", "d"];

describe("OutlierDetector", () => {
  it("ejects after consecutive failures, and a success resets the count", () => {
    const detector = new OutlierDetector({ consecutiveFailures: 3 });
    detector.failed("a", 0, peers);
    detector.failed("a", 0, peers);
    detector.succeeded("a");
    expect(detector.failed("a", 0, peers)).toBe(false);
    expect(detector.failed("a", 0, peers)).toBe(false);
    expect(detector.failed("a", 0, peers)).toBe(true);
    expect(detector.isEjected("a", 1)).toBe(true);
    expect(detector.isEjected("b", 1)).toBe(false);
  });

  it("ejects on errors within the window even with successes between", () => {
    const detector = new OutlierDetector({ consecutiveFailures: 100, windowFailures: 3, windowMs: 1000 });
    detector.failed("a", 0, peers);
    detector.succeeded("a");
    detector.failed("a", 2000, peers);
    detector.succeeded("a");
    expect(detector.failed("a", 2500, peers)).toBe(false); // the first fell out of the window
    expect(detector.failed("a", 2600, peers)).toBe(true);
  });

  it("backs off: each ejection of the same replica lasts twice as long, up to the cap", () => {
    const detector = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 300 });
    detector.failed("a", 0, peers);
    expect(detector.ejectedUntil("a")).toBe(100);
    detector.failed("a", 100, peers);
    expect(detector.ejectedUntil("a")).toBe(300);
    detector.failed("a", 300, peers);
    expect(detector.ejectedUntil("a")).toBe(600);
    expect(detector.isEjected("a", 599)).toBe(true);
    expect(detector.isEjected("a", 600)).toBe(false);
  });

  it("never ejects more than the allowed fraction of a pool", () => {
    const detector = new OutlierDetector({ consecutiveFailures: 1, maxEjectedPercent: 50 });
    expect(detector.failed("a", 0, peers)).toBe(true);
    expect(detector.failed("b", 0, peers)).toBe(true);
    expect(detector.failed("c", 0, peers)).toBe(false);
    expect(detector.isEjected("c", 1)).toBe(false);
  });
});
