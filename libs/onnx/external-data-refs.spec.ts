import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  SparseTensorProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
} from "../gen/onnx/onnx_pb.js";
import { buildModel, float32Initializer, node, tensorValue } from "./build-model.js";
import { buildMlp } from "./mlp.js";
import { readSignature } from "./read-signature.js";
import { readModelFromStream } from "./read-signature-stream.js";
import { withExternalData } from "./with-external-data.js";

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size);
}

function externalTensor(name: string, entries: Record<string, string>) {
  return create(TensorProtoSchema, {
    name,
    dims: [2n],
    dataType: TensorProto_DataType.FLOAT,
    dataLocation: 1,
    externalData: Object.entries(entries).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
  });
}

/** A model whose external tensors sit where a full parser would have to look for them: a Constant, an If body, a sparse initializer. */
function nestedModel(location = "deep/c.bin"): Uint8Array {
  const model = fromBinary(ModelProtoSchema, buildMlp({ name: "m", layers: [4, 2], seed: 3 }));
  const graph = model.graph!;
  graph.sparseInitializer.push(create(SparseTensorProtoSchema, { values: externalTensor("sparse_values", { location: "./sparse.bin", offset: "8", length: "8" }), dims: [4n] }));
  const body = create(GraphProtoSchema, { name: "body", initializer: [externalTensor("body_w", { location: "body.bin" })] });
  const constant = node("Constant", [], ["c"]);
  constant.attribute.push(create(AttributeProtoSchema, { name: "value", type: AttributeProto_AttributeType.TENSOR, t: externalTensor("c", { location }) }));
  const branch = node("If", ["cond"], ["out"]);
  branch.attribute.push(create(AttributeProtoSchema, { name: "then_branch", type: AttributeProto_AttributeType.GRAPH, g: body }));
  graph.node.push(constant, branch);
  return toBinary(ModelProtoSchema, model);
}

describe("readModelFromStream()", () => {
  it("lists every external tensor with its file, offset and length, whatever the chunking, and the same signature", async () => {
    const { model, files } = withExternalData(buildMlp({ name: "m", layers: [16, 8, 1], seed: 1 }), (_tensor, i) => (i % 2 === 0 ? "even.bin" : "odd/w.bin"));
    expect([...files.keys()]).toEqual(["even.bin", "odd/w.bin"]);
    for (const size of [1, 5, 4096]) {
      const outline = await readModelFromStream(chunked(model, size));
      expect(outline.signature).toEqual(readSignature(model));
      expect(outline.externalData.map((ref) => ref.location)).toEqual(["even.bin", "odd/w.bin", "even.bin", "odd/w.bin"]);
      const last = outline.externalData.at(-1)!;
      expect(last.offset + last.length!).toBe(BigInt(files.get("odd/w.bin")!.byteLength));
    }
  });

  it("lists nothing for a model with its weights inline", async () => {
    expect((await readModelFromStream(chunked(buildMlp({ name: "m", layers: [4, 2], seed: 1 }), 64))).externalData).toEqual([]);
  });

  it("finds external tensors in sparse initializers, node attributes and subgraphs, normalizing ./", async () => {
    const refs = (await readModelFromStream(chunked(nestedModel(), 3))).externalData;
    expect(refs.map((r) => [r.tensor, r.location, r.offset, r.length])).toEqual([
      ["sparse_values", "sparse.bin", 8n, 8n],
      ["c", "deep/c.bin", 0n, undefined],
      ["body_w", "body.bin", 0n, undefined],
    ]);
  });

  it.each([
    ["../secret.bin", /outside the model's folder/],
    ["/etc/passwd", /outside the model's folder/],
    ["", /names no "location"/],
  ])("refuses a tensor whose location is %j as not a model", async (location, message) => {
    await expect(readModelFromStream(chunked(nestedModel(location), 1024))).rejects.toThrow(message);
  });

  it("keeps a location with '\\' as it is, since onnxruntime on Linux reads it as one file name", async () => {
    const refs = (await readModelFromStream(chunked(nestedModel("data\\w.bin"), 64))).externalData;
    expect(refs.map((r) => r.location)).toContain("data\\w.bin");
  });

  it("refuses an offset that is not a number", async () => {
    const bytes = buildModel({
      name: "x",
      inputs: [tensorValue("x", TensorProto_DataType.FLOAT, [2])],
      outputs: [tensorValue("y", TensorProto_DataType.FLOAT, [2])],
      initializers: [externalTensor("w", { location: "w.bin", offset: "-1" }), float32Initializer("b", [2], new Float32Array(2))],
      nodes: [node("Add", ["x", "w"], ["y"])],
    });
    await expect(readModelFromStream(chunked(bytes, 100))).rejects.toThrow(/offset "-1", not a whole number/);
  });
});
