import { Code, ConnectError, failedPrecondition, invalidArgument, unavailable } from "../../../libs/errors/index.js";
import type { FeatureColumn, FeatureView } from "../../../libs/gen/tessera/feature/v1/feature_pb.js";
import type { PredictRequest } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { FeatureBinding } from "../../../libs/gen/tessera/registry/v1/feature_binding_pb.js";
import type { InferenceMetrics } from "../inference-metrics.js";
import type { ModelManager } from "../serving/model-manager.js";
import type { Target } from "../serving/served-table.js";
import type { HostTensor } from "../tensor/index.js";
import type { AbortLike } from "../../../libs/host/index.js";
import { runInference, type InferenceAnswer } from "../handlers/run-inference.js";
import type { RequestOrigin } from "../logging/request-origin.js";
import { assembleFeatures, layoutBinding, type DefaultedValue } from "./assemble-features.js";
import { isCallerEnded, type FeatureLookup } from "./feature-lookup.js";

/** Most entity keys one Predict may carry. */
export const MAX_ENTITY_KEYS_PER_PREDICT = 1024;

/**
 * Predict by entity keys: read the version's bound features for each key
 * (through the batching lookup), build its input tensor in the declared
 * order, and run it like any other Predict. Returns the answer and which
 * values were defaulted.
 */
export async function predictByEntity(
  manager: ModelManager,
  metrics: InferenceMetrics,
  lookup: FeatureLookup | undefined,
  request: PredictRequest,
  call: { timeoutMs?: number; signal?: AbortLike; origin?: () => RequestOrigin },
): Promise<{ answer: InferenceAnswer; defaulted: DefaultedValue[] }> {
  if (request.inputs.length > 0) throw invalidArgument("send either inputs or entity_keys, not both");
  if (request.entityKeys.length > MAX_ENTITY_KEYS_PER_PREDICT) throw invalidArgument(`${request.entityKeys.length} entity keys; at most ${MAX_ENTITY_KEYS_PER_PREDICT} per Predict`);
  const target: Target = { model: request.model, version: request.version, alias: request.alias };
  // Peek at the version for its binding; runInference resolves again (an alias may move meanwhile, see below).
  const peeked = manager.resolve(target);
  const binding = peeked.modelVersion?.featureBinding;
  if (!binding || binding.features.length === 0) {
    throw failedPrecondition(`${peeked.model}@${peeked.version} declares no feature binding, so it cannot be called by entity key; send its inputs as tensors`);
  }
  if (!lookup) throw failedPrecondition("this replica has no feature service (set TESSERA_FEATURE_ADDRESS), so it cannot answer entity-keyed calls");
  const input = peeked.signature.inputs.find((spec) => spec.name === binding.input);
  if (!input) throw failedPrecondition(`the feature binding fills input "${binding.input}", which ${peeked.model}@${peeked.version} does not have`);
  if (input.dtype !== DataType.FLOAT32) throw failedPrecondition(`the feature binding fills input "${binding.input}", which is not float32`);

  const keys = request.entityKeys;
  const layout = layoutBinding(binding, await viewsOf(lookup, binding));
  let columns: FeatureColumn[] | undefined;
  try {
    columns = await lookup.read(binding.features.map((f) => f.ref), keys, call);
  } catch (error) {
    const status = ConnectError.from(error);
    // The caller's own deadline or cancel, not the feature service: say so (DEADLINE_EXCEEDED / CANCELLED), no defaults for a gone caller.
    if (isCallerEnded(error)) throw status;
    const down = status.code === Code.Unavailable || status.code === Code.DeadlineExceeded;
    if (!down) throw status;
    if (!binding.defaultsWhenUnavailable) {
      throw unavailable(`the feature service did not answer (${status.rawMessage}); retry, or let the model's binding serve defaults when it is unavailable`, error);
    }
    columns = undefined;
  }
  const { data, defaulted } = assembleFeatures(binding, layout, keys, columns);
  const tensor: HostTensor = { dtype: DataType.FLOAT32, shape: [keys.length, layout.width], data };
  const answer = await runInference(manager, metrics, {
    target,
    inputs: (version) => {
      if (version.modelVersion?.featureBinding && !sameBinding(version.modelVersion.featureBinding, binding)) {
        throw unavailable(`${version.model} moved to version ${version.version} with other features while this call read them; retry`);
      }
      return new Map([[binding.input, tensor]]);
    },
    outputNames: request.outputNames,
    priority: request.priority,
    queueTimeoutUs: Number(request.queueTimeoutUs),
    origin: call.origin,
    timeoutMs: call.timeoutMs,
    signal: call.signal,
  });
  return { answer, defaulted };
}

async function viewsOf(lookup: FeatureLookup, binding: FeatureBinding): Promise<Map<string, FeatureView>> {
  const names = [...new Set(binding.features.map((f) => f.ref.split(":")[0]!))];
  try {
    return new Map(await Promise.all(names.map(async (name) => [name, await lookup.view(name)] as const)));
  } catch (error) {
    const status = ConnectError.from(error);
    if (status.code === Code.NotFound) throw failedPrecondition(`the model's feature binding names a view the feature service does not define: ${status.rawMessage}`);
    throw status;
  }
}

function sameBinding(a: FeatureBinding, b: FeatureBinding): boolean {
  return a.input === b.input && a.features.map((f) => f.ref).join(",") === b.features.map((f) => f.ref).join(",");
}
