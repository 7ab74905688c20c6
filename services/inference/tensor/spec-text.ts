import type { TensorSpec } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { dtypeLabel } from "../../../libs/dtypes/index.js";
import type { HostTensor } from "./host-tensor.js";
import { formatShape } from "./shape.js";

/** Whether a spec dimension is dynamic (size -1; any negative size is treated so). */
export function isDynamic(size: bigint): boolean {
  return size < 0n;
}

/**
 * A spec for messages: "FP32 [-1, 16] (batch, 16)". The part in brackets names dynamic
 * dimensions (ONNX's symbolic name, or "any"), and appears only when there are some.
 */
export function describeSpec(spec: TensorSpec): string {
  const sizes = spec.shape.map((d) => d.size);
  const text = `${dtypeLabel(spec.dtype)} ${formatShape(sizes)}`;
  if (!sizes.some(isDynamic)) return text;
  const names = spec.shape.map((d) => (isDynamic(d.size) ? d.name || "any" : String(d.size)));
  return `${text} (${names.join(", ")})`;
}

/** A tensor for messages: "FP64 [1, 8]". */
export function describeHost(host: HostTensor): string {
  return `${dtypeLabel(host.dtype)} ${formatShape(host.shape)}`;
}
