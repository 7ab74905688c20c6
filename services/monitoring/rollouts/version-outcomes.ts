import { RingBuffer } from "../windows/ring-buffer.js";
import type { StepMetrics } from "./rollout-controller.js";

interface Outcome {
  timeMs: number;
  latencyMs: number;
  ok: boolean;
}

/**
 * The last requests of each model version, from prediction logs, for a
 * rollout's analysis: a logged request with an error_code counts as a
 * failure. Fixed memory: `perVersion` outcomes per version at most.
 */
export class VersionOutcomes {
  private readonly rings = new Map<string, RingBuffer<Outcome>>();

  constructor(private readonly perVersion = 10_000) {}

  observe(model: string, version: number, outcome: Outcome): void {
    const key = `${model}@${version}`;
    let ring = this.rings.get(key);
    if (!ring) this.rings.set(key, (ring = new RingBuffer(this.perVersion)));
    ring.push(outcome);
  }

  /** Every model version with logged requests. */
  *versions(): Iterable<{ model: string; version: number }> {
    for (const key of this.rings.keys()) {
      const at = key.lastIndexOf("@");
      yield { model: key.slice(0, at), version: Number(key.slice(at + 1)) };
    }
  }

  /** Requests, success rate and p99 of the version's requests since `sinceMs`; undefined with none. */
  since(model: string, version: number, sinceMs: number): Omit<StepMetrics, "driftAlarm"> | undefined {
    const outcomes = (this.rings.get(`${model}@${version}`)?.values() ?? []).filter((o) => o.timeMs >= sinceMs);
    if (outcomes.length === 0) return undefined;
    const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
    const ok = outcomes.filter((o) => o.ok).length;
    return {
      requests: outcomes.length,
      successRate: ok / outcomes.length,
      p99Ms: latencies[Math.min(latencies.length - 1, Math.ceil(0.99 * latencies.length) - 1)]!,
    };
  }
}
