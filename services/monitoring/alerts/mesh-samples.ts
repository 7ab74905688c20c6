import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { ReplicaRecord } from "../../../libs/gen/tessera/events/v1/inference_events_pb.js";
import type { RouterStats } from "../../../libs/gen/tessera/events/v1/router_events_pb.js";
import type { Sample } from "./alert-evaluator.js";
import { parseDuration } from "./parse-duration.js";

/** What error_rate needs of the logged outcomes (VersionOutcomes). */
export interface OutcomeSource {
  versions(): Iterable<{ model: string; version: number }>;
  since(model: string, version: number, sinceMs: number): { requests: number; successRate: number } | undefined;
}

/**
 * error_rate per model version and rule window: the share of logged
 * requests in the window that carry an error_code. No requests in the
 * window: no sample (an alert on it resolves).
 */
export function errorRateSamples(outcomes: OutcomeSource, windows: readonly string[], nowMs: number): Sample[] {
  const out: Sample[] = [];
  for (const window of windows) {
    const ms = parseDuration(window) ?? 0;
    for (const { model, version } of outcomes.versions()) {
      const s = outcomes.since(model, version, nowMs - ms);
      if (s) out.push({ metric: "error_rate", labels: { model, version: String(version) }, value: 1 - s.successRate, window });
    }
  }
  return out;
}

/**
 * queue_depth per model version: the deepest batch queue any live replica
 * reports in its membership heartbeat (ServedModel.queue_depth), as the
 * Prometheus export's `max by (model, version)`. A record whose heartbeat is
 * older than `staleAfterMs` is a replica that died: not counted.
 */
export function queueDepthSamples(records: readonly ReplicaRecord[], nowMs: number, staleAfterMs: number): Sample[] {
  const deepest = new Map<string, { model: string; version: number; depth: number }>();
  for (const record of records) {
    if (record.heartbeatTime && nowMs - timestampMs(record.heartbeatTime) > staleAfterMs) continue;
    for (const m of record.models) {
      const key = `${m.model}@${m.version}`;
      const seen = deepest.get(key);
      if (!seen || m.queueDepth > seen.depth) deepest.set(key, { model: m.model, version: m.version, depth: m.queueDepth });
    }
  }
  return [...deepest.values()].map(({ model, version, depth }) => ({ metric: "queue_depth", labels: { model, version: String(version) }, value: depth }));
}

interface Snapshot {
  atMs: number;
  totals: Map<string, number>;
}

/**
 * degraded_answers per model: answers per second the routers gave from a
 * fallback, over a rule's window, from the cumulative counts each router
 * sends in RouterStats (summed over kinds and routers). A router's rate is
 * (last − first count in the window) / (their time apart), so it needs two
 * stats in the window; a router that restarts has a new id and starts over.
 * Fixed memory: snapshots older than `keepMs` are dropped, and so are
 * routers that have been silent that long.
 */
export class DegradedAnswerRates {
  private readonly routers = new Map<string, Snapshot[]>();

  constructor(private readonly keepMs = 3_600_000) {}

  observe(stats: RouterStats, nowMs: number): void {
    const totals = new Map<string, number>();
    for (const d of stats.degraded) totals.set(d.model, (totals.get(d.model) ?? 0) + Number(d.total));
    let snapshots = this.routers.get(stats.routerId);
    if (!snapshots) this.routers.set(stats.routerId, (snapshots = []));
    snapshots.push({ atMs: nowMs, totals });
    this.prune(nowMs);
  }

  samples(windows: readonly string[], nowMs: number): Sample[] {
    this.prune(nowMs);
    const out: Sample[] = [];
    for (const window of windows) {
      const ms = parseDuration(window) ?? 0;
      const rates = new Map<string, number>();
      for (const snapshots of this.routers.values()) {
        const inWindow = snapshots.filter((s) => s.atMs >= nowMs - ms);
        if (inWindow.length < 2) continue;
        const first = inWindow[0]!;
        const last = inWindow.at(-1)!;
        const seconds = (last.atMs - first.atMs) / 1000;
        if (seconds <= 0) continue;
        for (const [model, total] of last.totals) rates.set(model, (rates.get(model) ?? 0) + Math.max(0, total - (first.totals.get(model) ?? 0)) / seconds);
      }
      for (const [model, value] of rates) out.push({ metric: "degraded_answers", labels: { model }, value, window });
    }
    return out;
  }

  private prune(nowMs: number): void {
    for (const [id, snapshots] of this.routers) {
      while (snapshots.length > 0 && snapshots[0]!.atMs < nowMs - this.keepMs) snapshots.shift();
      if (snapshots.length === 0) this.routers.delete(id);
    }
  }
}
