import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../libs/onnx/index.js";
import { datasetDrift } from "./dataset-drift.js";
import { resolveDriftOptions } from "./drift-options.js";
import { chooseTest } from "./feature-drift.js";
import type { FeatureReference, FeatureWindow } from "./feature-reference.js";
import { histogramCounts, histogramEdges } from "./histogram-bins.js";

const random = mulberry32(7);
function normal(n: number, mean = 0, sd = 1): number[] {
  return Array.from({ length: n }, () => {
    const u = 1 - random();
    const v = random();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}

function numericReference(values: number[]): FeatureReference {
  const mean = values.reduce((s, x) => s + x, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length);
  const edges = histogramEdges(values, 30);
  return {
    kind: "numeric",
    count: values.length,
    std,
    values,
    exact: true,
    histogramEdges: edges,
    histogramCounts: histogramCounts(values, edges),
  };
}

function categorical(values: string[]): FeatureReference {
  const frequencies = new Map<string, number>();
  for (const v of values) frequencies.set(v, (frequencies.get(v) ?? 0) + 1);
  return { kind: "categorical", count: values.length, frequencies };
}

function categories(n: number, weights: number[]): string[] {
  const total = weights.reduce((s, w) => s + w, 0);
  return Array.from({ length: n }, () => {
    let u = random() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return `c${i}`;
    }
    return `c${weights.length - 1}`;
  });
}

const num = (values: number[]): FeatureWindow => ({ kind: "numeric", values });
const cat = (values: string[]): FeatureWindow => ({ kind: "categorical", values });

describe("chooseTest()", () => {
  const options = resolveDriftOptions();
  it.each([
    ["KS for a numeric feature with <= 1000 reference rows", numericReference(normal(1000)), "ks"],
    ["Wasserstein for a numeric feature with > 1000 rows", numericReference(normal(1001)), "wasserstein"],
    ["chi-squared for a categorical feature with <= 1000 rows", categorical(categories(500, [1, 1, 1])), "chi_squared"],
    ["Jensen–Shannon for a categorical feature with > 1000 rows", categorical(categories(5000, [1, 1])), "jensen_shannon"],
  ] as const)("picks %s", (_name, reference, expected) => {
    expect(chooseTest("f", reference, options)).toBe(expected);
  });

  it("treats a numeric feature with few distinct values as categorical", () => {
    const reference = { ...numericReference([0, 1, 1, 0]), frequencies: new Map([["0", 2], ["1", 2]]) };
    expect(chooseTest("f", reference, options)).toBe("chi_squared");
  });

  it("honours a fixed test per feature", () => {
    expect(chooseTest("f", numericReference(normal(50)), resolveDriftOptions({ tests: { f: "psi" } }))).toBe("psi");
  });
});

describe("datasetDrift()", () => {
  const options = resolveDriftOptions();

  it("finds no drift when live values come from the reference distribution", () => {
    const references = new Map([
      ["a", numericReference(normal(800))],
      ["b", categorical(categories(800, [5, 3, 2]))],
      ["c", numericReference(normal(5000))],
      ["d", categorical(categories(5000, [1, 1, 2]))],
    ]);
    const windows = new Map<string, FeatureWindow>([
      ["a", num(normal(500))],
      ["b", cat(categories(500, [5, 3, 2]))],
      ["c", num(normal(2000))],
      ["d", cat(categories(2000, [1, 1, 2]))],
    ]);
    const report = datasetDrift({ references, windows }, { references: new Map(), windows: new Map() }, options);
    expect(report.features.map((f) => [f.feature, f.test, f.drifted])).toEqual([
      ["a", "ks", false],
      ["b", "chi_squared", false],
      ["c", "wasserstein", false],
      ["d", "jensen_shannon", false],
    ]);
    expect(report.datasetDrift).toBe(false);
  });

  it("flags shifted features and dataset drift once half of them drift", () => {
    const references = new Map([
      ["a", numericReference(normal(800))],
      ["b", categorical(categories(800, [5, 3, 2]))],
      ["c", numericReference(normal(5000))],
      ["d", categorical(categories(5000, [1, 1, 2]))],
    ]);
    const windows = new Map<string, FeatureWindow>([
      ["a", num(normal(500, 0.5))],
      ["b", cat(categories(500, [5, 3, 2]))],
      ["c", num(normal(2000, 0.4))],
      ["d", cat(categories(2000, [1, 1, 2]))],
    ]);
    const report = datasetDrift({ references, windows }, { references: new Map(), windows: new Map() }, options);
    expect(report.features.map((f) => f.drifted)).toEqual([true, false, true, false]);
    expect(report.driftedShare).toBe(0.5);
    expect(report.datasetDrift).toBe(true);
    const a = report.features[0]!;
    expect(a.pValue).toBeLessThan(a.threshold);
    // Two p-value tests: Bonferroni halves the level.
    expect(a.threshold).toBe(0.025);
    expect(report.features[2]!.distance).toBeGreaterThanOrEqual(0.1);
  });

  it("raises the bar with a larger drift share", () => {
    const references = new Map([
      ["a", numericReference(normal(800))],
      ["b", numericReference(normal(800))],
    ]);
    const windows = new Map([
      ["a", num(normal(400, 1))],
      ["b", num(normal(400))],
    ]);
    const strict = datasetDrift({ references, windows }, { references: new Map(), windows: new Map() }, resolveDriftOptions({ driftShare: 0.75 }));
    expect(strict.driftedShare).toBe(0.5);
    expect(strict.datasetDrift).toBe(false);
  });

  it("reports prediction drift from the outputs, apart from the feature share", () => {
    const outputs = {
      references: new Map([["score", numericReference(normal(600, 0.2, 0.1))]]),
      windows: new Map([["score", num(normal(300, 0.6, 0.1))]]),
    };
    const report = datasetDrift({ references: new Map(), windows: new Map() }, outputs, options);
    expect(report.predictionDrift).toBe(true);
    expect(report.predictions[0]!.test).toBe("ks");
    expect(report.datasetDrift).toBe(false);
  });

  it("skips features whose window is still too small", () => {
    const references = new Map([["a", numericReference(normal(100))]]);
    const windows = new Map([["a", num(normal(10))]]);
    const report = datasetDrift({ references, windows }, { references: new Map(), windows: new Map() }, options);
    expect(report.features).toEqual([]);
    expect(report.skipped).toEqual(["a"]);
  });

  it("computes PSI against the reference histogram when asked", () => {
    const references = new Map([["a", numericReference(normal(3000))]]);
    const same = datasetDrift(
      { references, windows: new Map([["a", num(normal(3000))]]) },
      { references: new Map(), windows: new Map() },
      resolveDriftOptions({ tests: { a: "psi" } }),
    );
    const moved = datasetDrift(
      { references, windows: new Map([["a", num(normal(3000, 1))]]) },
      { references: new Map(), windows: new Map() },
      resolveDriftOptions({ tests: { a: "psi" } }),
    );
    expect(same.features[0]!.drifted).toBe(false);
    expect(moved.features[0]!.drifted).toBe(true);
    expect(moved.features[0]!.distance).toBeGreaterThan(0.25);
  });
});

describe("resolveDriftOptions()", () => {
  it.each([
    [{ pValueThreshold: 0 }, "pValueThreshold"],
    [{ driftShare: 1.5 }, "driftShare"],
    [{ distanceThreshold: -1 }, "distanceThreshold"],
    [{ smallReferenceRows: 0.5 }, "smallReferenceRows"],
    [{ tests: { x: "anova" as never } }, 'feature "x"'],
  ])("refuses %o naming the field", (options, field) => {
    expect(() => resolveDriftOptions(options)).toThrow(field);
  });
});
