import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareArms, type ArmStats } from "./ab-statistics.js";
import { normalQuantile, studentTQuantile } from "./distributions.js";

const cases = (
  JSON.parse(readFileSync(new URL("../../../test/fixtures/drift/ab.json", import.meta.url), "utf8")) as {
    cases: { a: number[]; b: number[]; t: number; pvalue: number; t975: number; z975: number }[];
  }
).cases;

function stats(values: number[]): ArmStats {
  const n = values.length;
  const mean = values.reduce((s, x) => s + x, 0) / n;
  return { n, mean, variance: values.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) };
}

describe("compareArms() with Welch's t-test agrees with scipy.stats.ttest_ind(equal_var=False)", () => {
  it.each(cases.map((c, i) => [i, c] as const))("case %i", (_i, c) => {
    const result = compareArms(stats(c.a), stats(c.b));
    expect(result.test).toBe("welch_t");
    expect(Math.abs(result.statistic - c.t)).toBeLessThan(1e-9);
    expect(Math.abs(result.pValue - c.pvalue)).toBeLessThan(1e-6);
    expect(Math.abs(studentTQuantile(0.975, c.a.length - 1) - c.t975)).toBeLessThan(1e-6);
    expect(Math.abs(normalQuantile(0.975) - c.z975)).toBeLessThan(1e-9);
    expect(result.differenceCi[0]).toBeLessThan(result.difference);
    expect(result.differenceCi[1]).toBeGreaterThan(result.difference);
  });
});

describe("compareArms() for proportions", () => {
  it("computes the pooled two-proportion z statistic", () => {
    // 120/1000 against 150/1000: pooled p = 0.135, se = sqrt(0.135 · 0.865 · 2/1000).
    const a = { n: 1000, mean: 0.12, variance: 0 };
    const b = { n: 1000, mean: 0.15, variance: 0 };
    const result = compareArms(a, b, { binary: true });
    expect(result.test).toBe("two_proportion_z");
    expect(result.statistic).toBeCloseTo(0.03 / Math.sqrt((0.135 * 0.865 * 2) / 1000), 12);
    // z ≈ 1.963: just significant at 5 %.
    expect(result.pValue).toBeGreaterThan(0.049);
    expect(result.pValue).toBeLessThan(0.05);
  });

  it("says how many more observations per arm a smaller effect needs", () => {
    const a = { n: 100, mean: 0.1, variance: 0 };
    const b = { n: 100, mean: 0.12, variance: 0 };
    // (1.959964 + 0.841621)² · (0.09 + 0.1056) / 0.02² = 3838.1 → 3839 per arm; 100 are there.
    const result = compareArms(a, b, { binary: true, minimumEffect: 0.02 });
    expect(result.samplesStillNeeded).toBe(3839 - 100);
    expect(compareArms({ n: 10_000, mean: 0.1, variance: 0 }, { n: 10_000, mean: 0.12, variance: 0 }, { binary: true }).samplesStillNeeded).toBe(0);
  });

  it("refuses arms with fewer than two observations", () => {
    expect(() => compareArms({ n: 1, mean: 0, variance: 0 }, { n: 5, mean: 0, variance: 1 })).toThrow("at least two");
  });
});
