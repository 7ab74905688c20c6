import { create } from "@bufbuild/protobuf";
import { failedPrecondition, invalidArgument, notFound } from "../../../libs/errors/index.js";
import type { PredictionLog } from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import {
  ArmSummarySchema,
  GetAbReportResponseSchema,
  type GetAbReportRequest,
  type GetAbReportResponse,
  type RecordOutcomeRequest,
} from "../../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { compareArms, type ArmStats } from "./ab-statistics.js";

/** Running count, mean and variance (Welford), and whether every value was 0 or 1. */
class Running {
  n = 0;
  mean = 0;
  m2 = 0;
  binary = true;

  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x !== 0 && x !== 1) this.binary = false;
  }

  stats(): ArmStats {
    return { n: this.n, mean: this.mean, variance: this.n > 1 ? this.m2 / (this.n - 1) : 0 };
  }
}

export interface OutcomeBookOptions {
  /** Request ids (and entity keys) remembered to attribute outcomes, oldest forgotten first. Default 100,000. */
  maxRemembered?: number;
}

/**
 * Per-version outcome statistics for A/B comparisons: the first column of
 * every output as logged, and outcomes fed back by request id or entity key.
 * Memory is bounded by `maxRemembered` plus a few numbers per version.
 */
export class OutcomeBook {
  private readonly byRequest = new Map<string, { model: string; version: number }>();
  private readonly byEntity = new Map<string, number>();
  private readonly outcomes = new Map<string, Running>();
  private readonly outputs = new Map<string, Running>();
  private readonly max: number;

  constructor(options: OutcomeBookOptions = {}) {
    this.max = options.maxRemembered ?? 100_000;
  }

  observe(log: PredictionLog): void {
    if (log.requestId) remember(this.byRequest, log.requestId, { model: log.model, version: log.version }, this.max);
    if (log.entityKey) remember(this.byEntity, `${log.model}\u0000${log.entityKey}`, log.version, this.max);
    for (const t of log.outputs) {
      const rows = Math.max(0, Number(t.shape[0] ?? 1n) - t.rowsOmitted);
      if (rows === 0 || t.numbers.length === 0) continue;
      const width = t.numbers.length / rows;
      const stats = lookup(this.outputs, `${log.model}\u0000${log.version}\u0000${t.name}`);
      for (let r = 0; r < rows; r++) stats.add(t.numbers[r * width]!);
    }
  }

  /** Attributes an outcome to the version that answered; returns that version. */
  record(request: RecordOutcomeRequest): number {
    if (request.model === "") throw invalidArgument("model is required");
    if (!Number.isFinite(request.value)) throw invalidArgument(`value must be a finite number, got ${request.value}`);
    let version: number | undefined;
    if (request.subject.case === "requestId") {
      const found = this.byRequest.get(request.subject.value);
      if (found && found.model !== request.model) throw invalidArgument(`request ${request.subject.value} was for model "${found.model}", not "${request.model}"`);
      version = found?.version;
    } else if (request.subject.case === "entityKey") {
      version = this.byEntity.get(`${request.model}\u0000${request.subject.value}`);
    } else {
      throw invalidArgument("name the request: request_id or entity_key");
    }
    if (version === undefined) {
      throw notFound(`no logged request of "${request.model}" matches ${request.subject.case} "${request.subject.value}" (too old, not logged, or not sampled)`);
    }
    lookup(this.outcomes, `${request.model}\u0000${version}`).add(request.value);
    return version;
  }

  report(request: GetAbReportRequest): GetAbReportResponse {
    if (request.model === "") throw invalidArgument("model is required");
    if (request.versionA === 0 || request.versionB === 0 || request.versionA === request.versionB) {
      throw invalidArgument("name two different versions: version_a and version_b");
    }
    const arm = (version: number) =>
      request.output === ""
        ? this.outcomes.get(`${request.model}\u0000${version}`)
        : this.outputs.get(`${request.model}\u0000${version}\u0000${request.output}`);
    const [a, b] = [arm(request.versionA), arm(request.versionB)];
    const what = request.output === "" ? "recorded outcomes" : `logged values of output "${request.output}"`;
    for (const [v, s] of [
      [request.versionA, a],
      [request.versionB, b],
    ] as const) {
      if (!s || s.n < 2) throw failedPrecondition(`${request.model} version ${v} has ${s?.n ?? 0} ${what}; at least 2 are needed`);
    }
    const comparison = compareArms(a!.stats(), b!.stats(), {
      binary: a!.binary && b!.binary,
      confidence: request.confidence === 0 ? 0.95 : request.confidence,
      ...(request.minimumEffect !== 0 ? { minimumEffect: request.minimumEffect } : {}),
    });
    const summary = (version: number, s: Running, ci: [number, number]) =>
      create(ArmSummarySchema, { version, count: BigInt(s.n), mean: s.mean, variance: s.stats().variance, ciLow: ci[0], ciHigh: ci[1] });
    return create(GetAbReportResponseSchema, {
      a: summary(request.versionA, a!, comparison.a.ci),
      b: summary(request.versionB, b!, comparison.b.ci),
      test: comparison.test,
      statistic: comparison.statistic,
      pValue: comparison.pValue,
      difference: comparison.difference,
      differenceCiLow: comparison.differenceCi[0],
      differenceCiHigh: comparison.differenceCi[1],
      samplesStillNeeded: BigInt(Number.isFinite(comparison.samplesStillNeeded) ? comparison.samplesStillNeeded : Number.MAX_SAFE_INTEGER),
    });
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}

function lookup(map: Map<string, Running>, key: string): Running {
  let r = map.get(key);
  if (!r) map.set(key, (r = new Running()));
  return r;
}
