import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../errors/index.js";
import { ModelProtoSchema, TensorProto_DataType } from "../gen/onnx/onnx_pb.js";
import { DataType, SignatureSchema, type Dimension } from "../gen/tessera/registry/v1/signature_pb.js";
import { buildModel, float32Initializer, node, tensorValue } from "./build-model.js";
import { buildGatherModel } from "./gather-model.js";
import { buildMlp } from "./mlp.js";
import { mulberry32 } from "./mulberry32.js";
import { readSignature } from "./read-signature.js";

const dims = (shape: readonly Dimension[]) => shape.map((d) => (d.size === -1n ? d.name || "?" : Number(d.size)));

function invalidArgumentOf(run: () => unknown): ConnectError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    const connectError = error as ConnectError;
    expect(connectError.code).toBe(Code.InvalidArgument);
    return connectError;
  }
  throw new Error("expected readSignature to throw");
}

/** A model around one Identity node, for signatures with odd inputs. */
function identityModel(input = tensorValue("x", TensorProto_DataType.FLOAT, ["batch", 3]), output = tensorValue("y", TensorProto_DataType.FLOAT, ["batch", 3])) {
  return buildModel({ name: "identity", inputs: [input], outputs: [output], nodes: [node("Identity", [input.name], [output.name])] });
}

describe("readSignature()", () => {
  it("reads names, dtypes, dims, opset and producer of an MLP with a dynamic batch", () => {
    const signature = readSignature(buildMlp({ name: "m", inputName: "features", outputName: "score", layers: [16, 32, 1], seed: 1, outputActivation: "sigmoid" }));
    expect(signature.inputs.map((t) => [t.name, t.dtype, dims(t.shape)])).toEqual([["features", DataType.FLOAT32, ["batch", 16]]]);
    expect(signature.outputs.map((t) => [t.name, t.dtype, dims(t.shape)])).toEqual([["score", DataType.FLOAT32, ["batch", 1]]]);
    expect(signature.inputs[0]?.shape[0]).toMatchObject({ size: -1n, name: "batch" });
    expect(signature.inputs[0]?.shape[1]).toMatchObject({ size: 16n, name: "" });
    expect(signature.opset).toBe(17n);
    expect(signature.producerName).toBe("tessera");
    expect(signature.producerVersion).toBe("1");
  });

  it("reads two inputs of different dtypes in graph order", () => {
    const signature = readSignature(buildGatherModel());
    expect(signature.inputs.map((t) => [t.name, t.dtype, dims(t.shape)])).toEqual([
      ["x", DataType.FLOAT32, ["batch", 4]],
      ["idx", DataType.INT64, ["batch"]],
    ]);
    expect(signature.outputs.map((t) => t.name)).toEqual(["y"]);
  });

  it("reads a fixed leading dimension as a size, not as dynamic", () => {
    const signature = readSignature(buildMlp({ name: "f", layers: [4, 2], seed: 1, batchDim: 1 }));
    expect(signature.inputs[0]?.shape.map((d) => d.size)).toEqual([1n, 4n]);
  });

  it("leaves out graph inputs that are initializers (weights listed as inputs, IR < 4)", () => {
    const weight = float32Initializer("w", [3, 3], new Float32Array(9));
    const bytes = buildModel({
      name: "old-ir",
      inputs: [tensorValue("x", TensorProto_DataType.FLOAT, ["batch", 3]), tensorValue("w", TensorProto_DataType.FLOAT, [3, 3])],
      outputs: [tensorValue("y", TensorProto_DataType.FLOAT, ["batch", 3])],
      nodes: [node("MatMul", ["x", "w"], ["y"])],
      initializers: [weight],
    });
    expect(readSignature(bytes).inputs.map((t) => t.name)).toEqual(["x"]);
  });

  it("reads every element type the registry's DataType has, with the same numbers", () => {
    for (let elemType = 1; elemType <= 13; elemType++) {
      const signature = readSignature(identityModel(tensorValue("x", elemType, [2]), tensorValue("y", elemType, [2])));
      expect(signature.inputs[0]?.dtype).toBe(elemType);
      expect(DataType[elemType]).toBeDefined();
    }
  });

  it("reads a dimension with neither value nor name as dynamic and unnamed", () => {
    const writer = new BinaryWriter();
    writeValueInfo(writer, 11, "x", (type) => {
      type.tag(1, WireType.LengthDelimited).fork();
      type.tag(1, WireType.Varint).int32(1);
      type.tag(2, WireType.LengthDelimited).fork();
      type.tag(1, WireType.LengthDelimited).bytes(new Uint8Array(0));
      type.join();
      type.join();
    });
    writeValueInfo(writer, 12, "y", tensorTypeOf(1, [3]));
    const signature = readSignature(modelWithGraph(writer.finish()));
    expect(signature.inputs[0]?.shape).toEqual([expect.objectContaining({ size: -1n, name: "" })]);
  });

  it("reads opset from the 'ai.onnx' alias and ignores other domains", () => {
    const model = create(ModelProtoSchema, {
      irVersion: 8n,
      opsetImport: [
        { domain: "ai.onnx.ml", version: 99n },
        { domain: "ai.onnx", version: 13n },
      ],
    });
    const graph = new BinaryWriter();
    writeValueInfo(graph, 11, "x", tensorTypeOf(1, [2]));
    writeValueInfo(graph, 12, "y", tensorTypeOf(1, [2]));
    const bytes = concat(toBinary(ModelProtoSchema, model), fieldBytes(7, graph.finish()));
    expect(readSignature(bytes).opset).toBe(13n);
  });

  it("accepts an output of unknown rank with an empty shape", () => {
    const writer = new BinaryWriter();
    writeValueInfo(writer, 11, "x", tensorTypeOf(1, [2]));
    writeValueInfo(writer, 12, "y", (type) => type.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(1).join());
    expect(readSignature(modelWithGraph(writer.finish())).outputs[0]?.shape).toEqual([]);
  });

  it("reads a model with a 50 MB initializer, also listed as an input", () => {
    const elements = 50 * 1024 * 1024 / 4;
    const bytes = buildModel({
      name: "big",
      inputs: [tensorValue("x", TensorProto_DataType.FLOAT, ["batch", 1024]), tensorValue("w", TensorProto_DataType.FLOAT, [1024, elements / 1024])],
      outputs: [tensorValue("y", TensorProto_DataType.FLOAT, ["batch", elements / 1024])],
      nodes: [node("MatMul", ["x", "w"], ["y"])],
      initializers: [float32Initializer("w", [1024, elements / 1024], new Float32Array(elements))],
    });
    expect(bytes.length).toBeGreaterThan(50 * 1024 * 1024);
    const signature = readSignature(bytes);
    expect(signature.inputs.map((t) => [t.name, dims(t.shape)])).toEqual([["x", ["batch", 1024]]]);
    expect(signature.outputs.map((t) => [t.name, dims(t.shape)])).toEqual([["y", ["batch", 12800]]]);
  });

  it("returns a registry Signature message", () => {
    const signature = readSignature(buildGatherModel());
    expect(signature.$typeName).toBe(SignatureSchema.typeName);
  });

  const good = buildMlp({ name: "m", layers: [16, 32, 1], seed: 1 });
  const random = mulberry32(42);
  const randomBytes = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
  const noGraph = toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n, producerName: "x", opsetImport: [{ domain: "", version: 17n }] }));
  const signatureBytes = toBinary(SignatureSchema, create(SignatureSchema, { inputs: [{ name: "x", dtype: DataType.FLOAT32 }], opset: 17n }));
  const valueOnly = (() => {
    const writer = new BinaryWriter();
    writeValueInfo(writer, 11, "x", tensorTypeOf(1, [2]));
    writeValueInfo(writer, 12, "y", tensorTypeOf(1, [2]));
    return writer.finish();
  })();
  const graphWith = (build: (writer: BinaryWriter) => void) => {
    const writer = new BinaryWriter();
    build(writer);
    return modelWithGraph(writer.finish());
  };

  const bad: [string, Uint8Array, RegExp][] = [
    ["an empty file", new Uint8Array(0), /not an ONNX model: the file is empty/],
    ["random bytes", randomBytes, /not an ONNX model/],
    ["text", new TextEncoder().encode("hello, this is not a model\n"), /not an ONNX model/],
    ["a zip archive (PyTorch checkpoint)", Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0), /zip archive.*export it to ONNX/],
    ["an HDF5 file", Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a), /HDF5/],
    ["a model cut in half", good.subarray(0, good.length >> 1), /not an ONNX model: the protobuf is malformed or truncated/],
    ["a model missing its last byte", good.subarray(0, good.length - 1), /malformed or truncated/],
    ["a protobuf without a graph", noGraph, /not an ONNX model: it has no graph/],
    ["another protobuf message", signatureBytes, /not an ONNX model/],
    ["a graph without ir_version", concat(fieldBytes(7, valueOnly)), /ir_version .* is missing/],
    ["a graph without inputs", graphWith((w) => writeValueInfo(w, 12, "y", tensorTypeOf(1, [2]))), /unsupported ONNX model: the graph has no inputs/],
    ["a graph without outputs", graphWith((w) => writeValueInfo(w, 11, "x", tensorTypeOf(1, [2]))), /unsupported ONNX model: the graph has no outputs/],
    ["a bfloat16 input", identityModel(tensorValue("x", TensorProto_DataType.BFLOAT16, [2])), /input 'x' has element type BFLOAT16 \(16\); supported: FLOAT, UINT8/],
    ["a complex64 output", identityModel(undefined, tensorValue("y", TensorProto_DataType.COMPLEX64, [2])), /output 'y' has element type COMPLEX64/],
    ["an undefined element type", identityModel(tensorValue("x", TensorProto_DataType.UNDEFINED, [2])), /input 'x' has no element type/],
    ["an element type from the future", identityModel(tensorValue("x", 99 as TensorProto_DataType, [2])), /element type 99 \(unknown\)/],
    [
      "a sequence input",
      graphWith((w) => {
        writeValueInfo(w, 11, "x", (type) => type.tag(4, WireType.LengthDelimited).bytes(new Uint8Array(0)));
        writeValueInfo(w, 12, "y", tensorTypeOf(1, [2]));
      }),
      /input 'x' is a sequence; Tessera serves tensor inputs and outputs only/,
    ],
    [
      "an input without a shape",
      graphWith((w) => {
        writeValueInfo(w, 11, "x", (type) => type.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(1).join());
        writeValueInfo(w, 12, "y", tensorTypeOf(1, [2]));
      }),
      /input 'x' has no shape/,
    ],
    [
      "an input without a type",
      graphWith((w) => {
        w.tag(11, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("x").join();
        writeValueInfo(w, 12, "y", tensorTypeOf(1, [2]));
      }),
      /input 'x' has no type/,
    ],
    [
      "an input without a name",
      graphWith((w) => {
        writeValueInfo(w, 11, "", tensorTypeOf(1, [2]));
        writeValueInfo(w, 12, "y", tensorTypeOf(1, [2]));
      }),
      /input #0 has no name/,
    ],
    [
      "the same input twice",
      graphWith((w) => {
        writeValueInfo(w, 11, "x", tensorTypeOf(1, [2]));
        writeValueInfo(w, 11, "x", tensorTypeOf(1, [2]));
        writeValueInfo(w, 12, "y", tensorTypeOf(1, [2]));
      }),
      /input 'x' is listed twice/,
    ],
    [
      "a graph field with the wrong wire type",
      concat(fieldVarint(1, 8), fieldVarint(7, 1)),
      /ModelProto.graph has wire type 0, expected 2/,
    ],
  ];

  it.each(bad)("answers INVALID_ARGUMENT for %s", (_label, bytes, message) => {
    const error = invalidArgumentOf(() => readSignature(bytes));
    expect(error.rawMessage).toMatch(message);
  });
});

type TypeWriter = (type: BinaryWriter) => void;

/** A TypeProto.tensor_type with fixed dims. */
function tensorTypeOf(elemType: number, shape: readonly number[]): TypeWriter {
  return (type) => {
    type.tag(1, WireType.LengthDelimited).fork();
    type.tag(1, WireType.Varint).int32(elemType);
    type.tag(2, WireType.LengthDelimited).fork();
    for (const size of shape) type.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(size).join();
    type.join();
    type.join();
  };
}

/** A ValueInfoProto as GraphProto field `field` (11 input, 12 output). */
function writeValueInfo(writer: BinaryWriter, field: number, name: string, type: TypeWriter): void {
  writer.tag(field, WireType.LengthDelimited).fork();
  writer.tag(1, WireType.LengthDelimited).string(name);
  writer.tag(2, WireType.LengthDelimited).fork();
  type(writer);
  writer.join();
  writer.join();
}

function modelWithGraph(graph: Uint8Array): Uint8Array {
  return concat(fieldVarint(1, 8), fieldBytes(7, graph));
}

function fieldBytes(field: number, bytes: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(field, WireType.LengthDelimited).bytes(bytes).finish();
}

function fieldVarint(field: number, value: number): Uint8Array {
  return new BinaryWriter().tag(field, WireType.Varint).int64(value).finish();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
