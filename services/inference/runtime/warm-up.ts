import type { Signature } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { BatchingOptions } from "../batching/index.js";
import { allocateData, dtypeInfo, type HostTensor, type TensorMap } from "../tensor/index.js";

/**
 * The batch sizes a version is run at before it is marked READY: each
 * preferred size, or 1 and the largest batch, so the first real request of
 * any usual size finds kernels chosen and memory planned. A model whose
 * leading dimension is fixed runs once, at that size.
 */
export function warmUpBatchSizes(signature: Signature, batching: BatchingOptions): number[] {
  const leading = signature.inputs[0]?.shape[0];
  if (leading !== undefined && leading.size >= 0n) return [Number(leading.size)];
  if (!batching.enabled) return [1];
  const sizes = batching.preferredBatchSizes.length > 0 ? [...batching.preferredBatchSizes] : [1];
  if (batching.maxBatchSize > 0) sizes.push(batching.maxBatchSize);
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/**
 * Zero-filled inputs shaped from the signature: dynamic leading dimensions
 * take `rows`, other dynamic dimensions 1.
 */
export function warmUpInputs(signature: Signature, rows: number): TensorMap {
  const inputs = new Map<string, HostTensor>();
  for (const spec of signature.inputs) {
    const shape = spec.shape.map((dim, i) => (dim.size >= 0n ? Number(dim.size) : i === 0 ? rows : 1));
    const count = shape.reduce((a, b) => a * b, 1);
    inputs.set(spec.name, { dtype: spec.dtype, shape, data: allocateData(dtypeInfo(spec.dtype, `input '${spec.name}'`), count) });
  }
  return inputs;
}
