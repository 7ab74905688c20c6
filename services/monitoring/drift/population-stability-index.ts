/**
 * The population stability index between two vectors of bin shares:
 * Σ (ref − cur) · ln(ref / cur). Shares must already be free of zeros
 * (see `fillZeroShares`), as in Evidently's `psi_stat_test`.
 */
export function populationStabilityIndex(reference: readonly number[], current: readonly number[]): number {
  if (reference.length !== current.length || reference.length === 0) {
    throw new RangeError("reference and current must be non-empty and the same length");
  }
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const c = current[i]!;
    psi += (r - c) * Math.log(r / c);
  }
  return psi;
}

/**
 * Replaces empty bins so logarithms stay finite, as Evidently's
 * `get_binned_data(..., feel_zeroes=True)` does: by 0.0001, or by a
 * millionth of the smallest non-zero share when that is smaller.
 */
export function fillZeroShares(shares: readonly number[]): number[] {
  const nonZero = shares.filter((s) => s !== 0);
  const smallest = nonZero.length > 0 ? Math.min(...nonZero) : 0;
  const fill = nonZero.length > 0 && smallest <= 0.0001 ? smallest / 1e6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}
