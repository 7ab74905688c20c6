import { Counter, type Registry } from "prom-client";
import { cloudEventHeaders, encodeCloudEvent, type CloudEventEnvelope } from "../events/index.js";
import { PredictionLogSchema, ShadowComparisonSchema, type PredictionLog, type ShadowComparison } from "../gen/tessera/events/v1/prediction_log_pb.js";
import { silentLogger, type Logger } from "../log/index.js";
import { encodePredictionLog } from "./encode-prediction-log.js";
import { activeTraceContext, type LogTraceContext } from "./log-trace-context.js";
import { predictionLogSubject, shadowComparisonSubject } from "./prediction-log-stream.js";
import type { PredictionLogTransport } from "./prediction-log-transport.js";

export interface PredictionLogPublisherOptions {
  transport: PredictionLogTransport;
  /** CloudEvents source, e.g. "tessera/inference/<replica>". */
  source: string;
  /**
   * Logs waiting to be published at most; beyond it new logs are dropped and
   * counted. Default 10,000: a few MB, so a NATS outage costs logs, never
   * the replica's memory.
   */
  maxBuffered?: number;
  /** Logs per batch of concurrent publishes. Default 256: amortizes the round trip without long stalls. */
  batchSize?: number;
  /** Longest a log waits for its batch to fill, ms. Default 100. */
  flushIntervalMs?: number;
  /** Source of randomness for sampling; tests pass a seeded one. */
  random?: () => number;
  /** Where tessera_prediction_log_{published,dropped,failed}_total are registered. */
  metrics?: Registry;
  logger?: Logger;
}

export interface PredictionLogStats {
  published: number;
  /** Refused because the buffer was full. */
  dropped: number;
  /** Not stored: the publish failed (NATS down, stream full). */
  failed: number;
  /** Left out by sampling. */
  sampledOut: number;
  buffered: number;
}

interface Pending {
  model: string;
  /** Builds and encodes the record: at flush time, off the request path. */
  encode: () => { subject: string; envelope: CloudEventEnvelope };
}

/**
 * Publishes prediction logs off the request path. `offer` is synchronous,
 * never throws and never waits: the log is sampled, then either buffered or
 * counted as dropped. Building and encoding the message happen at flush time,
 * so a request only pays for a closure. One batch is in flight at a time, so
 * memory stays bounded by `maxBuffered` plus one batch.
 */
export class PredictionLogPublisher {
  private readonly transport: PredictionLogTransport;
  private readonly source: string;
  private readonly maxBuffered: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly random: () => number;
  private readonly logger: Logger;
  private buffer: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private readonly counts = { published: 0, dropped: 0, failed: 0, sampledOut: 0 };
  private readonly droppedByModel = new Map<string, number>();
  private readonly counters?: Record<"published" | "dropped" | "failed", Counter<"model">>;

  constructor(options: PredictionLogPublisherOptions) {
    this.transport = options.transport;
    this.source = options.source;
    this.maxBuffered = positive(options.maxBuffered ?? 10_000, "maxBuffered");
    this.batchSize = positive(options.batchSize ?? 256, "batchSize");
    this.flushIntervalMs = positive(options.flushIntervalMs ?? 100, "flushIntervalMs");
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    if (options.metrics) {
      const registers = [options.metrics];
      const counter = (what: string, help: string) =>
        new Counter({ name: `tessera_prediction_log_${what}_total`, help, labelNames: ["model"], registers });
      this.counters = {
        published: counter("published", "Prediction logs stored in JetStream."),
        dropped: counter("dropped", "Prediction logs dropped because the publish buffer was full."),
        failed: counter("failed", "Prediction logs whose publish failed."),
      };
    }
  }

  /** Logs dropped so far (buffer full), by model: what a replica's heartbeat reports. */
  droppedByModelTotals(): ReadonlyMap<string, number> {
    return this.droppedByModel;
  }

  /**
   * Logs one request with probability `sampleRate`. `build` runs later, at
   * flush time, and must not throw (a throw is counted as failed).
   */
  offer(model: string, version: number, sampleRate: number, build: () => PredictionLog): void {
    if (this.closed) return;
    if (sampleRate < 1 && !(this.random() < sampleRate)) {
      this.counts.sampledOut++;
      return;
    }
    this.enqueue(model, (trace) => {
      const log = build();
      const headers = cloudEventHeaders(PredictionLogSchema.typeName, { source: this.source, ...(log.requestId ? { id: log.requestId } : {}), ...trace });
      return { subject: predictionLogSubject(model, version), envelope: { headers, data: encodePredictionLog(log) } };
    });
  }

  /**
   * The router's comparison of a shadow's answer with the primary's, on
   * the same bounded buffer, batches and counters as the logs. `build` runs
   * at flush time and must not throw.
   */
  offerShadowComparison(model: string, shadowVersion: number, build: () => ShadowComparison): void {
    if (this.closed) return;
    this.enqueue(model, (trace) => {
      const comparison = build();
      const envelope = encodeCloudEvent(ShadowComparisonSchema, comparison, { source: this.source, ...(comparison.requestId ? { id: comparison.requestId } : {}), ...trace });
      return { subject: shadowComparisonSubject(model, shadowVersion), envelope };
    });
  }

  private enqueue(model: string, encode: (trace: LogTraceContext | undefined) => { subject: string; envelope: CloudEventEnvelope }): void {
    if (this.buffer.length >= this.maxBuffered) {
      this.counts.dropped++;
      this.droppedByModel.set(model, (this.droppedByModel.get(model) ?? 0) + 1);
      this.counters?.dropped.inc({ model });
      return;
    }
    // The answering request's trace, for the message's traceparent: taken now, while its context is active.
    const trace = activeTraceContext();
    this.buffer.push({ model, encode: () => encode(trace) });
    if (this.buffer.length >= this.batchSize) this.kick(0);
    else this.kick(this.flushIntervalMs);
  }

  stats(): PredictionLogStats {
    return { ...this.counts, buffered: this.buffer.length };
  }

  /** Publishes what is buffered, and resolves when it is done (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.buffer.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.startBatch();
    }
  }

  /** Stops taking logs and publishes what is buffered. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private kick(delayMs: number): void {
    if (this.flushing) return; // the running batch starts the next one
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.startBatch();
    }, delayMs);
    this.timer.unref();
  }

  private startBatch(): Promise<void> {
    if (this.flushing) return this.flushing;
    const batch = this.buffer.splice(0, this.batchSize);
    if (batch.length === 0) return Promise.resolve();
    this.flushing = this.publishBatch(batch).finally(() => {
      this.flushing = undefined;
      if (this.buffer.length >= this.batchSize) this.kick(0);
      else if (this.buffer.length > 0) this.kick(this.flushIntervalMs);
    });
    return this.flushing;
  }

  private async publishOne(pending: Pending): Promise<void> {
    const { subject, envelope } = pending.encode();
    await this.transport.publish(subject, envelope);
  }

  private async publishBatch(batch: Pending[]): Promise<void> {
    const stored: Promise<PromiseSettledResult<void>>[] = [];
    for (let i = 0; i < batch.length; i++) {
      // Building a batch in one go would hold the event loop for all of it (a wide log is ~100 µs
      // with its publish): requests get a turn after every slice.
      if (i > 0 && i % LOGS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      // Settled at once: a log failing while a later slice waits for its turn is never an unhandled rejection.
      stored.push(settle(this.publishOne(batch[i]!)));
    }
    const results = await Promise.all(stored);
    let firstError: unknown;
    // Counted per model once a batch, not per log: a labelled inc hashes its labels each time.
    const published = new Map<string, number>();
    const failed = new Map<string, number>();
    results.forEach((r, i) => {
      const model = batch[i]!.model;
      if (r.status === "fulfilled") {
        this.counts.published++;
        published.set(model, (published.get(model) ?? 0) + 1);
      } else {
        this.counts.failed++;
        failed.set(model, (failed.get(model) ?? 0) + 1);
        firstError ??= r.reason;
      }
    });
    for (const [model, n] of published) this.counters?.published.inc({ model }, n);
    for (const [model, n] of failed) this.counters?.failed.inc({ model }, n);
    if (firstError !== undefined) {
      this.logger.warn("prediction logs were not published", { failed: [...failed.values()].reduce((a, b) => a + b, 0), error: firstError });
    }
  }
}

/**
 * Logs built and handed to the transport per turn of the event loop: at
 * ~100 µs per wide log, 16 hold it ~1.6 ms, against 25 ms for a whole
 * batch of 256.
 */
const LOGS_PER_TURN = 16;

function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: "fulfilled", value }),
    (reason: unknown) => ({ status: "rejected", reason }),
  );
}

function positive(value: number, name: string): number {
  if (!(Number.isInteger(value) && value >= 1)) throw new RangeError(`PredictionLogPublisher: ${name} must be an integer >= 1, got ${value}`);
  return value;
}
