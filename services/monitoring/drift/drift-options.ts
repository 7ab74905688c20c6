import { invalidArgument } from "../../../libs/errors/index.js";

export type DriftTest = "ks" | "chi_squared" | "wasserstein" | "jensen_shannon" | "psi";

export const DRIFT_TESTS: readonly DriftTest[] = ["ks", "chi_squared", "wasserstein", "jensen_shannon", "psi"];

/** Tests whose result is a p-value (drift when below the threshold); the others give a distance (drift at or above). */
export const P_VALUE_TESTS: ReadonlySet<DriftTest> = new Set(["ks", "chi_squared"]);

export interface DriftOptions {
  /**
   * References with at most this many rows are tested with p-value tests
   * (KS, chi-squared), larger ones with distances (Wasserstein, Jensen–
   * Shannon). Default 1000, Evidently's cut: with many rows, p-value tests
   * flag differences too small to matter.
   */
  smallReferenceRows?: number;
  /** Significance level of p-value tests, before Bonferroni. Default 0.05. */
  pValueThreshold?: number;
  /** Divide the significance level by the number of features tested. Default true. */
  bonferroni?: boolean;
  /** Drift threshold of the normalized Wasserstein and Jensen–Shannon distances. Default 0.1 (Evidently's). */
  distanceThreshold?: number;
  /** Drift threshold of PSI. Default 0.1 (Evidently's; 0.25 is the classic "major shift"). */
  psiThreshold?: number;
  /** Dataset drift when at least this share of input features drift. Default 0.5. */
  driftShare?: number;
  /** Fewest window values a feature needs before it is tested at all. Default 30. */
  minWindowSize?: number;
  /** A fixed test per feature name, instead of the choice by reference size. */
  tests?: Readonly<Record<string, DriftTest>>;
}

export type ResolvedDriftOptions = Required<DriftOptions>;

/** Fills defaults and refuses values that cannot work, naming the field. */
export function resolveDriftOptions(options: DriftOptions = {}): ResolvedDriftOptions {
  const resolved: ResolvedDriftOptions = {
    smallReferenceRows: options.smallReferenceRows ?? 1000,
    pValueThreshold: options.pValueThreshold ?? 0.05,
    bonferroni: options.bonferroni ?? true,
    distanceThreshold: options.distanceThreshold ?? 0.1,
    psiThreshold: options.psiThreshold ?? 0.1,
    driftShare: options.driftShare ?? 0.5,
    minWindowSize: options.minWindowSize ?? 30,
    tests: options.tests ?? {},
  };
  const share = (name: string, v: number, allowZero: boolean): void => {
    if (!(Number.isFinite(v) && (allowZero ? v >= 0 : v > 0) && v <= 1)) {
      throw invalidArgument(`drift option ${name} must be in ${allowZero ? "[0" : "(0"}, 1]; got ${v}`);
    }
  };
  share("pValueThreshold", resolved.pValueThreshold, false);
  share("driftShare", resolved.driftShare, false);
  for (const [name, v] of [
    ["distanceThreshold", resolved.distanceThreshold],
    ["psiThreshold", resolved.psiThreshold],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw invalidArgument(`drift option ${name} must be > 0; got ${v}`);
  }
  for (const [name, v] of [
    ["smallReferenceRows", resolved.smallReferenceRows],
    ["minWindowSize", resolved.minWindowSize],
  ] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw invalidArgument(`drift option ${name} must be an integer >= 1; got ${v}`);
  }
  for (const [feature, test] of Object.entries(resolved.tests)) {
    if (!DRIFT_TESTS.includes(test)) {
      throw invalidArgument(`drift test for feature "${feature}" must be one of ${DRIFT_TESTS.join(", ")}; got "${test}"`);
    }
  }
  return resolved;
}
