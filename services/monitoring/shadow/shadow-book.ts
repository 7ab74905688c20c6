import type { ShadowComparison } from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";

/** What the router's shadow comparisons say about one shadow version against the version it shadows. */
export interface ShadowSummary {
  model: string;
  primaryVersion: number;
  shadowVersion: number;
  /** Shadow answers compared with the primary's. */
  compared: number;
  /** Of those, answers whose outputs did not line up (names, sizes). */
  mismatched: number;
  /** Shadow calls that failed (no answer to compare). */
  failed: number;
  /** Largest absolute difference seen, and the mean of each comparison's largest. */
  maxAbsDifference: number;
  meanMaxAbsDifference: number;
  /** Mean latencies, ms: what the shadow would cost callers if it were promoted. */
  meanPrimaryLatencyMs: number;
  meanShadowLatencyMs: number;
  lastTimeMs: number;
}

/**
 * Shadow comparisons (ShadowComparison records the router publishes to
 * the prediction-log stream) summed per model, primary and shadow
 * version. Pure: no I/O, times given.
 */
export class ShadowBook {
  private readonly entries = new Map<string, ShadowSummary & { sumMax: number; sumPrimaryUs: number; sumShadowUs: number }>();

  observe(comparison: ShadowComparison, timeMs: number): ShadowSummary {
    const key = `${comparison.model}@${comparison.primaryVersion}>${comparison.shadowVersion}`;
    let e = this.entries.get(key);
    if (!e) {
      e = {
        model: comparison.model,
        primaryVersion: comparison.primaryVersion,
        shadowVersion: comparison.shadowVersion,
        compared: 0,
        mismatched: 0,
        failed: 0,
        maxAbsDifference: 0,
        meanMaxAbsDifference: 0,
        meanPrimaryLatencyMs: 0,
        meanShadowLatencyMs: 0,
        lastTimeMs: timeMs,
        sumMax: 0,
        sumPrimaryUs: 0,
        sumShadowUs: 0,
      };
      this.entries.set(key, e);
    }
    e.lastTimeMs = Math.max(e.lastTimeMs, timeMs);
    if (comparison.shadowErrorCode !== "") {
      e.failed++;
      return this.summary(e);
    }
    e.compared++;
    if (comparison.mismatch) e.mismatched++;
    e.maxAbsDifference = Math.max(e.maxAbsDifference, comparison.maxAbsDifference);
    e.sumMax += comparison.maxAbsDifference;
    e.sumPrimaryUs += Number(comparison.primaryLatencyUs);
    e.sumShadowUs += Number(comparison.shadowLatencyUs);
    return this.summary(e);
  }

  /** Every pair seen, by model then versions. */
  summaries(): ShadowSummary[] {
    return [...this.entries.values()].map((e) => this.summary(e)).sort((a, b) => a.model.localeCompare(b.model) || a.primaryVersion - b.primaryVersion || a.shadowVersion - b.shadowVersion);
  }

  private summary(e: ShadowSummary & { sumMax: number; sumPrimaryUs: number; sumShadowUs: number }): ShadowSummary {
    const n = Math.max(1, e.compared);
    return {
      model: e.model,
      primaryVersion: e.primaryVersion,
      shadowVersion: e.shadowVersion,
      compared: e.compared,
      mismatched: e.mismatched,
      failed: e.failed,
      maxAbsDifference: e.maxAbsDifference,
      meanMaxAbsDifference: e.sumMax / n,
      meanPrimaryLatencyMs: e.sumPrimaryUs / n / 1000,
      meanShadowLatencyMs: e.sumShadowUs / n / 1000,
      lastTimeMs: e.lastTimeMs,
    };
  }
}
