import { NATIVE_LITTLE_ENDIAN } from "../dtypes/index.js";

const utf8 = new TextEncoder();
const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

/** Protobuf wire types (the low three bits of a field's tag). */
export const WireType = { Varint: 0, Bit64: 1, LengthDelimited: 2 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/**
 * Writes protobuf's binary encoding into one growing buffer, for the few
 * messages a replica encodes once per request (encode-prediction-log.ts).
 * protobuf-es's `toBinary` walks the schema by reflection and its
 * BinaryWriter keeps a chunk per nested message and a fresh buffer per
 * double; this one writes in place and, for a nested message or string,
 * reserves one byte for its length and moves the bytes only in the rare
 * case the length needs more. The output is canonical: the same bytes
 * `toBinary` writes.
 */
export class WireWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private at = 0;

  constructor(private readonly initialBytes = 512) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Empties the writer for the next message, keeping its buffer unless one large message grew it past 64 KiB. */
  reset(): this {
    this.at = 0;
    if (this.buffer.length > 64 * 1024) {
      this.buffer = new Uint8Array(this.initialBytes);
      this.view = new DataView(this.buffer.buffer);
    }
    return this;
  }

  tag(field: number, type: WireType): this {
    return this.varint(field * 8 + type);
  }

  /** A non-negative integer up to 2^53 (uint32, and uint64/int64 values that fit). */
  varint(value: number): this {
    this.reserve(10);
    this.at = this.varintAt(this.at, value);
    return this;
  }

  /** An int64 or uint64: negatives as their 64-bit two's complement, ten bytes. */
  varint64(value: bigint): this {
    if (value >= 0n && value <= maxSafe) return this.varint(Number(value));
    this.reserve(10);
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.buffer[this.at++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.at++] = Number(v);
    return this;
  }

  /** An int32: negatives sign-extended to 64 bits, as the wire format says. */
  int32(value: number): this {
    return value >= 0 ? this.varint(value) : this.varint64(BigInt(value));
  }

  double(value: number): this {
    this.reserve(8);
    this.view.setFloat64(this.at, value, true);
    this.at += 8;
    return this;
  }

  /**
   * A packed `repeated double`'s payload: its byte length, then the values.
   * A Float64Array on a little-endian host is already those bytes: one copy.
   */
  packedDoubles(values: ArrayLike<number>, littleEndian = NATIVE_LITTLE_ENDIAN): this {
    const length = values.length;
    this.varint(length * 8);
    this.reserve(length * 8);
    if (littleEndian && values instanceof Float64Array) {
      this.buffer.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), this.at);
      this.at += values.byteLength;
      return this;
    }
    for (let i = 0; i < length; i++) {
      this.view.setFloat64(this.at, values[i]!, true);
      this.at += 8;
    }
    return this;
  }

  string(value: string): this {
    // UTF-8 takes at most three bytes per UTF-16 unit.
    this.reserve(value.length * 3 + 1);
    const start = this.fork();
    // Ids and names are short and ASCII: copied by hand, that is a few times cheaper than encodeInto.
    if (value.length <= 64) {
      let i = 0;
      for (; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        this.buffer[this.at + i] = c;
      }
      if (i === value.length) {
        this.at += i;
        return this.join(start);
      }
    }
    this.at += utf8.encodeInto(value, this.buffer.subarray(this.at)).written;
    return this.join(start);
  }

  /** Starts a length-delimited field's payload; `join` with what it returns ends it. */
  fork(): number {
    this.reserve(1);
    return this.at++;
  }

  join(start: number): this {
    const length = this.at - start - 1;
    if (length < 0x80) {
      this.buffer[start] = length;
      return this;
    }
    // Rare: the length needs more than the one byte reserved, so the payload moves up to make room.
    const lengthBytes = varintSize(length);
    this.reserve(lengthBytes - 1);
    this.buffer.copyWithin(start + lengthBytes, start + 1, this.at);
    this.varintAt(start, length);
    this.at = start + lengthBytes + length;
    return this;
  }

  /**
   * The bytes written, in a buffer of their own: from Node's pool, as a
   * small Uint8Array of its own (slice) costs an allocation of its memory.
   */
  finish(): Uint8Array {
    const bytes = Buffer.allocUnsafe(this.at);
    bytes.set(this.buffer.subarray(0, this.at));
    return bytes;
  }

  /** Writes `value` as a varint at `at`, in room already reserved; returns where it ended. */
  private varintAt(at: number, value: number): number {
    let v = value;
    while (v >= 0x80) {
      this.buffer[at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buffer[at++] = v;
    return at;
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.at + bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.at));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
}

function varintSize(value: number): number {
  let bytes = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}
