import { create, toBinary } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "../gen/onnx/onnx_pb.js";

/**
 * The ONNX versions models are built for: IR 8 with opset 17 loads in every
 * onnxruntime since 1.13 and in current converters.
 */
export const BUILT_IR_VERSION = 8n;
export const BUILT_OPSET = 17n;

/** A dimension: a fixed size, or a symbolic (dynamic) name such as "batch". */
export type DimSpec = number | string;

/** A graph input or output of tensor type. */
export function tensorValue(name: string, elemType: TensorProto_DataType, dims: readonly DimSpec[]): ValueInfoProto {
  const dim = dims.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === "number" ? { case: "dimValue", value: BigInt(d) } : { case: "dimParam", value: d },
    }),
  );
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: "tensorType",
        value: create(TypeProto_TensorSchema, { elemType, shape: create(TensorShapeProtoSchema, { dim }) }),
      },
    }),
  });
}

/** A float32 constant, stored as little-endian raw_data (the compact form). */
export function float32Initializer(name: string, dims: readonly number[], values: Float32Array): TensorProto {
  checkElementCount(name, dims, values.length);
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
  return create(TensorProtoSchema, {
    name,
    dims: dims.map(BigInt),
    dataType: TensorProto_DataType.FLOAT,
    rawData: raw,
  });
}

/** An int64 constant, stored as little-endian raw_data. */
export function int64Initializer(name: string, dims: readonly number[], values: BigInt64Array): TensorProto {
  checkElementCount(name, dims, values.length);
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, values[i] ?? 0n, true);
  return create(TensorProtoSchema, {
    name,
    dims: dims.map(BigInt),
    dataType: TensorProto_DataType.INT64,
    rawData: raw,
  });
}

/** Node attribute values this builder can write. */
export type AttributeValue = number | bigint | string | readonly bigint[];

/**
 * One operator application. Numbers become FLOAT attributes and bigints INT
 * ones, so `{ transB: 1n }` is the integer attribute ONNX's Gemm expects.
 */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  options: { name?: string; attributes?: Record<string, AttributeValue> } = {},
): NodeProto {
  const attribute = Object.entries(options.attributes ?? {}).map(([name, value]) => attributeOf(name, value));
  return create(NodeProtoSchema, {
    opType,
    input: [...inputs],
    output: [...outputs],
    name: options.name ?? "",
    attribute,
  });
}

export interface ModelOptions {
  /** Graph name. */
  name: string;
  inputs: readonly ValueInfoProto[];
  outputs: readonly ValueInfoProto[];
  nodes: readonly NodeProto[];
  initializers?: readonly TensorProto[];
  docString?: string;
  /** Extra metadata_props; written in key order so bytes do not depend on insertion order. */
  metadata?: Record<string, string>;
  /** Default "tessera". */
  producerName?: string;
  /** Default "1". */
  producerVersion?: string;
  /** Default BUILT_OPSET (17). */
  opset?: bigint;
}

/**
 * Serializes a ModelProto. The output depends only on the options (no
 * timestamps, sorted metadata), so building twice gives the same bytes.
 */
export function buildModel(options: ModelOptions): Uint8Array {
  const metadataProps = Object.keys(options.metadata ?? {})
    .sort()
    .map((key) => create(StringStringEntryProtoSchema, { key, value: options.metadata?.[key] ?? "" }));
  const model = create(ModelProtoSchema, {
    irVersion: BUILT_IR_VERSION,
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: options.opset ?? BUILT_OPSET })],
    producerName: options.producerName ?? "tessera",
    producerVersion: options.producerVersion ?? "1",
    domain: "dev.tessera.examples",
    modelVersion: 1n,
    docString: options.docString ?? "",
    metadataProps,
    graph: create(GraphProtoSchema, {
      name: options.name,
      node: [...options.nodes],
      initializer: [...(options.initializers ?? [])],
      input: [...options.inputs],
      output: [...options.outputs],
    }),
  });
  return toBinary(ModelProtoSchema, model);
}

function attributeOf(name: string, value: AttributeValue): AttributeProto {
  if (typeof value === "bigint") return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: value });
  if (typeof value === "number") return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: value });
  if (typeof value === "string") {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(value) });
  }
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: [...value] });
}

function checkElementCount(name: string, dims: readonly number[], length: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length) {
    throw new RangeError(`initializer ${name}: dims [${dims.join(", ")}] hold ${expected} elements, got ${length}`);
  }
}
