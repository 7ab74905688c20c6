import { describe, expect, it } from "vitest";
import { mulberry32 } from "./mulberry32.js";

describe("mulberry32()", () => {
  it("repeats its sequence for a seed and differs across seeds", () => {
    const take = (seed: number) => {
      const random = mulberry32(seed);
      return Array.from({ length: 8 }, () => random());
    };
    expect(take(1)).toEqual(take(1));
    expect(take(1)).not.toEqual(take(2));
  });

  it("yields values in [0, 1) spread across the interval", () => {
    const random = mulberry32(99);
    const values = Array.from({ length: 10_000 }, () => random());
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it("keeps producing the sequence the example models were built from", () => {
    // Pinned: changing these changes every example model's weights and bytes.
    const random = mulberry32(1);
    expect([random(), random(), random()].map((v) => v * 2 ** 32)).toEqual([2693262067, 11749833, 2265367787]);
  });
});
