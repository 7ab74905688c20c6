import type { Signature, TensorSpec } from "../gen/tessera/registry/v1/signature_pb.js";
import { failedPrecondition } from "../errors/index.js";

/**
 * Refuses a model for batching when some input or output lacks a dynamic
 * (-1) leading dimension: rows of several requests are stacked along it,
 * and each caller's rows are cut back out of every output along it. The
 * registry calls this when a version is registered or its batching changes.
 */
export function checkBatchable(signature: Signature, batching: { readonly enabled: boolean } | undefined): void {
  if (!batching?.enabled) return;
  const check = (kind: "input" | "output", spec: TensorSpec) => {
    const leading = spec.shape[0];
    if (leading !== undefined && leading.size === -1n) return;
    const shape = `[${spec.shape.map((d) => String(d.size)).join(",")}]`;
    throw failedPrecondition(
      `batching needs a dynamic leading dimension; ${kind} '${spec.name}' has shape ${shape}. ` +
        "Export the model with a dynamic batch axis (e.g. torch.onnx.export(..., dynamic_axes={name: {0: 'batch'}})) or turn batching off for this version",
    );
  };
  for (const spec of signature.inputs) check("input", spec);
  for (const spec of signature.outputs) check("output", spec);
}
