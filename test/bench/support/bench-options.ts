/** Knobs every bench reads from its environment, with short defaults so `npm run bench` fits in minutes on 2 cores. */
export interface BenchOptions {
  /** Measured time per point (BENCH_DURATION_MS, default 3000). */
  durationMs: number;
  /** Warm-up per point (BENCH_WARMUP_MS, default 1000). */
  warmupMs: number;
  /** Memory soak length (BENCH_SOAK_S, default 60). */
  soakSeconds: number;
  /** ONNX Runtime intra-op threads for the replica and the raw ceiling alike (BENCH_INTRA_OP_THREADS, default 1: the load generator needs the other core). */
  intraOpThreads: number;
}

export function readBenchOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  return {
    durationMs: positive(env, "BENCH_DURATION_MS", 3000),
    warmupMs: positive(env, "BENCH_WARMUP_MS", 1000, true),
    soakSeconds: positive(env, "BENCH_SOAK_S", 60, true),
    intraOpThreads: positive(env, "BENCH_INTRA_OP_THREADS", 1, true),
  };
}

function positive(env: NodeJS.ProcessEnv, key: string, fallback: number, zeroOk = false): number {
  const text = env[key];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < (zeroOk ? 0 : 1)) throw new Error(`${key} must be a whole number${zeroOk ? "" : " above 0"}, got "${text}"`);
  return value;
}
