import type { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";

/** Storage of the fixed-width numeric dtypes. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** Element storage for each dtype (BOOL holds boolean[], STRING string[]). */
export type TensorData = NumericArray | boolean[] | string[];

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
