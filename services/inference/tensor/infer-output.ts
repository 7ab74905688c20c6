import { create } from "@bufbuild/protobuf";
import { invalidArgument } from "../../../libs/errors/index.js";
import {
  InferTensorContentsSchema,
  ModelInferResponse_InferOutputTensorSchema,
  type InferTensorContents,
  type ModelInferResponse_InferOutputTensor,
} from "../../../libs/gen/inference/grpc_service_pb.js";
import type { DtypeInfo } from "../../../libs/dtypes/index.js";
import { checkHostData, isBigIntArray, isNumberArray } from "./host-data.js";
import type { HostTensor } from "./host-tensor.js";
import { encodeUtf8 } from "./length-prefixed.js";
import { asBigIntField, asNumberField, ownArray } from "./tensor-values.js";
import { contentsField } from "./oip-contents-field.js";
import { encodeRaw } from "./raw-bytes.js";

export interface ToInferOutputOptions {
  /**
   * Return the values as raw bytes (for raw_output_contents) instead of typed contents.
   * The caller decides: the OIP answers raw when the request sent raw inputs or asked for
   * binary outputs, and then raw for every output, since raw_output_contents is parallel
   * to outputs.
   */
  readonly raw: boolean;
}

export interface InferOutput {
  readonly tensor: ModelInferResponse_InferOutputTensor;
  /** This output's raw_output_contents entry, when `raw` was asked for. */
  readonly raw?: Uint8Array;
}

/**
 * A HostTensor as an OIP output. Typed contents use the field the OIP assigns to the datatype;
 * FP16 has none and must go raw (toInferOutputs switches the whole response to raw for it).
 */
export function toInferOutput(name: string, host: HostTensor, options: ToInferOutputOptions): InferOutput {
  const subject = `output '${name}'`;
  const info = checkHostData(host, subject);
  const base = { name, datatype: info.oip, shape: host.shape.map((d) => BigInt(d)) };
  if (options.raw) {
    return { tensor: create(ModelInferResponse_InferOutputTensorSchema, base), raw: encodeRaw(host, subject) };
  }
  return {
    tensor: create(ModelInferResponse_InferOutputTensorSchema, { ...base, contents: typedContents(info, host, subject) }),
  };
}

function typedContents(info: DtypeInfo, host: HostTensor, subject: string): InferTensorContents {
  const field = contentsField(info);
  if (field === undefined) {
    throw invalidArgument(`${subject}: ${info.oip} has no typed contents field in the protocol; ask for raw (binary) outputs`);
  }
  const data = host.data;
  // The outputs' own typed arrays in the fields (tensor-values.ts): the gRPC port writes them in one copy.
  if (isNumberArray(data)) {
    switch (field) {
      case "fp32_contents":
        return create(InferTensorContentsSchema, { fp32Contents: asNumberField(ownArray(Float32Array, data)) });
      case "fp64_contents":
        return create(InferTensorContentsSchema, { fp64Contents: asNumberField(ownArray(Float64Array, data)) });
      case "uint_contents":
        return create(InferTensorContentsSchema, { uintContents: asNumberField(ownArray(Uint32Array, data)) });
      default:
        return create(InferTensorContentsSchema, { intContents: asNumberField(ownArray(Int32Array, data)) });
    }
  }
  if (isBigIntArray(data)) {
    return field === "int64_contents"
      ? create(InferTensorContentsSchema, { int64Contents: asBigIntField(ownArray(BigInt64Array, data)) })
      : create(InferTensorContentsSchema, { uint64Contents: asBigIntField(ownArray(BigUint64Array, data)) });
  }
  return info.storage.kind === "boolean"
    ? create(InferTensorContentsSchema, { boolContents: (data as boolean[]).slice() })
    : create(InferTensorContentsSchema, { bytesContents: (data as string[]).map(encodeUtf8) });
}
