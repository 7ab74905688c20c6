import { chiSquareTest } from "./chi-square-test.js";
import { P_VALUE_TESTS, type DriftTest, type ResolvedDriftOptions } from "./drift-options.js";
import type { FeatureReference, FeatureWindow } from "./feature-reference.js";
import { histogramCounts } from "./histogram-bins.js";
import { jensenShannonDistance } from "./jensen-shannon-distance.js";
import { ksTwoSample } from "./ks-two-sample.js";
import { fillZeroShares, populationStabilityIndex } from "./population-stability-index.js";
import { wassersteinDistance } from "./wasserstein-distance.js";

export interface FeatureDrift {
  feature: string;
  test: DriftTest;
  /** The test's statistic: KS D, chi-squared, or the distance itself. */
  statistic: number;
  /** For KS and chi-squared; undefined for distance tests. */
  pValue?: number;
  /** For Wasserstein (normalized by the reference's std), Jensen–Shannon and PSI. */
  distance?: number;
  /** p-value tests: drift when p < threshold; distance tests: drift when distance ≥ threshold. */
  threshold: number;
  drifted: boolean;
  windowSize: number;
  referenceSize: number;
}

/**
 * The test Evidently would pick: by reference size, then by kind — numeric
 * features with at most five distinct values are treated as categorical.
 */
export function chooseTest(feature: string, reference: FeatureReference, options: ResolvedDriftOptions): DriftTest {
  const fixed = options.tests[feature];
  if (fixed !== undefined) return fixed;
  const categorical = reference.kind === "categorical" || reference.frequencies !== undefined;
  if (reference.count <= options.smallReferenceRows) return categorical ? "chi_squared" : "ks";
  return categorical ? "jensen_shannon" : "wasserstein";
}

/**
 * Tests one feature's window against its reference. `pValueThreshold` is the
 * level after any Bonferroni correction. Throws RangeError when the test does
 * not fit the feature's kind (e.g. KS on a categorical feature).
 */
export function featureDrift(
  feature: string,
  reference: FeatureReference,
  window: FeatureWindow,
  test: DriftTest,
  thresholds: { pValue: number; distance: number; psi: number },
): FeatureDrift {
  const base = { feature, test, windowSize: window.values.length, referenceSize: reference.count };
  const threshold = P_VALUE_TESTS.has(test) ? thresholds.pValue : test === "psi" ? thresholds.psi : thresholds.distance;
  const byPValue = (statistic: number, pValue: number): FeatureDrift => ({
    ...base,
    statistic,
    pValue,
    threshold,
    drifted: pValue < threshold,
  });
  const byDistance = (distance: number): FeatureDrift => ({
    ...base,
    statistic: distance,
    distance,
    threshold,
    drifted: distance >= threshold,
  });

  switch (test) {
    case "ks": {
      const [ref, cur] = numeric(reference, window, test);
      const r = ksTwoSample(cur, ref.values);
      return byPValue(r.statistic, r.pValue);
    }
    case "wasserstein": {
      const [ref, cur] = numeric(reference, window, test);
      // Evidently normalizes by the reference's std, with a floor so a constant reference does not divide by zero.
      return byDistance(wassersteinDistance(ref.values, cur) / Math.max(ref.std, 0.001));
    }
    case "chi_squared": {
      const { keys, ref, cur, refTotal, curTotal } = categoryCounts(reference, window);
      if (keys.length < 2) return byPValue(0, 1);
      const scale = curTotal / refTotal;
      const r = chiSquareTest(
        cur,
        ref.map((c) => c * scale),
      );
      return byPValue(r.statistic, r.pValue);
    }
    case "jensen_shannon": {
      const { ref, cur, refTotal, curTotal } = categoryCounts(reference, window);
      return byDistance(jensenShannonDistance(ref.map((c) => c / refTotal), cur.map((c) => c / curTotal)));
    }
    case "psi": {
      const { ref, cur } = psiShares(reference, window);
      return byDistance(populationStabilityIndex(fillZeroShares(ref), fillZeroShares(cur)));
    }
  }
}

function numeric(
  reference: FeatureReference,
  window: FeatureWindow,
  test: DriftTest,
): [Extract<FeatureReference, { kind: "numeric" }>, readonly number[]] {
  if (reference.kind !== "numeric" || window.kind !== "numeric") {
    throw new RangeError(`the ${test} test needs a numeric feature`);
  }
  return [reference, window.values];
}

/** Counts over the union of categories, in a fixed order (reference first). */
function categoryCounts(reference: FeatureReference, window: FeatureWindow) {
  const frequencies = reference.frequencies;
  if (frequencies === undefined) throw new RangeError("a categorical test needs category frequencies in the reference");
  const current = new Map<string, number>();
  for (const v of window.values) {
    const key = String(v);
    current.set(key, (current.get(key) ?? 0) + 1);
  }
  const keys = [...new Set([...frequencies.keys(), ...current.keys()])];
  const ref = keys.map((k) => frequencies.get(k) ?? 0);
  const cur = keys.map((k) => current.get(k) ?? 0);
  return { keys, ref, cur, refTotal: ref.reduce((s, x) => s + x, 0), curTotal: window.values.length };
}

/**
 * Bin shares for PSI: categories for categorical features; for numeric ones
 * the reference histogram's bins, with live values beyond its range counted
 * in the end bins (the reference data itself is not kept to re-bin pooled).
 */
function psiShares(reference: FeatureReference, window: FeatureWindow): { ref: number[]; cur: number[] } {
  if (reference.kind === "categorical" || reference.frequencies !== undefined) {
    const { ref, cur, refTotal, curTotal } = categoryCounts(reference, window);
    return { ref: ref.map((c) => c / refTotal), cur: cur.map((c) => c / curTotal) };
  }
  if (window.kind !== "numeric") throw new RangeError("the psi test needs a numeric window for a numeric feature");
  const edges = reference.histogramEdges;
  const lo = edges[0]!;
  const hi = edges[edges.length - 1]!;
  const counts = histogramCounts(
    window.values.map((v) => Math.min(Math.max(v, lo), hi)),
    edges,
  );
  const refTotal = reference.histogramCounts.reduce((s, x) => s + x, 0);
  return {
    ref: reference.histogramCounts.map((c) => c / refTotal),
    cur: counts.map((c) => c / window.values.length),
  };
}
