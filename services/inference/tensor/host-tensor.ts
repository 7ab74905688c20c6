import type { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";

import type { TensorData } from "../../../libs/dtypes/index.js";

export type { NumericArray, TensorData } from "../../../libs/dtypes/index.js";

/**
 * A tensor in replica memory, between the wire (Tessera or OIP messages) and
 * ONNX Runtime. Row-major; shape[0] is the batch dimension for models that
 * have one. `data.length` always equals the product of `shape`.
 */
export interface HostTensor {
  readonly dtype: DataType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** Named tensors, as a request's inputs or a run's outputs. */
export type TensorMap = ReadonlyMap<string, HostTensor>;
