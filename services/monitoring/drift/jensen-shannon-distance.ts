/**
 * The Jensen–Shannon distance between two probability vectors, as
 * `scipy.spatial.distance.jensenshannon(p, q)` with its default natural-log
 * base (what Evidently calls): both are normalized to sum to 1 first; the
 * result is the square root of the divergence, in [0, √ln 2].
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length || p.length === 0) throw new RangeError("p and q must be non-empty and the same length");
  const sp = p.reduce((s, x) => s + x, 0);
  const sq = q.reduce((s, x) => s + x, 0);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    divergence += relativeEntropy(pi, m) + relativeEntropy(qi, m);
  }
  return Math.sqrt(Math.max(divergence, 0) / 2);
}

/** x ln(x / y), with 0 ln 0 = 0 (scipy.special.rel_entr). */
function relativeEntropy(x: number, y: number): number {
  if (x === 0) return 0;
  return x * Math.log(x / y);
}
