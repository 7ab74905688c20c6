import { create } from "@bufbuild/protobuf";
import { notFound } from "../../../libs/errors/index.js";
import {
  ModelMetadataResponseSchema,
  ModelStatisticsSchema,
  type ModelMetadataResponse,
  type ModelStatistics,
} from "../../../libs/gen/inference/grpc_service_pb.js";
import type { TensorSpec } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { ModelManager } from "../serving/model-manager.js";
import { oipDatatype } from "../tensor/index.js";
import { oipTarget } from "./oip-parameters.js";

/** What the server says about itself (OIP ServerMetadata). */
export const SERVER_NAME = "tessera";
/**
 * OIP extensions this server implements: Triton's statistics, REST binary
 * tensor data, request parameters, and schedule policy (priority, timeout).
 */
export const SERVER_EXTENSIONS = ["statistics", "binary_tensor_data", "parameters", "schedule_policy"] as const;

/** ONNX Runtime as Triton names its backend, so Triton tooling recognises the models. */
export const PLATFORM = "onnxruntime_onnx";

/** OIP ModelMetadata for a READY version: names, datatypes and shapes (-1 for dynamic dimensions). */
export function modelMetadata(manager: ModelManager, name: string, version: string): ModelMetadataResponse {
  const served = manager.resolve(oipTarget(name, version));
  const tensor = (spec: TensorSpec) => ({
    name: spec.name,
    datatype: oipDatatype(spec.dtype, `tensor '${spec.name}'`),
    shape: spec.shape.map((d) => (d.size < 0n ? -1n : d.size)),
  });
  const versions = manager
    .versions()
    .filter((v) => v.model === served.model && v.state === "READY")
    .map((v) => v.version)
    .sort((a, b) => a - b)
    .map(String);
  return create(ModelMetadataResponseSchema, {
    name: served.model,
    versions,
    platform: PLATFORM,
    inputs: served.signature.inputs.map(tensor),
    outputs: served.signature.outputs.map(tensor),
  });
}

/**
 * OIP ModelStatistics, from each version's batcher: every version held when
 * `name` is empty, every version of the model when `version` is empty.
 */
export function modelStatistics(manager: ModelManager, name: string, version: string): ModelStatistics[] {
  let versions = manager.versions().filter((v) => v.runner !== undefined);
  if (name !== "") {
    if (version === "") {
      versions = versions.filter((v) => v.model === name);
      if (versions.length === 0) throw notFound(`model "${name}" is not served by this replica; ${manager.describeServed()}`);
    } else {
      const served = manager.resolve(oipTarget(name, version));
      versions = [served];
    }
  }
  return versions
    .sort((a, b) => a.model.localeCompare(b.model) || a.version - b.version)
    .map((v) => {
      const stats = v.runner!.stats();
      return create(ModelStatisticsSchema, {
        name: v.model,
        version: String(v.version),
        lastInference: stats.lastInference,
        inferenceCount: stats.inferenceCount,
        executionCount: stats.executionCount,
        inferenceStats: stats.inferenceStats,
        batchStats: stats.batchStats,
      });
    });
}
