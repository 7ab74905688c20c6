import { Code } from "../../libs/errors/index.js";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { AnswerObserver } from "./logging/answered-request.js";

/**
 * One version's series, bound once, so a request builds no label objects.
 * prom-client still hashes the bound labels on each call: the five cost
 * about 1.6 µs a request on a slow 2-core box, under 1 % of a Predict.
 */
interface VersionSeries {
  readonly ok: { inc(): void };
  readonly rows: { inc(value: number): void };
  readonly queue: { observe(value: number): void };
  readonly compute: { observe(value: number): void };
  readonly batchSize: { observe(value: number): void };
}

/** What the queue-depth and session-placement gauges read at scrape time. */
export interface QueueSource {
  readonly model: string;
  readonly version: number;
  readonly runner?: { readonly queueDepth: number; readonly placement?: { readonly placement: string } };
}

export interface InferenceOutcome {
  readonly rows: number;
  readonly queueUs: number;
  readonly computeUs: number;
  readonly batchSize: number;
}

/** A request for a model this replica does not serve: one label value, not one per typo. */
export const UNKNOWN_MODEL = "(unknown)";

/**
 * The inference metrics, per model and version, in the host's registry:
 * tessera_inference_{requests_total,rows_total,queue_seconds,compute_seconds,batch_size,queue_depth,session_placement}.
 */
export class InferenceMetrics {
  private readonly requests: Counter<"model" | "version" | "status">;
  private readonly rows: Counter<"model" | "version">;
  private readonly queue: Histogram<"model" | "version">;
  private readonly compute: Histogram<"model" | "version">;
  private readonly batchSize: Histogram<"model" | "version">;
  /** model → version label → its series; bounded by the versions this replica has answered for. */
  private readonly series = new Map<string, Map<number, VersionSeries>>();
  /** Sees every answered request (prediction logging); set once at start-up. */
  observeAnswer?: AnswerObserver;

  constructor(registry: Registry, sources: () => Iterable<QueueSource>) {
    const registers = [registry];
    const labelNames = ["model", "version"] as const;
    // 100 µs to 2.5 s: a small model's run up to a queue that is badly behind.
    const seconds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
    this.requests = new Counter({
      name: "tessera_inference_requests_total",
      help: "Inference requests answered, by status code name (OK, InvalidArgument, ...).",
      labelNames: ["model", "version", "status"],
      registers,
    });
    this.rows = new Counter({ name: "tessera_inference_rows_total", help: "Rows inferred successfully.", labelNames, registers });
    this.queue = new Histogram({ name: "tessera_inference_queue_seconds", help: "Time a request waited in the batch queue.", labelNames, buckets: seconds, registers });
    this.compute = new Histogram({ name: "tessera_inference_compute_seconds", help: "Time of the model run(s) a request was part of.", labelNames, buckets: seconds, registers });
    this.batchSize = new Histogram({
      name: "tessera_inference_batch_size",
      help: "Rows in the model run a request was part of (padding included).",
      labelNames,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    new Gauge({
      name: "tessera_inference_queue_depth",
      help: "Requests waiting in a version's batch queue.",
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const s of sources()) if (s.runner) this.set({ model: s.model, version: String(s.version) }, s.runner.queueDepth);
      },
    });
    new Gauge({
      name: "tessera_inference_session_placement",
      help: "1 for where a loaded version's sessions run: placement=\"thread\" (worker threads) or \"event-loop\" (the main thread).",
      labelNames: ["model", "version", "placement"],
      registers,
      collect() {
        this.reset();
        for (const s of sources()) if (s.runner?.placement) this.set({ model: s.model, version: String(s.version), placement: s.runner.placement.placement }, 1);
      },
    });
  }

  /** One answered request: `version` 0 when it never reached a version. */
  record(model: string, version: number, code: Code | 0, outcome?: InferenceOutcome): void {
    if (code !== 0) {
      this.requests.inc({ model, version: versionLabel(version), status: Code[code] });
      return;
    }
    const series = this.seriesFor(model, version);
    series.ok.inc();
    if (!outcome) return;
    series.rows.inc(outcome.rows);
    series.queue.observe(outcome.queueUs / 1e6);
    series.compute.observe(outcome.computeUs / 1e6);
    series.batchSize.observe(outcome.batchSize);
  }

  private seriesFor(model: string, version: number): VersionSeries {
    let versions = this.series.get(model);
    if (!versions) this.series.set(model, (versions = new Map()));
    let series = versions.get(version);
    if (!series) {
      const v = versionLabel(version);
      series = {
        ok: this.requests.labels(model, v, "OK"),
        rows: this.rows.labels(model, v),
        queue: this.queue.labels(model, v),
        compute: this.compute.labels(model, v),
        batchSize: this.batchSize.labels(model, v),
      };
      versions.set(version, series);
    }
    return series;
  }
}

function versionLabel(version: number): string {
  return version === 0 ? "" : String(version);
}
