import { failedPrecondition } from "../../../libs/errors/index.js";
import type { Signature } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { Logger } from "../../../libs/log/index.js";
import { DynamicBatcher, type BatcherStats, type BatchingOptions } from "../batching/index.js";
import type { TensorMap } from "../tensor/index.js";
import type { Device } from "./device.js";
import { OrtExecutor } from "./ort-executor.js";
import type { SessionTuning } from "./session-options.js";
import { warmUpBatchSizes, warmUpInputs } from "./warm-up.js";

export interface InferRequest {
  readonly inputs: TensorMap;
  /** Rows in the request (dimension 0 of every input), from validateInputs(). */
  readonly rows: number;
  /** 1 is served first; undefined or 0: the model's default. */
  readonly priority?: number;
  /** Longest wait in the queue, µs; honoured where the model allows it. */
  readonly queueTimeoutUs?: number;
  /** When the caller stops waiting, epoch ms. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
}

export interface InferResult {
  /** This request's rows of every output, in the model's output order. */
  readonly outputs: TensorMap;
  readonly queueUs: number;
  readonly computeUs: number;
  /** Rows in the run this request was part of. */
  readonly batchSize: number;
}

/**
 * The one way a replica runs a model version: every request, batched or not,
 * goes through the version's DynamicBatcher onto its ONNX Runtime sessions.
 */
export interface ModelRunner {
  infer(request: InferRequest): Promise<InferResult>;
  /** Requests waiting in the queue. */
  readonly queueDepth: number;
  readonly instanceCount: number;
  readonly batching: BatchingOptions;
  stats(): BatcherStats;
  /** Stops taking requests, answers every queued and running one, then frees the sessions. */
  release(): Promise<void>;
}

export interface ModelRunnerOptions {
  readonly model: Uint8Array;
  readonly signature: Signature;
  readonly batching: BatchingOptions;
  readonly device: Device;
  readonly tuning: SessionTuning;
  readonly instanceCount: number;
  /** "fraud@3", for messages and logs. */
  readonly label: string;
  readonly logger: Logger;
}

/**
 * Creates the sessions, warms each one up at the usual batch sizes (zero
 * inputs shaped from the signature), and puts the batcher in front. Resolves
 * only when the version can answer its first request at full speed.
 */
export async function createModelRunner(options: ModelRunnerOptions): Promise<ModelRunner> {
  const executor = await OrtExecutor.create({
    model: options.model,
    device: options.device,
    tuning: options.tuning,
    instanceCount: options.instanceCount,
    label: options.label,
  });
  try {
    for (const rows of warmUpBatchSizes(options.signature, options.batching)) {
      const inputs = warmUpInputs(options.signature, rows);
      // As many runs at once as sessions: each session gets one.
      await Promise.all(Array.from({ length: executor.instanceCount }, () => executor.run(inputs))).catch((error: unknown) => {
        throw failedPrecondition(
          `${options.label} failed its warm-up run (${rows} rows of zeros): ${error instanceof Error ? error.message : String(error)}; check the model runs on such inputs`,
          error,
        );
      });
      options.logger.debug("warmed up", { model: options.label, rows });
    }
  } catch (error) {
    await executor.release();
    throw error;
  }
  const batcher = new DynamicBatcher({
    options: options.batching,
    // The batcher hands each run inputs that nothing reads afterwards: move them, do not copy.
    execute: (inputs) => executor.run(inputs, true),
    instances: executor.instanceCount,
    logger: options.logger,
  });
  let releasing: Promise<void> | undefined;
  return {
    infer: (request) => batcher.submit(request),
    get queueDepth() {
      return batcher.queueDepth;
    },
    instanceCount: executor.instanceCount,
    batching: options.batching,
    stats: () => batcher.stats(),
    release: () =>
      (releasing ??= (async () => {
        await batcher.drain();
        await executor.release();
      })()),
  };
}
