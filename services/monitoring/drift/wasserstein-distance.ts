/**
 * The first Wasserstein (earth mover's) distance between two samples with
 * equal weights: the area between their empirical CDFs. Same definition as
 * `scipy.stats.wasserstein_distance(u, v)`.
 */
export function wassersteinDistance(u: ArrayLike<number>, v: ArrayLike<number>): number {
  if (u.length === 0 || v.length === 0) throw new RangeError("wassersteinDistance needs two non-empty samples");
  const a = Float64Array.from(u).sort();
  const b = Float64Array.from(v).sort();
  let i = 0;
  let j = 0;
  let total = 0;
  // Walk the merged sorted values; between consecutive values both CDFs are flat.
  let previous = Math.min(a[0]!, b[0]!);
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    total += Math.abs(i / a.length - j / b.length) * (next - previous);
    while (i < a.length && a[i] === next) i++;
    while (j < b.length && b[j] === next) j++;
    previous = next;
  }
  return total;
}
