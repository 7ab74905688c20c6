/** A count and a cumulative duration, as the Open Inference Protocol's StatisticDuration. */
export interface StatDuration {
  readonly count: bigint;
  readonly ns: bigint;
}

/** Per request, as OIP's InferStatistics: compute times are those of the run the request was in. */
export interface InferStats {
  readonly success: StatDuration;
  readonly fail: StatDuration;
  readonly queue: StatDuration;
  readonly computeInput: StatDuration;
  readonly computeInfer: StatDuration;
  readonly computeOutput: StatDuration;
  readonly cacheHit: StatDuration;
  readonly cacheMiss: StatDuration;
}

/** Per run of one size (padding included: the size the model saw), as OIP's InferBatchStatistics. */
export interface BatchSizeStats {
  readonly batchSize: bigint;
  readonly computeInput: StatDuration;
  readonly computeInfer: StatDuration;
  readonly computeOutput: StatDuration;
}

/** Requests answered without running, by cause; not in OIP, for metrics and logs. */
export interface BatcherOutcomes {
  readonly queueFull: number;
  readonly cancelled: number;
  readonly deadlineExceeded: number;
  readonly queueTimeout: number;
  readonly unavailable: number;
  /** Extra runs made to find which requests of a failed batch fail on their own. */
  readonly isolationRuns: number;
}

/**
 * Everything the batcher counts. The first five fields have the names and
 * types of OIP's ModelStatistics, so a handler can spread them into
 * `create(ModelStatisticsSchema, { name, version, ...pick })`.
 */
export interface BatcherStats {
  /** Epoch ms of the last run's end; 0 before the first. */
  readonly lastInference: bigint;
  /** Rows that got a result (padding excluded). */
  readonly inferenceCount: bigint;
  /** Model runs. */
  readonly executionCount: bigint;
  readonly inferenceStats: InferStats;
  readonly batchStats: BatchSizeStats[];
  readonly outcomes: BatcherOutcomes;
}

/** Durations of one run's phases, µs. */
export interface RunTimes {
  readonly inputUs: number;
  readonly inferUs: number;
  readonly outputUs: number;
}

class Tally {
  count = 0;
  us = 0;
  add(us: number, times = 1): void {
    this.count += times;
    this.us += us * times;
  }
  // µs kept as a float (exact to ~285 years); ns as bigint only on the way out.
  read(): StatDuration {
    return { count: BigInt(this.count), ns: BigInt(Math.round(this.us * 1000)) };
  }
}

/** Accumulates BatcherStats. @internal to the batcher. */
export class BatchStatsRecorder {
  private lastInferenceMs = 0;
  private inferenceCount = 0;
  private executionCount = 0;
  private readonly request = {
    success: new Tally(),
    fail: new Tally(),
    queue: new Tally(),
    computeInput: new Tally(),
    computeInfer: new Tally(),
    computeOutput: new Tally(),
  };
  private readonly bySize = new Map<number, { input: Tally; infer: Tally; output: Tally }>();
  private readonly outcomeCounts = { queueFull: 0, cancelled: 0, deadlineExceeded: 0, queueTimeout: 0, unavailable: 0, isolationRuns: 0 };
  private runUsAverage: number | undefined;

  /** One model run of `batchSize` rows (padding included), successful or not. */
  recordRun(batchSize: number, times: RunTimes, endMs: number): void {
    this.executionCount++;
    this.lastInferenceMs = endMs;
    let size = this.bySize.get(batchSize);
    if (!size) this.bySize.set(batchSize, (size = { input: new Tally(), infer: new Tally(), output: new Tally() }));
    size.input.add(times.inputUs);
    size.infer.add(times.inferUs);
    size.output.add(times.outputUs);
    const total = times.inputUs + times.inferUs + times.outputUs;
    // Weight 1/8: follows a change of load within a few runs, ignores one outlier.
    this.runUsAverage = this.runUsAverage === undefined ? total : this.runUsAverage + (total - this.runUsAverage) / 8;
  }

  /** A request that got its result: `rows` rows, its whole time, its queue time and the compute of its run(s). */
  recordSuccess(rows: number, totalUs: number, queueUs: number, compute: RunTimes): void {
    this.inferenceCount += rows;
    this.request.success.add(totalUs);
    this.request.queue.add(queueUs);
    this.request.computeInput.add(compute.inputUs);
    this.request.computeInfer.add(compute.inferUs);
    this.request.computeOutput.add(compute.outputUs);
  }

  /** A request accepted into the queue that ended with an error. */
  recordFailure(totalUs: number): void {
    this.request.fail.add(totalUs);
  }

  count(outcome: keyof BatcherOutcomes): void {
    this.outcomeCounts[outcome]++;
  }

  /** Moving average of a run's duration, µs; undefined before the first run. */
  get meanRunUs(): number | undefined {
    return this.runUsAverage;
  }

  snapshot(): BatcherStats {
    const zero = new Tally().read();
    return {
      lastInference: BigInt(Math.round(this.lastInferenceMs)),
      inferenceCount: BigInt(this.inferenceCount),
      executionCount: BigInt(this.executionCount),
      inferenceStats: {
        success: this.request.success.read(),
        fail: this.request.fail.read(),
        queue: this.request.queue.read(),
        computeInput: this.request.computeInput.read(),
        computeInfer: this.request.computeInfer.read(),
        computeOutput: this.request.computeOutput.read(),
        cacheHit: zero,
        cacheMiss: zero,
      },
      batchStats: [...this.bySize.entries()]
        .sort(([a], [b]) => a - b)
        .map(([size, t]) => ({ batchSize: BigInt(size), computeInput: t.input.read(), computeInfer: t.infer.read(), computeOutput: t.output.read() })),
      outcomes: { ...this.outcomeCounts },
    };
  }
}
