import { P_VALUE_TESTS, type ResolvedDriftOptions } from "./drift-options.js";
import { chooseTest, featureDrift, type FeatureDrift } from "./feature-drift.js";
import type { FeatureReference, FeatureWindow } from "./feature-reference.js";

export interface DatasetDrift {
  /** Input features, tested. */
  features: FeatureDrift[];
  /** Outputs, tested the same way: prediction drift. */
  predictions: FeatureDrift[];
  /** Features with a profile but too few window values to test. */
  skipped: string[];
  driftedShare: number;
  datasetDrift: boolean;
  predictionDrift: boolean;
}

export interface DriftInput {
  references: ReadonlyMap<string, FeatureReference>;
  windows: ReadonlyMap<string, FeatureWindow>;
}

/**
 * Tests every input feature and output that has both a reference and enough
 * window values. Bonferroni divides the p-value level by the number of
 * p-value tests in the group (inputs, or outputs), so testing 100 features
 * does not raise 5 false alarms per report.
 */
export function datasetDrift(inputs: DriftInput, outputs: DriftInput, options: ResolvedDriftOptions): DatasetDrift {
  const skipped: string[] = [];
  const features = testGroup(inputs, options, skipped);
  const predictions = testGroup(outputs, options, skipped);
  const drifted = features.filter((f) => f.drifted).length;
  const driftedShare = features.length === 0 ? 0 : drifted / features.length;
  return {
    features,
    predictions,
    skipped,
    driftedShare,
    datasetDrift: features.length > 0 && driftedShare >= options.driftShare,
    predictionDrift: predictions.some((p) => p.drifted),
  };
}

function testGroup(group: DriftInput, options: ResolvedDriftOptions, skipped: string[]): FeatureDrift[] {
  const planned: { name: string; reference: FeatureReference; window: FeatureWindow }[] = [];
  for (const [name, reference] of group.references) {
    const window = group.windows.get(name);
    if (window === undefined || window.values.length < options.minWindowSize) {
      skipped.push(name);
      continue;
    }
    planned.push({ name, reference, window });
  }
  const tests = planned.map((p) => chooseTest(p.name, p.reference, options));
  const pValueTests = tests.filter((t) => P_VALUE_TESTS.has(t)).length;
  const pValue = options.bonferroni && pValueTests > 1 ? options.pValueThreshold / pValueTests : options.pValueThreshold;
  return planned.map((p, i) =>
    featureDrift(p.name, p.reference, p.window, tests[i]!, {
      pValue,
      distance: options.distanceThreshold,
      psi: options.psiThreshold,
    }),
  );
}
