import { summarize, type LatencySummary } from "./latency-summary.js";

export interface ClosedLoopOptions {
  /** Calls in flight at once: each worker starts its next call when the last one answers. */
  concurrency: number;
  /** Measured time, after warm-up. */
  durationMs: number;
  /** Time to run before measuring (JIT, connections, batch sizes settling). */
  warmupMs: number;
}

export interface ClosedLoopResult extends LatencySummary {
  callsPerSecond: number;
  errors: number;
  /** Every call answered, warm-up and errors included (for CPU per call). */
  totalCalls: number;
  firstError?: string;
}

/**
 * A closed-loop load: `concurrency` workers, each calling `call` again as
 * soon as the previous call answered, for a fixed time. Throughput and
 * latency are counted only after warm-up.
 */
export async function runClosedLoop(call: () => Promise<unknown>, options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  let errors = 0;
  let totalCalls = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;

  const worker = async () => {
    while (performance.now() < stopAt) {
      const began = performance.now();
      try {
        await call();
        totalCalls++;
        if (began >= measureFrom) latencies.push(performance.now() - began);
      } catch (error) {
        totalCalls++;
        if (began >= measureFrom) errors++;
        firstError ??= String((error as Error)?.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const measuredSeconds = (performance.now() - measureFrom) / 1000;
  return { ...summarize(latencies), callsPerSecond: latencies.length / measuredSeconds, errors, totalCalls, firstError };
}
