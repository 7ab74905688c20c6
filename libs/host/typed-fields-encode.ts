import { toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { NATIVE_LITTLE_ENDIAN } from "../dtypes/index.js";
import { compilePlan, DEFAULT_MIN_TYPED_ELEMENTS, type PlanNode, type TypedField, type TypedFieldPlan, type TypedFieldsOptions } from "./typed-fields.js";

type Message = Record<string, unknown>;

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * An encoder for `schema` that writes the plan's fields itself, packed: a
 * Float32Array or Float64Array in one byte copy (little-endian host),
 * integers as varints straight from their typed array (64-bit ones from
 * their two 32-bit halves, no bigint per element); plain arrays work too.
 * The rest of each message is protobuf-es's toBinary. Fields come out in
 * another order than toBinary's, which protobuf allows: any decoder reads
 * the same message. Fields with fewer than `minTypedElements` values are
 * left to toBinary (which takes a typed array too), and so is a message
 * with no larger one.
 */
export function typedEncoder<Desc extends DescMessage>(
  schema: Desc,
  plan: TypedFieldPlan,
  options: TypedFieldsOptions = {},
): (message: MessageShape<Desc>) => Uint8Array {
  const root = compilePlan(schema, plan);
  const littleEndian = options.littleEndian ?? NATIVE_LITTLE_ENDIAN;
  const minElements = Math.max(1, options.minTypedElements ?? DEFAULT_MIN_TYPED_ELEMENTS);
  if (root === undefined) return (message) => toBinary(schema, message);
  return (message) => {
    if (!hasLargeField(root, message as unknown as Message, minElements)) return toBinary(schema, message);
    const parts: Uint8Array[] = [];
    const length = encodeParts(root, message as unknown as Message, parts, littleEndian, minElements);
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.byteLength;
    }
    return out;
  };
}

/** Appends the message's encoding to `parts` as pieces to join; returns their length. */
function encodeParts(node: PlanNode, message: Message, parts: Uint8Array[], littleEndian: boolean, minElements: number): number {
  // The rest: protobuf-es writes the message with its planned and recursed fields
  // emptied for the moment (and put back at once: a copy of the message cost more).
  const saved: unknown[] = [];
  for (const typed of node.typed.values()) {
    const values = message[typed.localName] as ArrayLike<unknown>;
    // A short one stays in the message for toBinary.
    saved.push(values.length >= minElements ? values : EMPTY);
    if (values.length >= minElements) message[typed.localName] = EMPTY;
  }
  for (const child of node.children.values()) {
    const value = message[child.localName];
    saved.push(value);
    if (value !== undefined) message[child.localName] = child.repeated ? EMPTY : undefined;
  }
  let restBytes: Uint8Array;
  try {
    restBytes = toBinary(node.schema, message as MessageShape<DescMessage>);
  } finally {
    let i = 0;
    for (const typed of node.typed.values()) {
      const values = saved[i++];
      if (values !== EMPTY) message[typed.localName] = values;
    }
    for (const child of node.children.values()) {
      const value = saved[i++];
      if (value !== undefined) message[child.localName] = value;
    }
  }
  let length = restBytes.byteLength;
  if (length > 0) parts.push(restBytes);
  let index = 0;
  for (const typed of node.typed.values()) {
    const values = saved[index++] as ArrayLike<number | bigint>;
    if (values.length === 0) continue;
    const body = typedBody(typed, values, littleEndian);
    const header = lengthHeader(typed.field.number, body.byteLength);
    parts.push(header, body);
    length += header.byteLength + body.byteLength;
  }
  for (const [fieldNo, child] of node.children) {
    const value = saved[index++] as Message | Message[] | undefined;
    if (value === undefined) continue;
    for (const item of child.repeated ? (value as Message[]) : [value as Message]) {
      const own: Uint8Array[] = [];
      const itemLength = encodeParts(child.node, item, own, littleEndian, minElements);
      const header = lengthHeader(fieldNo, itemLength);
      parts.push(header, ...own);
      length += header.byteLength + itemLength;
    }
  }
  return length;
}

/** Whether any planned field under `message` holds at least `minElements` values. */
function hasLargeField(node: PlanNode, message: Message, minElements: number): boolean {
  for (const typed of node.typed.values()) if ((message[typed.localName] as ArrayLike<unknown>).length >= minElements) return true;
  for (const child of node.children.values()) {
    const value = message[child.localName] as Message | Message[] | undefined;
    if (value === undefined) continue;
    if (child.repeated ? (value as Message[]).some((item) => hasLargeField(child.node, item, minElements)) : hasLargeField(child.node, value as Message, minElements)) return true;
  }
  return false;
}

/** The packed body of a planned field. */
function typedBody(typed: TypedField, values: ArrayLike<number | bigint>, littleEndian: boolean): Uint8Array {
  switch (typed.kind) {
    case "float":
    case "double": {
      const size = typed.kind === "float" ? 4 : 8;
      const own = typed.kind === "float" ? values instanceof Float32Array : values instanceof Float64Array;
      if (own && littleEndian) {
        // A view of the array's own bytes: the one copy is the join into the frame.
        const array = values as Float32Array | Float64Array;
        return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      }
      const out = new Uint8Array(values.length * size);
      const view = new DataView(out.buffer);
      const n = values.length;
      if (size === 4) for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i] as number, true);
      else for (let i = 0; i < n; i++) view.setFloat64(i * 8, values[i] as number, true);
      return out;
    }
    case "int32":
    case "uint32":
      return varints32(values as ArrayLike<number>, typed.kind === "int32");
    case "int64":
    case "uint64":
      return varints64(values, littleEndian);
  }
}

function varints32(values: ArrayLike<number>, signed: boolean): Uint8Array {
  const n = values.length;
  let size = 0;
  // A negative int32 is sign-extended to 64 bits on the wire: ten bytes.
  for (let i = 0; i < n; i++) size += signed && values[i]! < 0 ? 10 : varintSize(values[i]! >>> 0, 0);
  const out = new Uint8Array(size);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    pos = signed && v < 0 ? writeVarint(out, pos, v >>> 0, 0xffffffff) : writeVarint(out, pos, v >>> 0, 0);
  }
  return out;
}

/** 64-bit varints from a BigInt64Array/BigUint64Array's 32-bit halves, or from bigints one by one. */
function varints64(values: ArrayLike<number | bigint>, littleEndian: boolean): Uint8Array {
  const n = values.length;
  const typedArray = values instanceof BigInt64Array || values instanceof BigUint64Array;
  let words: Uint32Array;
  if (typedArray && littleEndian) words = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  else {
    words = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const v = BigInt(values[i]!);
      words[2 * i] = Number(BigInt.asUintN(32, v));
      words[2 * i + 1] = Number(BigInt.asUintN(32, v >> 32n));
    }
  }
  let size = 0;
  for (let i = 0; i < n; i++) size += varintSize(words[2 * i]!, words[2 * i + 1]!);
  const out = new Uint8Array(size);
  let pos = 0;
  for (let i = 0; i < n; i++) pos = writeVarint(out, pos, words[2 * i]!, words[2 * i + 1]!);
  return out;
}

function lengthHeader(fieldNo: number, length: number): Uint8Array {
  const tag = ((fieldNo << 3) | 2) >>> 0;
  const out = new Uint8Array(varintSize(tag, 0) + varintSize(length, 0));
  writeVarint(out, writeVarint(out, 0, tag, 0), length, 0);
  return out;
}

/** Bytes of the varint of the unsigned 64-bit value hi·2^32 + lo. */
function varintSize(lo: number, hi: number): number {
  if (hi === 0) {
    if (lo < 0x80) return 1;
    if (lo < 0x4000) return 2;
    if (lo < 0x200000) return 3;
    if (lo < 0x10000000) return 4;
    return 5;
  }
  // 32 bits of lo, then 7 per byte for hi's bits.
  const bits = 64 - Math.clz32(hi);
  return Math.ceil(bits / 7);
}

/** Writes the varint of hi·2^32 + lo (both uint32) at `pos`; returns the position after it. */
function writeVarint(out: Uint8Array, pos: number, lo: number, hi: number): number {
  while (hi !== 0 || lo > 0x7f) {
    out[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi = hi >>> 7;
  }
  out[pos++] = lo;
  return pos;
}
