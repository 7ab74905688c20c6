import type { InferenceSession } from "onnxruntime-node";
import type { Device } from "./device.js";

export type GraphOptimization = "disabled" | "basic" | "extended" | "all";

export const GRAPH_OPTIMIZATIONS: readonly GraphOptimization[] = ["disabled", "basic", "extended", "all"];

/** How each ONNX Runtime session of a replica is set up. */
export interface SessionTuning {
  /**
   * Threads one run may use for one operator; 0: ONNX Runtime's choice (one
   * per physical core). Lower it when several instances share the cores.
   */
  intraOpThreads: number;
  /** Threads for independent operators of one run (parallel execution mode only); 0: ONNX Runtime's choice. */
  interOpThreads: number;
  /** Graph rewrites at load; "all" unless a model misbehaves under them. */
  graphOptimization: GraphOptimization;
  /** Keep freed CPU buffers for the next run instead of returning them to the allocator. */
  memoryArena: boolean;
  /**
   * Let ONNX Runtime's thread pools spin between runs waiting for the next
   * one (its own default). Off here: a spinning pool burns the cores the
   * replica's front end needs (docs/inference.md, "Sizing the front end").
   */
  spinning: boolean;
}

/**
 * onnxruntime-node SessionOptions for a device. On cuda:N the CUDA provider
 * comes first with the CPU provider after it, so operators CUDA lacks still
 * run (on the CPU); whether CUDA itself can load is checked once at start-up
 * by resolveDevice(), not here.
 */
export function sessionOptionsFor(device: Device, tuning: SessionTuning): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {
    executionProviders: device.kind === "cuda" ? [{ name: "cuda", deviceId: device.index }, "cpu"] : ["cpu"],
    graphOptimizationLevel: tuning.graphOptimization,
    enableCpuMemArena: tuning.memoryArena,
    enableMemPattern: true,
    executionMode: tuning.interOpThreads > 1 ? "parallel" : "sequential",
    // Session config entries session.intra_op.allow_spinning and session.inter_op.allow_spinning.
    extra: { session: { intra_op: { allow_spinning: tuning.spinning ? "1" : "0" }, inter_op: { allow_spinning: tuning.spinning ? "1" : "0" } } },
  };
  if (tuning.intraOpThreads > 0) options.intraOpNumThreads = tuning.intraOpThreads;
  if (tuning.interOpThreads > 0) options.interOpNumThreads = tuning.interOpThreads;
  return options;
}
