import { fromBinary, mergeFromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { NATIVE_LITTLE_ENDIAN } from "../dtypes/index.js";
import { compilePlan, DEFAULT_MIN_TYPED_BYTES, type PlanNode, type TypedField, type TypedFieldPlan, type TypedFieldsOptions } from "./typed-fields.js";

type Values = Float32Array | Float64Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;
type Message = Record<string, unknown>;

// protobuf-es's own limit, so a planned path nests no deeper than it would.
const RECURSION_LIMIT = 100;

/**
 * A decoder for `schema` that reads the plan's fields into typed arrays and
 * everything else with protobuf-es. It walks the message's records: a
 * planned field is decoded here (packed or not, occurrences appended), a
 * message field leading to planned fields is decoded by recursion (a
 * singular one seen twice is merged, as the protobuf rules ask), and each
 * run of other records goes to mergeFromBinary, which is the same as
 * decoding their concatenation (unknown fields included). Throws on bytes
 * that are not a valid message, as fromBinary does. A message shorter than
 * `minTypedBytes` is fromBinary's alone.
 */
export function typedDecoder<Desc extends DescMessage>(
  schema: Desc,
  plan: TypedFieldPlan,
  options: TypedFieldsOptions = {},
): (bytes: Uint8Array) => MessageShape<Desc> {
  const root = compilePlan(schema, plan);
  const littleEndian = options.littleEndian ?? NATIVE_LITTLE_ENDIAN;
  const minBytes = options.minTypedBytes ?? DEFAULT_MIN_TYPED_BYTES;
  if (root === undefined) return (bytes) => fromBinary(schema, bytes);
  return (bytes) => {
    if (bytes.byteLength < minBytes) return fromBinary(schema, bytes);
    const message = root.zero();
    decodeInto(root, message, bytes, littleEndian, 1);
    return message as unknown as MessageShape<Desc>;
  };
}

function decodeInto(node: PlanNode, target: Message, bytes: Uint8Array, littleEndian: boolean, depth: number): void {
  if (depth > RECURSION_LIMIT) throw new Error(`cannot decode ${node.schema.toString()} from binary: maximum recursion depth of ${RECURSION_LIMIT} reached`);
  const reader = new BinaryReader(bytes);
  let collected: Map<TypedField, Values[]> | undefined;
  let runStart = -1;
  const endRun = (end: number) => {
    if (runStart < 0) return;
    mergeFromBinary(node.schema, target as MessageShape<DescMessage>, bytes.subarray(runStart, end));
    runStart = -1;
  };
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [fieldNo, wireType] = reader.tag();
    const typed = node.typed.get(fieldNo);
    if (typed !== undefined) {
      endRun(start);
      collected ??= new Map();
      const chunks = collected.get(typed) ?? [];
      chunks.push(readValues(typed, reader, wireType, littleEndian));
      collected.set(typed, chunks);
      continue;
    }
    const child = node.children.get(fieldNo);
    if (child !== undefined) {
      endRun(start);
      if (wireType !== WireType.LengthDelimited) throw wrongWireType(child.node.schema.toString(), fieldNo, wireType);
      const piece = reader.bytes();
      if (child.repeated) {
        const item = child.node.zero();
        decodeInto(child.node, item, piece, littleEndian, depth + 1);
        (target[child.localName] as Message[]).push(item);
      } else {
        const item = (target[child.localName] as Message | undefined) ?? child.node.zero();
        decodeInto(child.node, item, piece, littleEndian, depth + 1);
        target[child.localName] = item;
      }
      continue;
    }
    reader.skip(wireType, fieldNo);
    if (runStart < 0) runStart = start;
  }
  endRun(reader.len);
  if (collected === undefined) return;
  for (const [typed, chunks] of collected) {
    const earlier = target[typed.localName] as ArrayLike<unknown>;
    // A singular parent seen twice: its first piece already filled the field.
    if (earlier.length > 0) chunks.unshift(earlier as Values);
    target[typed.localName] = chunks.length === 1 ? chunks[0] : concat(typed, chunks);
  }
}

/** One record of a planned field: a packed run, or one element. */
function readValues(typed: TypedField, reader: BinaryReader, wireType: WireType, littleEndian: boolean): Values {
  if (wireType === WireType.LengthDelimited) {
    const bytes = reader.bytes();
    return typed.elementWireType === WireType.Varint ? varints(typed, bytes, littleEndian) : fixed(typed, bytes, littleEndian);
  }
  if (wireType !== typed.elementWireType) throw wrongWireType(typed.field.toString(), typed.field.number, wireType);
  const bytes = reader.skip(wireType, typed.field.number);
  // Unpacked (one element per record) is rare: a typed array per element, joined at the end.
  return typed.elementWireType === WireType.Varint ? varints(typed, bytes, littleEndian) : fixed(typed, bytes, littleEndian);
}

/** Packed floats or doubles: one byte copy on a little-endian host. */
function fixed(typed: TypedField, bytes: Uint8Array, littleEndian: boolean): Float32Array | Float64Array {
  const size = typed.kind === "float" ? 4 : 8;
  if (bytes.byteLength % size !== 0) throw new Error(`invalid packed ${typed.kind} field ${typed.field.toString()}: ${bytes.byteLength} bytes is not a whole number of values`);
  const n = bytes.byteLength / size;
  const out = typed.kind === "float" ? new Float32Array(n) : new Float64Array(n);
  if (littleEndian) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (typed.kind === "float") for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  else for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

/** Packed varints. 64-bit ones are assembled from two 32-bit halves: no bigint per element. */
function varints(typed: TypedField, bytes: Uint8Array, littleEndian: boolean): Int32Array | Uint32Array | BigInt64Array | BigUint64Array {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! < 0x80) n++;
  if (bytes.length > 0 && bytes[bytes.length - 1]! >= 0x80) throw new Error("premature EOF");
  const halves = new Uint32Array(2);
  let pos = 0;
  switch (typed.kind) {
    case "int32":
    case "uint32": {
      const out = typed.kind === "int32" ? new Int32Array(n) : new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        pos = readVarint(bytes, pos, halves);
        out[i] = halves[0]!;
      }
      return out;
    }
    default: {
      const out = typed.kind === "int64" ? new BigInt64Array(n) : new BigUint64Array(n);
      if (littleEndian) {
        // Each element's halves go in place.
        const words = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) {
          pos = readVarint(bytes, pos, halves);
          words[2 * i] = halves[0]!;
          words[2 * i + 1] = halves[1]!;
        }
      } else {
        const signed = typed.kind === "int64";
        for (let i = 0; i < n; i++) {
          pos = readVarint(bytes, pos, halves);
          const value = (BigInt(halves[1]!) << 32n) | BigInt(halves[0]!);
          out[i] = signed ? BigInt.asIntN(64, value) : value;
        }
      }
      return out;
    }
  }
}

/** Reads the varint at `pos` into halves [low 32 bits, high 32 bits]; returns the position after it. */
function readVarint(bytes: Uint8Array, pos: number, halves: Uint32Array): number {
  let lo = 0;
  let hi = 0;
  for (let shift = 0; shift < 64; shift += 7) {
    const b = bytes[pos++];
    if (b === undefined) throw new Error("premature EOF");
    const bits = b & 0x7f;
    if (shift < 28) lo |= bits << shift;
    else if (shift === 28) {
      lo |= (bits & 0x0f) << 28;
      hi = bits >>> 4;
    } else hi |= bits << (shift - 32);
    if (b < 0x80) {
      halves[0] = lo;
      halves[1] = hi;
      return pos;
    }
  }
  throw new Error("invalid varint");
}

function concat(typed: TypedField, chunks: Values[]): Values {
  const out = typedArray(typed, chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    // Every chunk has the field's own typed array type.
    (out as unknown as Uint8Array).set(chunk as unknown as Uint8Array, at);
    at += chunk.length;
  }
  return out;
}

function typedArray(typed: TypedField, n: number): Values {
  switch (typed.kind) {
    case "float":
      return new Float32Array(n);
    case "double":
      return new Float64Array(n);
    case "int32":
      return new Int32Array(n);
    case "uint32":
      return new Uint32Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "uint64":
      return new BigUint64Array(n);
  }
}

function wrongWireType(what: string, fieldNo: number, wireType: WireType): Error {
  return new Error(`cannot decode field ${what} (no ${fieldNo}) from binary: unexpected wire type ${wireType}`);
}
