import type { TensorMap } from "../tensor/index.js";
import type { ConnectError } from "../../../libs/errors/index.js";
import type { AbortLike } from "../../../libs/host/index.js";
import { cancelled, deadlineExceeded, invalidArgument, toConnectError, unavailable } from "../../../libs/errors/index.js";
import { silentLogger, type Logger } from "../../../libs/log/index.js";
import { batchKey } from "./batch-key.js";
import { BatchQueue } from "./batch-queue.js";
import { BatchStatsRecorder, type BatcherStats } from "./batch-stats.js";
import type { BatchingOptions } from "../../../libs/batching/index.js";
import { systemClock, type Clock } from "./clock.js";
import { concatTensorMaps } from "./concat-rows.js";
import { nextBatch } from "./next-batch.js";
import {
  createPending,
  settle,
  type BatchResult,
  type PendingRequest,
  type PendingSlice,
  type QueuedPending,
} from "./pending-request.js";
import { queueFullError, suggestRetryMs } from "./queue-full-error.js";
import { runBatch, type ExecuteBatch, type RunContext } from "./run-batch.js";
import { sweepExpired, type ExpiredRequest } from "./sweep-expired.js";

export type { BatchResult } from "./pending-request.js";
export type { ExecuteBatch } from "./run-batch.js";

export interface DynamicBatcherOptions {
  /** From resolveBatchingOptions(). */
  readonly options: BatchingOptions;
  readonly execute: ExecuteBatch;
  /** Runs that may be given out at once (model instances / sessions, or the runs an event-loop session takes at once). */
  readonly instances: number;
  /**
   * Of those, the runs that truly go on at the same time: what drains the
   * queue, for the retry hint of a full queue. Runs given at once to one
   * event-loop session take turns, so there it is the session count.
   * Default `instances`.
   */
  readonly parallelRuns?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export interface BatchRequest {
  readonly inputs: TensorMap;
  /** Rows in the request: dimension 0 of every input. */
  readonly rows: number;
  /** 1..priorityLevels; undefined or 0: the default priority. */
  readonly priority?: number;
  /** Own queue timeout, µs; honoured only where the level's policy allows overrides. */
  readonly queueTimeoutUs?: number;
  /** When the caller stops waiting, epoch ms. */
  readonly deadline?: number;
  /** The caller's end: aborted, it is answered CANCELLED and leaves the queue. */
  readonly signal?: AbortLike;
}

/** Longest a Node timer can wait (ms); longer waits re-arm. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * The dynamic batcher for one model version: queues requests, cuts batches
 * with nextBatch() whenever an instance is free, stacks their rows, runs the
 * model and hands each caller its rows back. With batching off it is the
 * same path with one request per run, so the service has one way to run.
 *
 * Requests queue only while every instance is busy or a batch is filling;
 * a free instance never waits longer than max_queue_delay.
 */
export class DynamicBatcher {
  private readonly options: BatchingOptions;
  private readonly drainOptions: BatchingOptions;
  private readonly instances: number;
  private readonly parallelRuns: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly queue: BatchQueue<PendingRequest>;
  private readonly stats_ = new BatchStatsRecorder();
  private nextId = 1;
  private running = 0;
  private batches = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAtUs = 0;
  private draining = false;
  private drained: Promise<void> | undefined;
  private onDrained: (() => void) | undefined;
  private readonly runContext: RunContext;
  /** Every request submitted and not yet answered, queued or running. */
  private readonly live = new Set<QueuedPending>();

  constructor(init: DynamicBatcherOptions) {
    if (!Number.isSafeInteger(init.instances) || init.instances < 1) {
      throw invalidArgument(`instances is ${init.instances}; it must be a whole number, at least 1`);
    }
    this.options = init.options;
    // Draining: nothing new will arrive, so waiting for a batch to fill only delays shutdown.
    this.drainOptions = { ...init.options, maxQueueDelayUs: 0 };
    this.instances = init.instances;
    this.parallelRuns = init.parallelRuns ?? init.instances;
    this.clock = init.clock ?? systemClock;
    this.logger = init.logger ?? silentLogger;
    this.runContext = {
      execute: init.execute,
      options: init.options,
      clock: this.clock,
      stats: this.stats_,
      logger: this.logger,
      deliver: (slice, outputs) => this.deliver(slice, outputs),
      fail: (request, error) => this.fail(request, error),
    };
    this.queue = new BatchQueue<PendingRequest>(
      init.options.priorityLevels,
      init.options.maxQueueSize,
      init.options.queuePolicies.map((p) => p.maxQueueSize),
    );
  }

  /** Requests waiting for a run. */
  get queueDepth(): number {
    return this.queue.size;
  }

  /** Runs going on now. */
  get inFlight(): number {
    return this.running;
  }

  stats(): BatcherStats {
    return this.stats_.snapshot();
  }

  /**
   * Queues a request and resolves with its rows of the outputs. Rejects at
   * once with INVALID_ARGUMENT (bad rows, priority, or too many rows),
   * RESOURCE_EXHAUSTED (queue full; retry hint in message and metadata) or
   * UNAVAILABLE (draining); later with DEADLINE_EXCEEDED, CANCELLED or the
   * model's own error.
   */
  async submit(request: BatchRequest): Promise<BatchResult> {
    if (this.draining) {
      this.stats_.count("unavailable");
      throw unavailable("this model version is shutting down and takes no new requests; retry on another replica");
    }
    const options = this.options;
    const key = batchKey(request.inputs, request.rows);
    const priority = request.priority || options.defaultPriority;
    if (!Number.isSafeInteger(priority) || priority < 1 || priority > options.priorityLevels) {
      throw invalidArgument(
        `priority ${request.priority} is out of range; this model has priority levels 1 (first served) to ${options.priorityLevels}, or 0 for the default`,
      );
    }
    if (options.maxBatchSize > 0 && request.rows > options.maxBatchSize && !options.splitOversized) {
      throw invalidArgument(
        `the request has ${request.rows} rows, more than this model's max_batch_size ${options.maxBatchSize}; send at most ${options.maxBatchSize} rows per request, or enable batching.split_oversized`,
      );
    }
    const timeoutUs = this.queueTimeoutUs(request, priority);
    if (request.signal?.aborted) {
      this.stats_.count("cancelled");
      throw cancelled("the request was cancelled before it was queued");
    }
    if (request.deadline !== undefined && !Number.isFinite(request.deadline)) {
      throw invalidArgument(`deadline ${request.deadline} is not a time; give epoch milliseconds`);
    }
    const nowUs = this.clock.now();
    // As time left, so the wall clock and the monotonic one need not agree.
    const deadlineUs = request.deadline === undefined ? undefined : nowUs + (request.deadline - this.clock.wallMs()) * 1000;
    if (deadlineUs !== undefined && deadlineUs <= nowUs) {
      this.stats_.count("deadlineExceeded");
      throw deadlineExceeded("the request's deadline had passed before it was queued; give it more time");
    }
    const full = this.queue.full(priority);
    if (full) {
      this.stats_.count("queueFull");
      const retryMs = suggestRetryMs({
        queuedRows: this.queue.rows,
        maxBatchSize: options.maxBatchSize,
        meanRunUs: this.stats_.meanRunUs,
        instances: this.parallelRuns,
      });
      throw queueFullError(full, priority, retryMs);
    }

    return new Promise<BatchResult>((resolve, reject) => {
      const pending = createPending(request.inputs, resolve, reject);
      const queued: QueuedPending = {
        id: this.nextId++,
        rows: request.rows,
        priority,
        key,
        enqueuedUs: nowUs,
        timeoutAtUs: timeoutUs > 0 ? nowUs + timeoutUs : undefined,
        deadlineUs,
        signal: request.signal,
        payload: pending,
      };
      const signal = request.signal;
      if (signal) {
        const onAbort = () => this.cancel(queued);
        signal.addEventListener("abort", onAbort, { once: true });
        pending.detach = () => signal.removeEventListener("abort", onAbort);
      }
      this.queue.push(queued);
      this.live.add(queued);
      if (this.running < this.instances) {
        this.schedule();
      } else {
        // Every instance busy: nothing can be cut, but its deadline or timeout still needs a wake-up.
        this.arm(Math.min(deadlineUs ?? Infinity, queued.timeoutAtUs ?? Infinity));
      }
    });
  }

  /**
   * Stops taking requests (new ones get UNAVAILABLE), runs everything queued
   * without waiting for batches to fill, and resolves when the last run has
   * answered. Every queued request is answered; none is dropped. For a
   * bounded shutdown: `await Promise.race([b.drain(), grace]); b.close()`.
   */
  drain(): Promise<void> {
    if (!this.drained) {
      this.draining = true;
      this.drained = new Promise<void>((resolve) => (this.onDrained = resolve));
      this.schedule();
    }
    return this.drained;
  }

  /**
   * The force after drain()'s grace period: answers every request still
   * queued or running with UNAVAILABLE at once and takes no new ones. Runs
   * already started finish in the background; their results are dropped.
   * `reason` is the message those requests get.
   */
  close(reason = "this model version was shut down before the request ran; retry on another replica"): void {
    this.draining = true;
    this.drained ??= new Promise<void>((resolve) => (this.onDrained = resolve));
    for (const request of [...this.live]) {
      this.stats_.count("unavailable");
      this.fail(request, unavailable(reason));
    }
    this.schedule();
  }

  private queueTimeoutUs(request: BatchRequest, priority: number): number {
    const policy = this.options.queuePolicies[priority - 1];
    if (!policy) return 0;
    const own = request.queueTimeoutUs;
    if (own !== undefined && own !== 0) {
      if (!Number.isFinite(own) || own < 0) {
        throw invalidArgument(`queue timeout ${own} µs is not valid; use a positive number of microseconds, or 0 for the default`);
      }
      // As Triton: a request's own timeout is ignored where the policy does not allow it.
      if (policy.allowTimeoutOverride) return own;
    }
    return policy.defaultTimeoutUs;
  }

  /** Cuts and starts batches while an instance is free; arms the one timer for what comes next. */
  private schedule(): void {
    for (;;) {
      const nowUs = this.clock.now();
      if (this.running >= this.instances) {
        const { expired, nextEventUs } = sweepExpired(this.queue, nowUs, this.options);
        this.answerExpired(expired);
        this.arm(nextEventUs);
        break;
      }
      const { decision, expired } = nextBatch(this.queue, nowUs, this.draining ? this.drainOptions : this.options, {
        runUs: this.stats_.meanRunUs,
      });
      this.answerExpired(expired);
      if (decision.kind === "run") {
        this.running++;
        void this.startRun(decision.slices, decision.padRows);
        continue;
      }
      if (decision.kind === "wait") this.arm(decision.untilUs);
      else this.disarm();
      break;
    }
    if (this.draining && this.queue.size === 0 && this.running === 0) {
      this.disarm();
      this.onDrained?.();
    }
  }

  /** Wakes schedule() at `atUs` unless an earlier wake-up is already set. */
  private arm(atUs: number | undefined): void {
    if (atUs === undefined || !Number.isFinite(atUs)) return;
    if (this.timer && this.timerAtUs <= atUs) return;
    this.disarm();
    // At least 1 ms: a timer that fires a hair early must not spin.
    const ms = Math.min(maxTimerMs, Math.max(1, Math.ceil((atUs - this.clock.now()) / 1000)));
    this.timerAtUs = atUs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, ms);
    // A queue waiting on a batch must not keep the process alive on its own.
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async startRun(slices: readonly PendingSlice[], padRows: number): Promise<void> {
    // Numbers the run for tracing: one integer per request, nothing more.
    const batchId = ++this.batches;
    for (const s of slices) s.request.payload.batchId = batchId;
    try {
      await runBatch(this.runContext, slices, padRows);
    } catch (err) {
      // runBatch answers every slice itself; this guards against a bug losing an instance.
      this.logger.error("batch run failed unexpectedly", { error: err });
      for (const s of slices) this.fail(s.request, toConnectError(err));
    } finally {
      this.running--;
      this.schedule();
    }
  }

  /** Hands a slice its outputs; answers the request once all its rows are in. */
  private deliver(slice: PendingSlice, outputs: TensorMap): void {
    const request = slice.request;
    const p = request.payload;
    if (p.settled) return; // cancelled or failed meanwhile: the result is dropped
    p.pieces.push({ start: slice.start, outputs });
    p.rowsDone += slice.rows;
    if (p.rowsDone < request.rows) return;
    let merged: TensorMap;
    if (p.pieces.length === 1 && p.pieces[0]) {
      merged = p.pieces[0].outputs;
    } else {
      p.pieces.sort((a, b) => a.start - b.start);
      merged = concatTensorMaps(p.pieces.map((piece) => piece.outputs));
    }
    const nowUs = this.clock.now();
    const queueUs = (p.firstRunUs ?? nowUs) - request.enqueuedUs;
    settle(this.queue, request);
    this.live.delete(request);
    this.stats_.recordSuccess(request.rows, nowUs - request.enqueuedUs, queueUs, p.times);
    p.resolve({ outputs: merged, queueUs, computeUs: p.computeUs, batchSize: p.batchSize, batchId: p.batchId });
  }

  private answerExpired(expired: readonly ExpiredRequest<PendingRequest>[]): void {
    for (const { request, reason } of expired) {
      if (reason === "cancelled") {
        this.stats_.count("cancelled");
        this.fail(request, cancelled("the request was cancelled while it waited in the queue"));
      } else if (reason === "deadline") {
        this.stats_.count("deadlineExceeded");
        this.fail(request, deadlineExceeded("the request's deadline passed while it waited in the queue; give it more time or retry when the model is less busy"));
      } else {
        this.stats_.count("queueTimeout");
        this.fail(request, deadlineExceeded("the request waited longer than its queue timeout; raise the timeout or retry when the model is less busy"));
      }
    }
  }

  /** Abort from the caller: out of the queue if there; a running request's result is dropped. */
  private cancel(request: QueuedPending): void {
    if (request.payload.settled) return;
    this.stats_.count("cancelled");
    this.fail(request, cancelled("the request was cancelled by its caller"));
    if (this.running < this.instances) this.schedule();
  }

  private fail(request: QueuedPending, error: ConnectError): void {
    const p = request.payload;
    if (p.settled) return;
    settle(this.queue, request);
    this.live.delete(request);
    this.stats_.recordFailure(this.clock.now() - request.enqueuedUs);
    p.reject(error);
  }
}
