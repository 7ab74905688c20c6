import { fromBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { ModelProtoSchema } from "../gen/onnx/onnx_pb.js";
import type { Signature } from "../gen/tessera/registry/v1/signature_pb.js";
import { externalDataOf, type ExternalDataRef } from "./external-data-refs.js";
import { foreignFormat, notModel, readSignature } from "./read-signature.js";

// Field numbers from onnx.proto3, as in read-signature.ts: only what a signature
// and the external data references need is kept.
const MODEL_KEEP = new Set([1, 2, 3, 8]); // ir_version, producer_name, producer_version, opset_import
const GRAPH_KEEP = new Set([11, 12]); // input, output
const TENSOR_KEEP = new Set([8, 13, 14]); // name, external_data, data_location

/** Where each message's sub-messages lead: field number to the level walked inside it. */
const CHILDREN: Record<Level, Record<number, Level>> = {
  model: { 7: "graph" },
  // node, initializer, sparse_initializer
  graph: { 1: "node", 5: "tensor", 15: "sparse" },
  subgraph: { 1: "node", 5: "tensor", 15: "sparse" },
  node: { 5: "attribute" },
  // t, g, tensors, graphs, sparse_tensor, sparse_tensors: a Constant's value or an If/Loop body
  attribute: { 5: "tensor", 6: "subgraph", 10: "tensor", 11: "subgraph", 22: "sparse", 23: "sparse" },
  sparse: { 1: "tensor", 2: "tensor" }, // values, indices
  tensor: {},
};

/** Levels whose messages are left out of the skeleton when nothing inside them was kept (most nodes). */
const DROP_EMPTY = new Set<Level>(["node", "attribute", "subgraph"]);

/** A kept field larger than this is not a signature's: refuse rather than buffer it. */
const MAX_KEPT_FIELD_BYTES = 16 * 1024 * 1024;

type Level = "model" | "graph" | "subgraph" | "node" | "attribute" | "tensor" | "sparse";

/** What the registry reads from an uploaded model without holding its weights. */
export interface ModelOutline {
  signature: Signature;
  /** Every tensor stored outside the model file, with where. */
  externalData: ExternalDataRef[];
}

/**
 * readSignature() for a model that arrives as a stream (an artifact read
 * back from the object store): one pass that keeps only the fields a
 * signature needs (graph inputs and outputs, initializer names, opsets) and
 * steps over everything else — the weights — by length, so memory stays
 * about one chunk whatever the model's size. The kept fields form a small
 * ModelProto that readSignature() then reads, with the same errors.
 */
export async function readSignatureFromStream(source: AsyncIterable<Uint8Array>): Promise<Signature> {
  return (await readModelFromStream(source)).signature;
}

/**
 * readSignatureFromStream() that also lists the model's external data: the
 * tensors (initializers, a node's constant, a subgraph's) whose
 * data_location is EXTERNAL, with the file each names. Same memory bound:
 * those fields are kept, the weights are still stepped over.
 */
export async function readModelFromStream(source: AsyncIterable<Uint8Array>): Promise<ModelOutline> {
  const reader = new StreamReader(source);
  let skeleton: Uint8Array;
  try {
    skeleton = await walk(reader, "model", Number.POSITIVE_INFINITY);
  } catch (error) {
    await reader.fillHead();
    const foreign = foreignFormat(reader.head);
    if (foreign !== undefined) throw notModel(`${foreign}; export it to ONNX first`);
    const reason = error instanceof Error ? error.message : String(error);
    throw notModel(`the protobuf is malformed or truncated (${reason})`, error);
  } finally {
    await reader.close();
  }
  // Name what the file is when it is something else (a zip, HDF5, ...), as readSignature() does.
  const foreign = foreignFormat(reader.head);
  if (foreign !== undefined) throw notModel(`${foreign}; export it to ONNX first`);
  const signature = readSignature(reader.position === 0 ? new Uint8Array(0) : skeleton);
  let externalData: ExternalDataRef[];
  try {
    externalData = externalDataOf(fromBinary(ModelProtoSchema, skeleton));
  } catch (error) {
    if (error instanceof Error && "code" in error) throw error;
    throw notModel(`its external data fields are malformed (${error instanceof Error ? error.message : String(error)})`, error);
  }
  return { signature, externalData };
}

async function walk(reader: StreamReader, level: Level, end: number): Promise<Uint8Array> {
  const out = new BinaryWriter();
  while (reader.position < end) {
    if (end === Number.POSITIVE_INFINITY && !(await reader.more())) break;
    const tag = await reader.varint();
    const field = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (field === 0) throw new Error(`field number 0 at byte ${reader.position}`);
    switch (wireType) {
      case 0: {
        const value = await reader.varint();
        if (keeps(level, field)) out.tag(field, 0).uint64(value);
        break;
      }
      case 1:
        await reader.skip(8);
        break;
      case 5:
        await reader.skip(4);
        break;
      case 2: {
        const length = Number(await reader.varint());
        const fieldEnd = reader.position + length;
        if (fieldEnd > end) throw new Error(`a field at byte ${reader.position} runs past its message`);
        const child = CHILDREN[level][field];
        if (child !== undefined) {
          const kept = await walk(reader, child, fieldEnd);
          if (kept.byteLength > 0 || !DROP_EMPTY.has(child)) out.tag(field, 2).bytes(kept);
        } else if (keeps(level, field)) {
          if (length > MAX_KEPT_FIELD_BYTES) throw new Error(`field ${field} is ${length} bytes, too large for a signature field`);
          out.tag(field, 2).bytes(await reader.take(length));
        } else {
          await reader.skip(length);
        }
        break;
      }
      default:
        throw new Error(`wire type ${wireType} (groups are not used by ONNX) at byte ${reader.position}`);
    }
  }
  if (reader.position !== end && end !== Number.POSITIVE_INFINITY) throw new Error("a message runs past its end");
  return out.finish();
}

function keeps(level: Level, field: number): boolean {
  if (level === "model") return MODEL_KEEP.has(field);
  if (level === "graph") return GRAPH_KEEP.has(field);
  if (level === "tensor") return TENSOR_KEEP.has(field);
  return false;
}

/** Bytes of an async source read in order, with the position counted; only the current chunk is held. */
class StreamReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private offset = 0;
  private done = false;
  position = 0;
  /** The first bytes, to recognize a foreign file format. */
  head = new Uint8Array(0);

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** False at the end of the source. */
  async more(): Promise<boolean> {
    while (this.offset >= this.chunk.byteLength) {
      if (this.done) return false;
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      this.chunk = next.value;
      this.offset = 0;
      if (this.head.byteLength < 16) {
        const head = new Uint8Array(Math.min(16, this.head.byteLength + next.value.byteLength));
        head.set(this.head);
        head.set(next.value.subarray(0, head.byteLength - this.head.byteLength), this.head.byteLength);
        this.head = head;
      }
    }
    return true;
  }

  /** Reads on (dropping what it reads) until the head is complete: after a parse error. */
  async fillHead(): Promise<void> {
    while (this.head.byteLength < 16 && !this.done) {
      this.offset = this.chunk.byteLength;
      await this.more();
    }
  }

  async byte(): Promise<number> {
    if (!(await this.more())) throw new Error(`the file ends at byte ${this.position}, inside a field`);
    this.position++;
    return this.chunk[this.offset++]!;
  }

  async varint(): Promise<bigint> {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = await this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Error(`a varint at byte ${this.position} is longer than 10 bytes`);
  }

  async take(length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (!(await this.more())) throw new Error(`the file ends at byte ${this.position}, inside a field`);
      const n = Math.min(length - filled, this.chunk.byteLength - this.offset);
      out.set(this.chunk.subarray(this.offset, this.offset + n), filled);
      filled += n;
      this.offset += n;
      this.position += n;
    }
    return out;
  }

  async skip(length: number): Promise<void> {
    let left = length;
    while (left > 0) {
      if (!(await this.more())) throw new Error(`the file ends at byte ${this.position}, inside a field`);
      const n = Math.min(left, this.chunk.byteLength - this.offset);
      left -= n;
      this.offset += n;
      this.position += n;
    }
  }

  async close(): Promise<void> {
    if (!this.done) await this.iterator.return?.();
  }
}
