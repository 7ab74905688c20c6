import { describe, expect, it } from "vitest";
import { VersionOutcomes } from "./version-outcomes.js";

describe("VersionOutcomes", () => {
  it("counts a version's requests since a time: success share and p99 latency", () => {
    const outcomes = new VersionOutcomes();
    outcomes.observe("fraud", 2, { timeMs: 50, latencyMs: 1000, ok: false }); // before the step: ignored
    for (let i = 0; i < 100; i++) outcomes.observe("fraud", 2, { timeMs: 100 + i, latencyMs: i + 1, ok: i % 10 !== 0 });
    outcomes.observe("fraud", 1, { timeMs: 150, latencyMs: 5000, ok: false }); // another version
    expect(outcomes.since("fraud", 2, 100)).toEqual({ requests: 100, successRate: 0.9, p99Ms: 99 });
    expect(outcomes.since("fraud", 3, 0)).toBeUndefined();
    expect(outcomes.since("fraud", 2, 1_000)).toBeUndefined();
  });

  it("keeps a bounded number per version, the newest", () => {
    const outcomes = new VersionOutcomes(10);
    for (let i = 0; i < 25; i++) outcomes.observe("fraud", 2, { timeMs: i, latencyMs: i, ok: true });
    expect(outcomes.since("fraud", 2, 0)).toMatchObject({ requests: 10, p99Ms: 24 });
  });
});
