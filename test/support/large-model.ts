import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { GraphProtoSchema, ModelProtoSchema, TensorProto_DataType, TensorProtoSchema } from "../../libs/gen/onnx/onnx_pb.js";
import { buildModel, node, tensorValue } from "../../libs/onnx/index.js";

export interface StreamedModel {
  /** Total bytes the stream yields. */
  sizeBytes: number;
  /** A fresh stream of the model's bytes, generated as it is read: never held whole. */
  chunks(): AsyncGenerator<Uint8Array>;
}

function varintBytes(value: number): Uint8Array {
  return new BinaryWriter().uint64(value).finish();
}

/**
 * An Identity model (x → y, float [batch, 4]) carrying an unused float
 * initializer of `weightBytes` bytes: a large model whose weights are
 * generated chunk by chunk, for memory tests of uploads.
 */
export function largeModel(weightBytes: number, chunkBytes = 1024 * 1024): StreamedModel {
  const small = fromBinary(
    ModelProtoSchema,
    buildModel({
      name: "large",
      inputs: [tensorValue("x", TensorProto_DataType.FLOAT, ["batch", 4])],
      outputs: [tensorValue("y", TensorProto_DataType.FLOAT, ["batch", 4])],
      nodes: [node("Identity", ["x"], ["y"])],
    }),
  );
  const graphBytes = toBinary(GraphProtoSchema, small.graph!);
  const head = toBinary(ModelProtoSchema, create(ModelProtoSchema, { ...small, graph: undefined }));
  const weightCount = Math.floor(weightBytes / 4);
  const tensorHead = toBinary(TensorProtoSchema, create(TensorProtoSchema, { name: "w", dims: [BigInt(weightCount)], dataType: TensorProto_DataType.FLOAT }));
  const rawLength = weightCount * 4;
  // TensorProto.raw_data (field 9, wire type 2): tag 0x4a.
  const tensorPrefix = new Uint8Array([...tensorHead, 0x4a, ...varintBytes(rawLength)]);
  const tensorLength = tensorPrefix.byteLength + rawLength;
  // GraphProto.initializer (field 5): tag 0x2a.
  const initializerPrefix = new Uint8Array([0x2a, ...varintBytes(tensorLength)]);
  const graphLength = graphBytes.byteLength + initializerPrefix.byteLength + tensorLength;
  // ModelProto.graph (field 7): tag 0x3a.
  const graphPrefix = new Uint8Array([0x3a, ...varintBytes(graphLength)]);
  const prefix = new Uint8Array([...head, ...graphPrefix, ...graphBytes, ...initializerPrefix, ...tensorPrefix]);
  return {
    sizeBytes: prefix.byteLength + rawLength,
    async *chunks() {
      yield prefix;
      let seed = 1;
      for (let sent = 0; sent < rawLength; sent += chunkBytes) {
        const chunk = new Uint8Array(Math.min(chunkBytes, rawLength - sent));
        // Not all zeros, so no layer along the way can compress it away.
        for (let i = 0; i < chunk.byteLength; i += 4096) chunk[i] = seed = (seed * 1103515245 + 12345) & 0xff;
        yield chunk;
      }
    },
  };
}
