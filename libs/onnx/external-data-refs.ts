import { posix } from "node:path";
import { notModel } from "./read-signature.js";
import type { GraphProto, ModelProto, SparseTensorProto, TensorProto } from "../gen/onnx/onnx_pb.js";

/** TensorProto.DataLocation EXTERNAL: the tensor's bytes are in a file beside the model. */
const EXTERNAL = 1;

/** onnxruntime's marker for data already in memory (a location that names no file). */
const ORT_MEMORY_LOCATION = "*/_ORT_MEM_ADDR_/*";

/** A tensor stored outside the model file (ONNX external data). */
export interface ExternalDataRef {
  tensor: string;
  /** The file, relative to the model file's folder, normalized ("./w.bin" is "w.bin"). */
  location: string;
  offset: bigint;
  /** Bytes; undefined when the model does not say (the rest of the file). */
  length: bigint | undefined;
}

/**
 * Every external tensor of a model: graph initializers, sparse ones, node
 * attributes (a Constant's value) and subgraphs (If/Loop bodies), in file
 * order. INVALID_ARGUMENT ("not an ONNX model") when one has no location,
 * a location outside the model's folder, or an offset or length that is no
 * number: onnxruntime could not load it either.
 */
export function externalDataOf(model: ModelProto): ExternalDataRef[] {
  const refs: ExternalDataRef[] = [];
  if (model.graph) visitGraph(model.graph, refs);
  return refs;
}

function visitGraph(graph: GraphProto, refs: ExternalDataRef[]): void {
  for (const tensor of graph.initializer) visitTensor(tensor, refs);
  for (const sparse of graph.sparseInitializer) visitSparse(sparse, refs);
  for (const node of graph.node) {
    for (const attribute of node.attribute) {
      if (attribute.t) visitTensor(attribute.t, refs);
      for (const tensor of attribute.tensors) visitTensor(tensor, refs);
      if (attribute.sparseTensor) visitSparse(attribute.sparseTensor, refs);
      for (const sparse of attribute.sparseTensors) visitSparse(sparse, refs);
      if (attribute.g) visitGraph(attribute.g, refs);
      for (const sub of attribute.graphs) visitGraph(sub, refs);
    }
  }
}

function visitSparse(sparse: SparseTensorProto, refs: ExternalDataRef[]): void {
  if (sparse.values) visitTensor(sparse.values, refs);
  if (sparse.indices) visitTensor(sparse.indices, refs);
}

function visitTensor(tensor: TensorProto, refs: ExternalDataRef[]): void {
  if (tensor.dataLocation !== EXTERNAL) return;
  const entries = new Map(tensor.externalData.map((entry) => [entry.key, entry.value]));
  const what = `tensor "${tensor.name}"`;
  const location = entries.get("location");
  if (location === undefined || location === "") throw notModel(`${what} is stored externally but names no "location"`);
  if (location === ORT_MEMORY_LOCATION) return;
  refs.push({ tensor: tensor.name, location: normalizeLocation(location, what), offset: integer(entries.get("offset"), "offset", what) ?? 0n, length: integer(entries.get("length"), "length", what) });
}

function normalizeLocation(location: string, what: string): string {
  // Kept as onnxruntime reads it on Linux: '\\' is part of a file name there, not a separator.
  const normal = posix.normalize(location);
  if (posix.isAbsolute(normal) || /^[A-Za-z]:/.test(normal) || normal === ".." || normal.startsWith("../")) {
    throw notModel(`${what} names external data "${location}" outside the model's folder; re-export the model with its data files beside it`);
  }
  return normal;
}

function integer(value: string | undefined, key: string, what: string): bigint | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value)) throw notModel(`${what} has external data ${key} "${value}", not a whole number`);
  return BigInt(value);
}
