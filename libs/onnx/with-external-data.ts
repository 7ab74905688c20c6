import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, StringStringEntryProtoSchema } from "../gen/onnx/onnx_pb.js";

/** A model whose weights were moved out of it, and the files that now hold them, by path. */
export interface ExternalDataModel {
  model: Uint8Array;
  files: Map<string, Uint8Array>;
}

/**
 * Moves every graph initializer with raw_data into external data files, as
 * large models ship (onnx.save_model(..., save_as_external_data=True)).
 * `location` names the file each initializer goes to (default: all in
 * "weights.bin"); tensors going to one file are laid end to end in
 * initializer order. The same input always gives the same bytes.
 */
export function withExternalData(bytes: Uint8Array, location: (tensor: string, index: number) => string = () => "weights.bin"): ExternalDataModel {
  const model = fromBinary(ModelProtoSchema, bytes);
  const parts = new Map<string, Uint8Array[]>();
  const sizes = new Map<string, number>();
  (model.graph?.initializer ?? []).forEach((init, index) => {
    if (init.rawData.byteLength === 0) return;
    const file = location(init.name, index);
    const offset = sizes.get(file) ?? 0;
    init.externalData = [
      create(StringStringEntryProtoSchema, { key: "location", value: file }),
      create(StringStringEntryProtoSchema, { key: "offset", value: String(offset) }),
      create(StringStringEntryProtoSchema, { key: "length", value: String(init.rawData.byteLength) }),
    ];
    init.dataLocation = 1; // EXTERNAL
    parts.set(file, [...(parts.get(file) ?? []), init.rawData]);
    sizes.set(file, offset + init.rawData.byteLength);
    init.rawData = new Uint8Array(0);
  });
  const files = new Map([...parts].map(([file, chunks]) => [file, new Uint8Array(Buffer.concat(chunks))]));
  return { model: toBinary(ModelProtoSchema, model), files };
}
