import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { Signature } from "../gen/tessera/registry/v1/signature_pb.js";
import { foreignFormat, notModel, readSignature } from "./read-signature.js";

// Field numbers from onnx.proto3, as in read-signature.ts: only what a signature needs is kept.
const MODEL_KEEP = new Set([1, 2, 3, 8]); // ir_version, producer_name, producer_version, opset_import
const MODEL_GRAPH = 7;
const GRAPH_KEEP = new Set([11, 12]); // input, output
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const TENSOR_NAME = 8;
const SPARSE_VALUES = 1;

/** A kept field larger than this is not a signature's: refuse rather than buffer it. */
const MAX_KEPT_FIELD_BYTES = 16 * 1024 * 1024;

type Level = "model" | "graph" | "tensor" | "sparse";

/**
 * readSignature() for a model that arrives as a stream (an artifact read
 * back from the object store): one pass that keeps only the fields a
 * signature needs (graph inputs and outputs, initializer names, opsets) and
 * steps over everything else — the weights — by length, so memory stays
 * about one chunk whatever the model's size. The kept fields form a small
 * ModelProto that readSignature() then reads, with the same errors.
 */
export async function readSignatureFromStream(source: AsyncIterable<Uint8Array>): Promise<Signature> {
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
  return readSignature(reader.position === 0 ? new Uint8Array(0) : skeleton);
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
        const child = childLevel(level, field);
        if (child !== undefined) {
          out.tag(field, 2).bytes(await walk(reader, child, fieldEnd));
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

function childLevel(level: Level, field: number): Level | undefined {
  if (level === "model" && field === MODEL_GRAPH) return "graph";
  if (level === "graph" && field === GRAPH_INITIALIZER) return "tensor";
  if (level === "graph" && field === GRAPH_SPARSE_INITIALIZER) return "sparse";
  if (level === "sparse" && field === SPARSE_VALUES) return "tensor";
  return undefined;
}

function keeps(level: Level, field: number): boolean {
  if (level === "model") return MODEL_KEEP.has(field);
  if (level === "graph") return GRAPH_KEEP.has(field);
  if (level === "tensor") return field === TENSOR_NAME;
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
