import { trace } from "@opentelemetry/api";
import { Code, ConnectError, deadlineExceeded } from "../../../libs/errors/index.js";
import { UNKNOWN_MODEL, type InferenceMetrics } from "../inference-metrics.js";
import type { RequestOrigin } from "../logging/request-origin.js";
import type { InferResult } from "../runtime/model-runner.js";
import type { ModelManager } from "../serving/model-manager.js";
import type { Target } from "../serving/served-table.js";
import type { ReadyVersion } from "../serving/served-version.js";
import type { AbortLike } from "../../../libs/host/index.js";
import { resolveOutputNames, selectOutputs, validateInputs, type HostTensor, type TensorMap } from "../tensor/index.js";

export interface InferenceCall {
  readonly target: Target;
  /**
   * Decodes the request's inputs. Synchronous on purpose: nothing may await
   * between resolving the version and queueing the request (see
   * ModelManager.resolve), or an alias switch could drain the version in between.
   */
  readonly inputs: (version: ReadyVersion) => TensorMap;
  /** Outputs asked for; empty: all. */
  readonly outputNames: readonly string[];
  readonly priority?: number;
  readonly queueTimeoutUs?: number;
  /** Time the caller gives the call, ms; undefined: no deadline. */
  readonly timeoutMs?: number;
  /** The call's end (callAbortOf: no AbortSignal needed). */
  readonly signal?: AbortLike;
  /** Where the request came from, for its prediction log (read only when one is built). */
  readonly origin?: () => RequestOrigin;
}

export interface InferenceAnswer {
  readonly version: ReadyVersion;
  /** The outputs asked for, in that order (all, in the model's order, when none were named). */
  readonly outputs: Map<string, HostTensor>;
  readonly result: InferResult;
  readonly rows: number;
}

/**
 * The request path every protocol shares: resolve the version, decode and
 * validate the inputs against its signature, queue on its runner, pick the
 * outputs, count it. Errors come out as ConnectErrors with the code that fits.
 */
export async function runInference(manager: ModelManager, metrics: InferenceMetrics, call: InferenceCall): Promise<InferenceAnswer> {
  let model = UNKNOWN_MODEL;
  let versionNumber = 0;
  // What a failed request's prediction log can say: the version it reached and the inputs it sent.
  let resolved: ReadyVersion | undefined;
  let sent: { inputs: TensorMap; rows: number } | undefined;
  const deadline = call.timeoutMs === undefined ? undefined : Date.now() + call.timeoutMs;
  const started = performance.now();
  try {
    const version = manager.resolve(call.target);
    model = version.model;
    versionNumber = version.version;
    resolved = version;
    const inputs = call.inputs(version);
    const { rows } = validateInputs(inputs, version.signature);
    sent = { inputs, rows };
    const names = resolveOutputNames(call.outputNames, version.signature);
    const result = await version.runner.infer({
      inputs,
      rows,
      priority: call.priority,
      queueTimeoutUs: call.queueTimeoutUs,
      deadline,
      signal: call.signal,
    });
    const outputs = selectOutputs(result.outputs, names, version.signature);
    // The server span (Predict, ModelInfer, REST) says what answered; nothing to do with tracing off.
    const span = trace.getActiveSpan();
    if (span?.isRecording()) {
      span.setAttributes({
        "tessera.model": model,
        "tessera.version": versionNumber,
        "tessera.batch.size": result.batchSize,
        ...(result.batchId !== undefined ? { "tessera.batch.id": `${model}/${versionNumber}/${result.batchId}` } : {}),
      });
    }
    metrics.record(model, versionNumber, 0, { rows, queueUs: result.queueUs, computeUs: result.computeUs, batchSize: result.batchSize });
    metrics.observeAnswer?.({ target: call.target, version, inputs, outputs, rows, latencyUs: (performance.now() - started) * 1000, origin: call.origin });
    return { version, outputs, result, rows };
  } catch (reason) {
    let error = ConnectError.from(reason, Code.Internal);
    // The call's own deadline aborts its signal; say DEADLINE_EXCEEDED, not CANCELLED.
    if (error.code === Code.Canceled && deadline !== undefined && Date.now() >= deadline) {
      error = deadlineExceeded(`the request's deadline (${call.timeoutMs} ms) passed before the model answered; give it more time or retry when the model is less busy`, reason);
    }
    metrics.record(model, versionNumber, error.code);
    // Failed requests are logged too (error_code), so a rollout's success rate sees them; a caller who left is not a failure.
    if (resolved && error.code !== Code.Canceled) {
      metrics.observeAnswer?.({
        target: call.target,
        version: resolved,
        inputs: sent?.inputs ?? new Map(),
        outputs: new Map(),
        rows: sent?.rows ?? 0,
        latencyUs: (performance.now() - started) * 1000,
        errorCode: Code[error.code],
        origin: call.origin,
      });
    }
    throw error;
  }
}
