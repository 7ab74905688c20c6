import { normalCdf, normalQuantile, studentTCdf, studentTQuantile } from "./distributions.js";

/** Count, mean and (sample, n − 1) variance of one arm. */
export interface ArmStats {
  n: number;
  mean: number;
  variance: number;
}

export interface Comparison {
  test: "welch_t" | "two_proportion_z";
  statistic: number;
  pValue: number;
  /** Degrees of freedom (Welch–Satterthwaite); Infinity for the z-test. */
  df: number;
  /** mean(B) − mean(A) and its confidence interval. */
  difference: number;
  differenceCi: [number, number];
  a: { ci: [number, number] };
  b: { ci: [number, number] };
  /** More observations per arm for 80 % power at `minimumEffect` (two-sided, at 1 − confidence). */
  samplesStillNeeded: number;
}

export interface CompareOptions {
  /** Default 0.95. */
  confidence?: number;
  /** Smallest difference worth detecting; default the observed one. */
  minimumEffect?: number;
  /** Treat both arms as proportions (every value 0 or 1): the two-proportion z-test. */
  binary?: boolean;
  /** Power of the sample-size estimate. Default 0.8. */
  power?: number;
}

/**
 * Compares two arms: Welch's t-test (unequal variances) for continuous
 * outcomes, the pooled two-proportion z-test for 0/1 outcomes, with
 * confidence intervals and the sample size per arm still needed.
 */
export function compareArms(a: ArmStats, b: ArmStats, options: CompareOptions = {}): Comparison {
  if (a.n < 2 || b.n < 2) throw new RangeError("each arm needs at least two observations");
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const power = options.power ?? 0.8;
  const alpha = 1 - confidence;
  const difference = b.mean - a.mean;
  const effect = Math.abs(options.minimumEffect ?? difference);
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zPower = normalQuantile(power);

  if (options.binary) {
    const [pa, pb] = [a.mean, b.mean];
    const pooled = (pa * a.n + pb * b.n) / (a.n + b.n);
    const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
    const z = sePooled === 0 ? 0 : difference / sePooled;
    const se = Math.sqrt((pa * (1 - pa)) / a.n + (pb * (1 - pb)) / b.n);
    const armCi = (p: number, n: number): [number, number] => {
      const h = zAlpha * Math.sqrt((p * (1 - p)) / n);
      return [p - h, p + h];
    };
    const variances = pa * (1 - pa) + pb * (1 - pb);
    return {
      test: "two_proportion_z",
      statistic: z,
      pValue: 2 * (1 - normalCdf(Math.abs(z))),
      df: Number.POSITIVE_INFINITY,
      difference,
      differenceCi: [difference - zAlpha * se, difference + zAlpha * se],
      a: { ci: armCi(pa, a.n) },
      b: { ci: armCi(pb, b.n) },
      samplesStillNeeded: stillNeeded(zAlpha + zPower, variances, effect, Math.min(a.n, b.n)),
    };
  }

  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  const df = se === 0 ? Number.POSITIVE_INFINITY : (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  const t = se === 0 ? 0 : difference / se;
  const tCrit = studentTQuantile(1 - alpha / 2, df);
  const armCi = (arm: ArmStats): [number, number] => {
    const h = studentTQuantile(1 - alpha / 2, arm.n - 1) * Math.sqrt(arm.variance / arm.n);
    return [arm.mean - h, arm.mean + h];
  };
  return {
    test: "welch_t",
    statistic: t,
    pValue: 2 * (1 - studentTCdf(Math.abs(t), df)),
    df,
    difference,
    differenceCi: [difference - tCrit * se, difference + tCrit * se],
    a: { ci: armCi(a) },
    b: { ci: armCi(b) },
    samplesStillNeeded: stillNeeded(zAlpha + zPower, a.variance + b.variance, effect, Math.min(a.n, b.n)),
  };
}

/** n per arm = (z_α/2 + z_β)² (σ²_a + σ²_b) / δ², less what each arm already has. */
function stillNeeded(z: number, variances: number, effect: number, have: number): number {
  if (effect === 0) return variances === 0 ? 0 : Number.POSITIVE_INFINITY;
  const needed = Math.ceil((z * z * variances) / (effect * effect));
  return Math.max(0, needed - have);
}
