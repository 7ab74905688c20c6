import { chiSquaredSf } from "./special-functions.js";

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  dof: number;
}

/**
 * Pearson's chi-squared goodness-of-fit test of observed counts against
 * expected counts, as `scipy.stats.chisquare(f_obs, f_exp)`: k − 1 degrees of
 * freedom. The two must have the same total (to 1e-8 relative, as SciPy asks).
 */
export function chiSquareTest(observed: readonly number[], expected: readonly number[]): ChiSquareResult {
  if (observed.length !== expected.length) throw new RangeError("observed and expected must have the same length");
  if (observed.length < 2) throw new RangeError("chiSquareTest needs at least two categories");
  const sumObserved = observed.reduce((s, x) => s + x, 0);
  const sumExpected = expected.reduce((s, x) => s + x, 0);
  if (Math.abs(sumObserved - sumExpected) > 1e-8 * Math.max(sumObserved, sumExpected)) {
    throw new RangeError(`observed and expected totals differ (${sumObserved} vs ${sumExpected})`);
  }
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!;
    const d = observed[i]! - e;
    statistic += (d * d) / e;
  }
  const dof = observed.length - 1;
  return { statistic, pValue: chiSquaredSf(statistic, dof), dof };
}
