import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chiSquareTest } from "./chi-square-test.js";
import { histogramCounts, histogramEdges } from "./histogram-bins.js";
import { jensenShannonDistance } from "./jensen-shannon-distance.js";
import { kolmogorovSf } from "./kolmogorov-distribution.js";
import { ksTwoSample } from "./ks-two-sample.js";
import { fillZeroShares, populationStabilityIndex } from "./population-stability-index.js";
import { wassersteinDistance } from "./wasserstein-distance.js";

// Fixtures from test/fixtures/drift/make-fixtures.py, run once with Debian's
// python3-scipy; see that script for how each case was drawn.
function fixture<T>(name: string): T[] {
  const url = new URL(`../../../test/fixtures/drift/${name}`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { cases: T[] }).cases;
}

const TOLERANCE = 1e-6;

describe("ksTwoSample() agrees with scipy.stats.ks_2samp", () => {
  const cases = fixture<{ a: number[]; b: number[]; statistic: number; pvalue: number }>("ks-2samp.json");
  it.each(cases.map((c, i) => [i, c.a.length, c.b.length, c] as const))("case %i (%i vs %i values)", (_i, _n1, _n2, c) => {
    const result = ksTwoSample(c.a, c.b);
    expect(Math.abs(result.statistic - c.statistic)).toBeLessThan(TOLERANCE);
    expect(Math.abs(result.pValue - c.pvalue)).toBeLessThan(TOLERANCE);
    expect(result.method).toBe(Math.max(c.a.length, c.b.length) <= 10_000 ? "exact" : "asymp");
  });
});

describe("kolmogorovSf() agrees with scipy.stats.kstwo.sf", () => {
  const cases = fixture<{ n: number; x: number; sf: number }>("kstwo.json");
  it("matches every (n, x) on the grid", () => {
    const misses = cases
      .map((c) => ({ ...c, ours: kolmogorovSf(c.x, c.n) }))
      .filter((c) => !(Math.abs(c.ours - c.sf) < TOLERANCE));
    expect(misses).toEqual([]);
  });
});

describe("wassersteinDistance() agrees with scipy.stats.wasserstein_distance", () => {
  const cases = fixture<{ u: number[]; v: number[]; distance: number }>("wasserstein.json");
  it.each(cases.map((c, i) => [i, c] as const))("case %i", (_i, c) => {
    expect(Math.abs(wassersteinDistance(c.u, c.v) - c.distance)).toBeLessThan(TOLERANCE);
  });
});

describe("chiSquareTest() agrees with scipy.stats.chisquare", () => {
  const cases = fixture<{ observed: number[]; expected: number[]; statistic: number; pvalue: number }>("chisquare.json");
  it.each(cases.map((c, i) => [i, c] as const))("case %i", (_i, c) => {
    const result = chiSquareTest(c.observed, c.expected);
    expect(Math.abs(result.statistic - c.statistic)).toBeLessThan(TOLERANCE);
    expect(Math.abs(result.pValue - c.pvalue)).toBeLessThan(TOLERANCE);
  });
});

describe("jensenShannonDistance() agrees with scipy.spatial.distance.jensenshannon", () => {
  const cases = fixture<{ p: number[]; q: number[]; distance: number }>("jensenshannon.json");
  it.each(cases.map((c, i) => [i, c] as const))("case %i", (_i, c) => {
    expect(Math.abs(jensenShannonDistance(c.p, c.q) - c.distance)).toBeLessThan(TOLERANCE);
  });
});

describe("Evidently-style binning and PSI agree with numpy", () => {
  const cases = fixture<{
    reference: number[];
    current: number[];
    reference_shares: number[];
    current_shares: number[];
    psi: number;
    jensenshannon: number;
  }>("psi.json");
  it.each(cases.map((c, i) => [i, c] as const))("case %i", (_i, c) => {
    const edges = histogramEdges([...c.reference, ...c.current], 30);
    const rawRef = histogramCounts(c.reference, edges).map((n) => n / c.reference.length);
    const rawCur = histogramCounts(c.current, edges).map((n) => n / c.current.length);
    const ref = fillZeroShares(rawRef);
    const cur = fillZeroShares(rawCur);
    ref.forEach((s, k) => expect(Math.abs(s - c.reference_shares[k]!)).toBeLessThan(1e-12));
    cur.forEach((s, k) => expect(Math.abs(s - c.current_shares[k]!)).toBeLessThan(1e-12));
    expect(Math.abs(populationStabilityIndex(ref, cur) - c.psi)).toBeLessThan(TOLERANCE);
    expect(Math.abs(jensenShannonDistance(rawRef, rawCur) - c.jensenshannon)).toBeLessThan(TOLERANCE);
  });
});
