import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { ReplicaRecord } from "../../../libs/gen/tessera/events/v1/inference_events_pb.js";
import type { RouterStats } from "../../../libs/gen/tessera/events/v1/router_events_pb.js";
import type { Sample } from "./alert-evaluator.js";
import type { AlertMetric } from "./alert-metrics.js";
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
 * A per-second rate per model over a rule's window, from cumulative counts
 * that several sources (routers, replicas) each report now and then. A
 * source's rate is (last − first count in the window) / (their time apart),
 * so it needs two reports in the window; a source that restarts has a new
 * id and starts over. Fixed memory: reports older than `keepMs` are
 * dropped, and so are sources silent that long.
 */
export class CounterRates {
  private readonly sources = new Map<string, Snapshot[]>();

  constructor(
    private readonly metric: AlertMetric,
    private readonly keepMs = 3_600_000,
  ) {}

  observe(sourceId: string, totals: ReadonlyMap<string, number>, nowMs: number): void {
    let snapshots = this.sources.get(sourceId);
    if (!snapshots) this.sources.set(sourceId, (snapshots = []));
    // The same report read twice (a heartbeat not yet rewritten) adds nothing.
    if (snapshots.at(-1)?.atMs !== nowMs) snapshots.push({ atMs: nowMs, totals: new Map(totals) });
    this.prune(nowMs);
  }

  samples(windows: readonly string[], nowMs: number): Sample[] {
    this.prune(nowMs);
    const out: Sample[] = [];
    for (const window of windows) {
      const ms = parseDuration(window) ?? 0;
      const rates = new Map<string, number>();
      for (const snapshots of this.sources.values()) {
        const inWindow = snapshots.filter((s) => s.atMs >= nowMs - ms);
        if (inWindow.length < 2) continue;
        const first = inWindow[0]!;
        const last = inWindow.at(-1)!;
        const seconds = (last.atMs - first.atMs) / 1000;
        if (seconds <= 0) continue;
        for (const [model, total] of last.totals) rates.set(model, (rates.get(model) ?? 0) + Math.max(0, total - (first.totals.get(model) ?? 0)) / seconds);
      }
      for (const [model, value] of rates) out.push({ metric: this.metric, labels: { model }, value, window });
    }
    return out;
  }

  private prune(nowMs: number): void {
    for (const [id, snapshots] of this.sources) {
      while (snapshots.length > 0 && snapshots[0]!.atMs < nowMs - this.keepMs) snapshots.shift();
      if (snapshots.length === 0) this.sources.delete(id);
    }
  }
}

/** degraded_answers per model: answers per second the routers gave from a fallback, from each router's RouterStats (summed over kinds and routers). */
export class DegradedAnswerRates {
  private readonly rates: CounterRates;

  constructor(keepMs?: number) {
    this.rates = new CounterRates("degraded_answers", keepMs);
  }

  observe(stats: RouterStats, nowMs: number): void {
    const totals = new Map<string, number>();
    for (const d of stats.degraded) totals.set(d.model, (totals.get(d.model) ?? 0) + Number(d.total));
    this.rates.observe(stats.routerId, totals, nowMs);
  }

  samples(windows: readonly string[], nowMs: number): Sample[] {
    return this.rates.samples(windows, nowMs);
  }
}

/**
 * dropped_logs per model: prediction logs per second the replicas dropped
 * (publish buffer full), from the cumulative counts in their membership
 * heartbeats (ReplicaRecord.prediction_logs_dropped), keyed by replica and
 * start time so a restarted replica starts over. Stale records are skipped.
 */
export class DroppedLogRates {
  private readonly rates: CounterRates;

  constructor(keepMs?: number) {
    this.rates = new CounterRates("dropped_logs", keepMs);
  }

  observe(records: readonly ReplicaRecord[], nowMs: number, staleAfterMs: number): void {
    for (const record of records) {
      if (!record.heartbeatTime || nowMs - timestampMs(record.heartbeatTime) > staleAfterMs) continue;
      const totals = new Map(Object.entries(record.predictionLogsDropped).map(([model, count]) => [model, Number(count)]));
      const started = record.startTime ? timestampMs(record.startTime) : 0;
      // At the heartbeat's own time: reading one heartbeat twice is one report.
      this.rates.observe(`${record.replicaId}@${started}`, totals, timestampMs(record.heartbeatTime));
    }
  }

  samples(windows: readonly string[], nowMs: number): Sample[] {
    return this.rates.samples(windows, nowMs);
  }
}
