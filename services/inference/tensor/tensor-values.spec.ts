import { clone, create, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  ModelInferRequest_InferInputTensorSchema,
  ModelInferResponse_InferOutputTensorSchema,
} from "../../../libs/gen/inference/grpc_service_pb.js";
import { TensorSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { typedDecoder } from "../../../libs/host/typed-fields-decode.js";
import { typedEncoder } from "../../../libs/host/typed-fields-encode.js";
import { fromInferInput } from "./infer-input.js";
import { toInferOutput } from "./infer-output.js";
import { SAMPLES, tensorDifference, thrownBy } from "./spec-samples.js";
import { fromTensorMessage, toTensorMessage } from "./tensor-message.js";
import { TENSOR_TYPED_FIELDS } from "./tensor-values.js";

// The gRPC port's codec for our tensors, as the replica configures it, here for small tensors too.
const ALL = { minTypedBytes: 0, minTypedElements: 1 };
const encodeTensor = typedEncoder(TensorSchema, TENSOR_TYPED_FIELDS, ALL);
const decodeTensor = typedDecoder(TensorSchema, TENSOR_TYPED_FIELDS, ALL);
const encodeOutput = typedEncoder(ModelInferResponse_InferOutputTensorSchema, TENSOR_TYPED_FIELDS, ALL);
const decodeInput = typedDecoder(ModelInferRequest_InferInputTensorSchema, TENSOR_TYPED_FIELDS, ALL);
const typedSamples = SAMPLES.filter((s) => s.label !== "FP16" && s.label !== "BOOL" && s.label !== "BYTES");

describe("tensor values held as typed arrays", () => {
  it.each(typedSamples)("$label: an output message goes over the gRPC codec and back to the same tensor", ({ host }) => {
    const decoded = decodeTensor(encodeTensor(toTensorMessage("t", host)));
    expect(tensorDifference(fromTensorMessage(decoded), host)).toBeUndefined();
    const input = fromBinary(ModelInferRequest_InferInputTensorSchema, toBinary(ModelInferResponse_InferOutputTensorSchema, toInferOutput("t", host, { raw: false }).tensor));
    expect(tensorDifference(fromInferInput(decodeInput(toBinary(ModelInferRequest_InferInputTensorSchema, input))), host)).toBeUndefined();
  });

  it.each(typedSamples)("$label: the Connect port's toBinary, toJson and clone read an output message holding typed arrays", ({ host }) => {
    const message = toTensorMessage("t", host);
    const plain = fromBinary(TensorSchema, encodeTensor(message));
    expect(fromBinary(TensorSchema, toBinary(TensorSchema, message))).toEqual(plain);
    expect(toJson(TensorSchema, message)).toEqual(toJson(TensorSchema, plain));
    expect(tensorDifference(fromTensorMessage(fromJson(TensorSchema, toJson(TensorSchema, message))), host)).toBeUndefined();
    expect(tensorDifference(fromTensorMessage(clone(TensorSchema, message)), host)).toBeUndefined();
    const output = toInferOutput("t", host, { raw: false }).tensor;
    expect(toJson(ModelInferResponse_InferOutputTensorSchema, output)).toEqual(
      toJson(ModelInferResponse_InferOutputTensorSchema, fromBinary(ModelInferResponse_InferOutputTensorSchema, encodeOutput(output))),
    );
  });

  it("uses values that arrive in the dtype's own typed array as the tensor's data, without a copy", () => {
    const floats = create(TensorSchema, { name: "x", dtype: DataType.FLOAT32, shape: [2n], floatData: [0.5, 1.5] });
    const decoded = decodeTensor(toBinary(TensorSchema, floats));
    expect(fromTensorMessage(decoded).data).toBe(decoded.floatData);
    const ids = create(ModelInferRequest_InferInputTensorSchema, { name: "ids", datatype: "INT64", shape: [1n], contents: { int64Contents: [-5n] } });
    const input = decodeInput(toBinary(ModelInferRequest_InferInputTensorSchema, ids));
    expect(fromInferInput(input).data).toBe(input.contents!.int64Contents);
  });

  it("checks a narrower dtype's values from a typed array with the same message as from a plain array", () => {
    const init = { name: "x", dtype: DataType.INT8, shape: [2n], int32Data: [1, 300] };
    const plain = create(TensorSchema, init);
    const typed = decodeTensor(toBinary(TensorSchema, plain));
    expect(typed.int32Data).toBeInstanceOf(Int32Array);
    const error = thrownBy(() => fromTensorMessage(typed));
    expect(error.rawMessage).toBe(thrownBy(() => fromTensorMessage(plain)).rawMessage);
    expect(error.rawMessage).toBe("tensor 'x': int32_data[1] = 300 is not a valid INT8 value (-128..127)");
    const short = decodeTensor(toBinary(TensorSchema, create(TensorSchema, { name: "x", dtype: DataType.FLOAT32, shape: [3n], floatData: [1] })));
    expect(thrownBy(() => fromTensorMessage(short)).rawMessage).toBe("tensor 'x': shape [3] needs 3 values, got 1 in float_data");
  });
});
