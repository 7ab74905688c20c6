/**
 * `nBins` equal-width bin edges over [min, max] of the values, as
 * `numpy.histogram_bin_edges(values, bins=nBins)`: a range of zero width is
 * widened to [v − 0.5, v + 0.5].
 */
export function histogramEdges(values: Iterable<number>, nBins: number): number[] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) throw new RangeError("histogramEdges needs at least one value");
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const step = (hi - lo) / nBins;
  const edges = Array.from({ length: nBins + 1 }, (_, i) => i * step + lo);
  edges[nBins] = hi;
  return edges;
}

/**
 * Counts per bin, as `numpy.histogram(values, edges)`: each bin is
 * [left, right) except the last, which includes its right edge; values
 * outside the edges are not counted.
 */
export function histogramCounts(values: Iterable<number>, edges: readonly number[]): number[] {
  const nBins = edges.length - 1;
  const counts = new Array<number>(nBins).fill(0);
  const first = edges[0]!;
  const last = edges[nBins]!;
  for (const v of values) {
    if (!(v >= first && v <= last)) continue;
    // The last edge whose value is ≤ v, clamped into the last bin.
    let lo = 0;
    let hi = nBins;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (edges[mid]! <= v) lo = mid;
      else hi = mid - 1;
    }
    counts[Math.min(lo, nBins - 1)]!++;
  }
  return counts;
}
