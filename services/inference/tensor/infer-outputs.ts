import type { ModelInferResponse_InferOutputTensor } from "../../../libs/gen/inference/grpc_service_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { TensorMap } from "./host-tensor.js";
import { toInferOutput } from "./infer-output.js";

export interface InferOutputs {
  readonly outputs: ModelInferResponse_InferOutputTensor[];
  /** Parallel to outputs when the answer is raw; empty otherwise. */
  readonly rawOutputContents: Uint8Array[];
}

/**
 * Every output of a run, for a ModelInferResponse, in map order. Raw when `raw` is asked
 * for, and also when any output is FP16, which has no typed contents field: the protocol
 * makes raw_output_contents all-or-nothing.
 */
export function toInferOutputs(outputs: TensorMap, options: { readonly raw: boolean }): InferOutputs {
  let raw = options.raw;
  for (const host of outputs.values()) if (host.dtype === DataType.FLOAT16) raw = true;
  const tensors: ModelInferResponse_InferOutputTensor[] = [];
  const rawOutputContents: Uint8Array[] = [];
  for (const [name, host] of outputs) {
    const out = toInferOutput(name, host, { raw });
    tensors.push(out.tensor);
    if (out.raw !== undefined) rawOutputContents.push(out.raw);
  }
  return { outputs: tensors, rawOutputContents };
}
