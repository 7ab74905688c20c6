import { create } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { ConnectError, invalidArgument } from "../errors/index.js";
import { TensorProto_DataType } from "../gen/onnx/onnx_pb.js";
import {
  DataType,
  DimensionSchema,
  SignatureSchema,
  TensorSpecSchema,
  type Dimension,
  type Signature,
  type TensorSpec,
} from "../gen/tessera/registry/v1/signature_pb.js";

/**
 * Reads what a model takes and returns from its ONNX bytes.
 *
 * It walks the protobuf wire format and decodes only what a signature needs:
 * initializers (the weights, nearly all of a model's bytes) are stepped over
 * by length, and every sub-message is a view into `bytes`, so a 500 MB model
 * is neither copied nor decoded. Graph inputs that are also initializers are
 * weights listed as inputs (IR < 4), not inputs, and are left out.
 *
 * Throws INVALID_ARGUMENT ("not an ONNX model: …") for bytes that are not a
 * model, and ("unsupported ONNX model: …") for a model Tessera cannot serve:
 * no inputs or outputs, non-tensor values, element types outside the
 * registry's DataType, inputs of unknown rank. Outputs of unknown rank are
 * accepted with an empty shape, since only inputs are checked against it.
 */
export function readSignature(bytes: Uint8Array): Signature {
  if (bytes.length === 0) throw notModel("the file is empty");
  const foreign = foreignFormat(bytes);
  if (foreign !== undefined) throw notModel(`${foreign}; export it to ONNX first`);
  let model: RawModel;
  let graph: RawGraph;
  try {
    model = walkModel(bytes);
    if (model.graphs.length === 0) throw notModel("it has no graph (ModelProto field 7)");
    if (model.irVersion <= 0n) throw notModel("ir_version (ModelProto field 1) is missing");
    graph = walkGraph(model.graphs);
  } catch (error) {
    if (error instanceof ConnectError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw notModel(`the protobuf is malformed or truncated (${reason})`, error);
  }
  const inputs = graph.inputs.filter((value) => !graph.initializers.has(value.name));
  if (inputs.length === 0) throw unsupported("the graph has no inputs (or only weights listed as inputs)");
  if (graph.outputs.length === 0) throw unsupported("the graph has no outputs");
  return create(SignatureSchema, {
    inputs: toSpecs(inputs, "input"),
    outputs: toSpecs(graph.outputs, "output"),
    opset: model.opset,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
  });
}

/** A graph input or output as it was on the wire, not yet validated. */
interface RawValue {
  name: string;
  /** "tensor", or the kind of a non-tensor type ("sequence", "map", ...), or "none" when absent. */
  kind: string;
  elemType: number;
  /** undefined when the shape is absent (unknown rank). */
  shape: Dimension[] | undefined;
}

interface RawModel {
  irVersion: bigint;
  opset: bigint;
  producerName: string;
  producerVersion: string;
  /** ModelProto.graph occurrences; protobuf merges repeats, so all are walked. */
  graphs: Uint8Array[];
}

interface RawGraph {
  inputs: RawValue[];
  outputs: RawValue[];
  initializers: Set<string>;
}

// Field numbers from onnx.proto3 (see proto/onnx/onnx.proto).
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { initializer: 5, input: 11, output: 12, sparseInitializer: 15 } as const;
const TENSOR = { name: 8 } as const;
const SPARSE_TENSOR = { values: 1 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensor: 1, sequence: 4, map: 5, sparseTensor: 8, optional: 9 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIM = { value: 1, param: 2 } as const;

const nonTensorKinds: Record<number, string> = {
  [TYPE.sequence]: "sequence",
  [TYPE.map]: "map",
  [TYPE.sparseTensor]: "sparse tensor",
  [TYPE.optional]: "optional",
};

function walkModel(bytes: Uint8Array): RawModel {
  const model: RawModel = { irVersion: 0n, opset: 0n, producerName: "", producerVersion: "", graphs: [] };
  forEachField(bytes, "ModelProto", (reader, field, wireType) => {
    switch (field) {
      case MODEL.irVersion:
        expectWire(wireType, WireType.Varint, "ModelProto.ir_version");
        model.irVersion = BigInt(reader.int64());
        return true;
      case MODEL.producerName:
        expectWire(wireType, WireType.LengthDelimited, "ModelProto.producer_name");
        model.producerName = reader.string();
        return true;
      case MODEL.producerVersion:
        expectWire(wireType, WireType.LengthDelimited, "ModelProto.producer_version");
        model.producerVersion = reader.string();
        return true;
      case MODEL.graph:
        expectWire(wireType, WireType.LengthDelimited, "ModelProto.graph");
        model.graphs.push(reader.bytes());
        return true;
      case MODEL.opsetImport: {
        expectWire(wireType, WireType.LengthDelimited, "ModelProto.opset_import");
        const opset = walkOpset(reader.bytes());
        // ONNX's own operator set is domain "" or its alias "ai.onnx".
        if ((opset.domain === "" || opset.domain === "ai.onnx") && opset.version > model.opset) model.opset = opset.version;
        return true;
      }
      default:
        return false;
    }
  });
  return model;
}

function walkOpset(bytes: Uint8Array): { domain: string; version: bigint } {
  const opset = { domain: "", version: 0n };
  forEachField(bytes, "OperatorSetIdProto", (reader, field, wireType) => {
    if (field === OPSET.domain) {
      expectWire(wireType, WireType.LengthDelimited, "OperatorSetIdProto.domain");
      opset.domain = reader.string();
      return true;
    }
    if (field === OPSET.version) {
      expectWire(wireType, WireType.Varint, "OperatorSetIdProto.version");
      opset.version = BigInt(reader.int64());
      return true;
    }
    return false;
  });
  return opset;
}

function walkGraph(chunks: readonly Uint8Array[]): RawGraph {
  const graph: RawGraph = { inputs: [], outputs: [], initializers: new Set() };
  for (const chunk of chunks) {
    forEachField(chunk, "GraphProto", (reader, field, wireType) => {
      switch (field) {
        case GRAPH.input:
          expectWire(wireType, WireType.LengthDelimited, "GraphProto.input");
          graph.inputs.push(walkValueInfo(reader.bytes()));
          return true;
        case GRAPH.output:
          expectWire(wireType, WireType.LengthDelimited, "GraphProto.output");
          graph.outputs.push(walkValueInfo(reader.bytes()));
          return true;
        case GRAPH.initializer:
          expectWire(wireType, WireType.LengthDelimited, "GraphProto.initializer");
          graph.initializers.add(tensorName(reader.bytes()));
          return true;
        case GRAPH.sparseInitializer: {
          expectWire(wireType, WireType.LengthDelimited, "GraphProto.sparse_initializer");
          const values = sparseValues(reader.bytes());
          if (values !== undefined) graph.initializers.add(tensorName(values));
          return true;
        }
        default:
          return false;
      }
    });
  }
  return graph;
}

/** The name of a TensorProto, stepping over its data without reading it. */
function tensorName(bytes: Uint8Array): string {
  let name = "";
  forEachField(bytes, "TensorProto", (reader, field, wireType) => {
    if (field !== TENSOR.name) return false;
    expectWire(wireType, WireType.LengthDelimited, "TensorProto.name");
    name = reader.string();
    return true;
  });
  return name;
}

function sparseValues(bytes: Uint8Array): Uint8Array | undefined {
  let values: Uint8Array | undefined;
  forEachField(bytes, "SparseTensorProto", (reader, field, wireType) => {
    if (field !== SPARSE_TENSOR.values) return false;
    expectWire(wireType, WireType.LengthDelimited, "SparseTensorProto.values");
    values = reader.bytes();
    return true;
  });
  return values;
}

function walkValueInfo(bytes: Uint8Array): RawValue {
  const value: RawValue = { name: "", kind: "none", elemType: 0, shape: undefined };
  forEachField(bytes, "ValueInfoProto", (reader, field, wireType) => {
    if (field === VALUE_INFO.name) {
      expectWire(wireType, WireType.LengthDelimited, "ValueInfoProto.name");
      value.name = reader.string();
      return true;
    }
    if (field === VALUE_INFO.type) {
      expectWire(wireType, WireType.LengthDelimited, "ValueInfoProto.type");
      walkType(reader.bytes(), value);
      return true;
    }
    return false;
  });
  return value;
}

function walkType(bytes: Uint8Array, value: RawValue): void {
  forEachField(bytes, "TypeProto", (reader, field, wireType) => {
    if (field === TYPE.tensor) {
      expectWire(wireType, WireType.LengthDelimited, "TypeProto.tensor_type");
      value.kind = "tensor";
      walkTensorType(reader.bytes(), value);
      return true;
    }
    const kind = nonTensorKinds[field];
    if (kind === undefined) return false;
    value.kind = kind;
    return false;
  });
}

function walkTensorType(bytes: Uint8Array, value: RawValue): void {
  forEachField(bytes, "TypeProto.Tensor", (reader, field, wireType) => {
    if (field === TENSOR_TYPE.elemType) {
      expectWire(wireType, WireType.Varint, "TypeProto.Tensor.elem_type");
      value.elemType = reader.int32();
      return true;
    }
    if (field === TENSOR_TYPE.shape) {
      expectWire(wireType, WireType.LengthDelimited, "TypeProto.Tensor.shape");
      value.shape = walkShape(reader.bytes());
      return true;
    }
    return false;
  });
}

function walkShape(bytes: Uint8Array): Dimension[] {
  const dims: Dimension[] = [];
  forEachField(bytes, "TensorShapeProto", (reader, field, wireType) => {
    if (field !== SHAPE.dim) return false;
    expectWire(wireType, WireType.LengthDelimited, "TensorShapeProto.dim");
    dims.push(walkDim(reader.bytes()));
    return true;
  });
  return dims;
}

function walkDim(bytes: Uint8Array): Dimension {
  // A dimension with neither value nor param is unknown: dynamic, unnamed.
  let size = -1n;
  let name = "";
  forEachField(bytes, "TensorShapeProto.Dimension", (reader, field, wireType) => {
    if (field === DIM.value) {
      expectWire(wireType, WireType.Varint, "TensorShapeProto.Dimension.dim_value");
      // Some old exporters wrote -1 for "dynamic"; any negative size means that.
      const value = BigInt(reader.int64());
      size = value < 0n ? -1n : value;
      name = "";
      return true;
    }
    if (field === DIM.param) {
      expectWire(wireType, WireType.LengthDelimited, "TensorShapeProto.Dimension.dim_param");
      name = reader.string();
      size = -1n;
      return true;
    }
    return false;
  });
  return create(DimensionSchema, { size, name });
}

/**
 * Calls `visit` for each field of the message in `bytes`; a visitor that
 * does not read the field returns false and the field is skipped by length.
 */
function forEachField(
  bytes: Uint8Array,
  message: string,
  visit: (reader: BinaryReader, field: number, wireType: WireType) => boolean,
): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (wireType === WireType.EndGroup) throw new Error(`unexpected end-group tag in ${message}`);
    if (!visit(reader, field, wireType)) reader.skip(wireType, field);
  }
  if (reader.pos !== reader.len) throw new Error(`${message} runs past its end`);
}

function expectWire(actual: WireType, expected: WireType, field: string): void {
  if (actual !== expected) throw new Error(`${field} has wire type ${actual}, expected ${expected}`);
}

function toSpecs(values: readonly RawValue[], role: "input" | "output"): TensorSpec[] {
  const seen = new Set<string>();
  return values.map((value, index) => {
    const label = value.name === "" ? `${role} #${index}` : `${role} '${value.name}'`;
    if (value.name === "") throw notModel(`${label} has no name`);
    if (seen.has(value.name)) throw notModel(`${label} is listed twice`);
    seen.add(value.name);
    if (value.kind === "none") throw notModel(`${label} has no type`);
    if (value.kind !== "tensor") throw unsupported(`${label} is a ${value.kind}; Tessera serves tensor inputs and outputs only`);
    if (value.elemType === 0) throw notModel(`${label} has no element type`);
    const dtype = toDataType(value.elemType);
    if (dtype === undefined) {
      throw unsupported(
        `${label} has element type ${elemTypeName(value.elemType)}; supported: ${supportedTypeNames}. ` +
          "Cast it to one of those when exporting",
      );
    }
    if (value.shape === undefined && role === "input") {
      throw unsupported(`${label} has no shape (unknown rank); export the model with input shapes`);
    }
    return create(TensorSpecSchema, { name: value.name, dtype, shape: value.shape ?? [] });
  });
}

/** ONNX element types 1..13 have the same numbers in the registry's DataType. */
function toDataType(elemType: number): DataType | undefined {
  return elemType >= DataType.FLOAT32 && elemType <= DataType.UINT64 ? (elemType as DataType) : undefined;
}

function elemTypeName(elemType: number): string {
  const name = TensorProto_DataType[elemType];
  return name === undefined ? `${elemType} (unknown)` : `${name} (${elemType})`;
}

const supportedTypeNames = Array.from({ length: DataType.UINT64 }, (_, i) => TensorProto_DataType[i + 1]).join(", ");

/** @internal Recognizes files people upload by mistake, to say what they are. */
export function foreignFormat(bytes: Uint8Array): string | undefined {
  const starts = (magic: readonly number[]) => magic.every((byte, i) => bytes[i] === byte);
  if (starts([0x50, 0x4b, 0x03, 0x04])) return "this is a zip archive (a PyTorch .pt/.pth or Keras .keras file?)";
  if (starts([0x89, 0x48, 0x44, 0x46])) return "this is an HDF5 file (a Keras .h5 model?)";
  if (bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === "TFL3") {
    return "this is a TensorFlow Lite model";
  }
  return undefined;
}

/** @internal */
export function notModel(reason: string, cause?: unknown): ConnectError {
  return invalidArgument(`not an ONNX model: ${reason}`, cause);
}

function unsupported(reason: string): ConnectError {
  return invalidArgument(`unsupported ONNX model: ${reason}`);
}
