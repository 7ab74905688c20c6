import { kolmogorovSf } from "./kolmogorov-distribution.js";

export type KsMethod = "exact" | "asymp";

export interface KsResult {
  /** The largest gap between the two empirical CDFs. */
  statistic: number;
  /** Two-sided p-value. */
  pValue: number;
  method: KsMethod;
}

/**
 * Above this size of the larger sample, 'auto' uses the asymptotic
 * distribution, as SciPy's MAX_AUTO_N.
 */
const MAX_EXACT_N = 10_000;

/**
 * The two-sided two-sample Kolmogorov–Smirnov test, as
 * `scipy.stats.ks_2samp(a, b)` with its default method='auto': the exact
 * p-value (lattice-path counting, Hodges / Viehmann) when neither sample
 * exceeds 10,000 values, otherwise the one-sample Kolmogorov distribution at
 * n = round(n₁n₂ / (n₁ + n₂)). An exact computation that loses precision
 * falls back to the asymptotic one, as SciPy does.
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError("ksTwoSample needs two non-empty samples");
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let d = maxCdfGap(x, y);

  if (Math.max(n1, n2) <= MAX_EXACT_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = Math.round(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1, method: "exact" };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideInside(n1, n2, g, h);
    if (Number.isFinite(p) && p >= 0 && p <= 1) return { statistic: d, pValue: p, method: "exact" };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  const p = kolmogorovSf(d, roundHalfEven(en));
  return { statistic: d, pValue: Math.min(Math.max(p, 0), 1), method: "asymp" };
}

/** max |F₁(t) − F₂(t)| over the pooled values, F as right-continuous ECDFs. */
function maxCdfGap(x: Float64Array, y: Float64Array): number {
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const t = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i] === t) i++;
    while (j < y.length && y[j] === t) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/**
 * P(D ≥ h/n) for equal sample sizes: 2·Σ (−1)^(k+1) C(2n, n−kh) / C(2n, n),
 * evaluated Horner-style on ratios so there is no subtractive cancellation
 * (SciPy's `_compute_prob_outside_square`).
 */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * The share of lattice paths from (0,0) to (m,n) that leave the band
 * |x/m − y/n| < h/lcm, computed directly as 1 − inside (Viehmann 2021) one
 * column at a time over a sliding window (SciPy's
 * `_compute_outer_prob_inside_method`).
 */
function probOutsideInside(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let k = minj; k < maxj; k++) A[k] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** numpy.round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
