import { invalidArgument } from "../../../libs/errors/index.js";
import {
  InferTensorContentsSchema,
  ModelInferResponse_InferOutputTensorSchema,
  type InferTensorContents,
  type ModelInferResponse_InferOutputTensor,
} from "../../../libs/gen/inference/grpc_service_pb.js";
import type { DtypeInfo } from "../../../libs/dtypes/index.js";
import { messageFactory } from "../../../libs/messages/index.js";
import { checkHostData, isBigIntArray, isNumberArray } from "./host-data.js";
import type { HostTensor } from "./host-tensor.js";
import { encodeUtf8 } from "./length-prefixed.js";
import { asBigIntField, asNumberField, ownArray } from "./tensor-values.js";
import { contentsField } from "./oip-contents-field.js";
import { encodeRaw } from "./raw-bytes.js";

// Built on every answer: zero messages from factories, not create() (libs/messages).
const newOutputTensor = messageFactory(ModelInferResponse_InferOutputTensorSchema);
const newContents = messageFactory(InferTensorContentsSchema);

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
  const tensor = newOutputTensor();
  tensor.name = name;
  tensor.datatype = info.oip;
  tensor.shape = host.shape.map((d) => BigInt(d));
  if (options.raw) return { tensor, raw: encodeRaw(host, subject) };
  tensor.contents = typedContents(info, host, subject);
  return { tensor };
}

function typedContents(info: DtypeInfo, host: HostTensor, subject: string): InferTensorContents {
  const field = contentsField(info);
  if (field === undefined) {
    throw invalidArgument(`${subject}: ${info.oip} has no typed contents field in the protocol; ask for raw (binary) outputs`);
  }
  const data = host.data;
  const contents = newContents();
  // The outputs' own typed arrays in the fields (tensor-values.ts): the gRPC port writes them in one copy.
  if (isNumberArray(data)) {
    switch (field) {
      case "fp32_contents":
        contents.fp32Contents = asNumberField(ownArray(Float32Array, data));
        break;
      case "fp64_contents":
        contents.fp64Contents = asNumberField(ownArray(Float64Array, data));
        break;
      case "uint_contents":
        contents.uintContents = asNumberField(ownArray(Uint32Array, data));
        break;
      default:
        contents.intContents = asNumberField(ownArray(Int32Array, data));
    }
  } else if (isBigIntArray(data)) {
    if (field === "int64_contents") contents.int64Contents = asBigIntField(ownArray(BigInt64Array, data));
    else contents.uint64Contents = asBigIntField(ownArray(BigUint64Array, data));
  } else if (info.storage.kind === "boolean") {
    contents.boolContents = (data as boolean[]).slice();
  } else {
    contents.bytesContents = (data as string[]).map(encodeUtf8);
  }
  return contents;
}
