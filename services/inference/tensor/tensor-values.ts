import type { TypedFieldPlan } from "../../../libs/host/index.js";
import { InferTensorContentsSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { TensorSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";

/**
 * The numeric value fields of our tensors (Tensor.*_data, OIP
 * InferTensorContents.*_contents) may hold a typed array where their
 * generated type says number[] or bigint[]. That is deliberate, and this
 * file is the one place that says so:
 * - the gRPC port decodes these fields straight into typed arrays
 *   (TENSOR_TYPED_FIELDS, libs/host typed-fields.ts), so a request's FP32
 *   values arrive as a Float32Array the model can take without a copy;
 * - the output builders put the outputs' typed arrays in them, so the gRPC
 *   port writes them in one copy (protobuf-es's toBinary, toJson and clone
 *   take a typed array in a list field too: the Connect port still works).
 * The HTTP port, JSON and older decoders give plain arrays: every reader
 * takes both, through the types below.
 */
export type NumberValues = ArrayLike<number>;
export type BigIntValues = ArrayLike<bigint>;

/** The typed array a field of each kind holds when it is not a plain array. */
export type FieldArray = Float32Array | Float64Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A typed array as the value of a generated number[] field (see above). */
export function asNumberField(values: Float32Array | Float64Array | Int32Array | Uint32Array): number[] {
  return values as unknown as number[];
}

/** A typed array as the value of a generated bigint[] field (see above). */
export function asBigIntField(values: BigInt64Array | BigUint64Array): bigint[] {
  return values as unknown as bigint[];
}

/**
 * `data` as a `type` array: itself when it already is one (an output's data is its own, or a
 * view of its batch's; the gRPC port only reads it), else converted, as the field would
 * convert each element (INT8 data in int32_data).
 */
export function ownArray<T extends FieldArray>(type: { new (values: ArrayLike<number> & ArrayLike<bigint>): T; prototype: T }, data: ArrayLike<number> | ArrayLike<bigint>): T {
  return data instanceof type ? data : new type(data as ArrayLike<number> & ArrayLike<bigint>);
}

/** The fields the gRPC port decodes into typed arrays and encodes from them (InferenceService, GRPCInferenceService). */
export const TENSOR_TYPED_FIELDS: TypedFieldPlan = [
  TensorSchema.field.floatData,
  TensorSchema.field.doubleData,
  TensorSchema.field.int32Data,
  TensorSchema.field.int64Data,
  TensorSchema.field.uint64Data,
  InferTensorContentsSchema.field.intContents,
  InferTensorContentsSchema.field.int64Contents,
  InferTensorContentsSchema.field.uintContents,
  InferTensorContentsSchema.field.uint64Contents,
  InferTensorContentsSchema.field.fp32Contents,
  InferTensorContentsSchema.field.fp64Contents,
];
