import { create } from "@bufbuild/protobuf";
import { dataLoss, invalidArgument } from "../../libs/errors/index.js";
import {
  FeatureValueSchema,
  FloatVectorSchema,
  ValueType,
  type Feature,
  type FeatureValue,
} from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { valueTypeName } from "./value-type.js";

/** Largest string value, in UTF-8 bytes. */
export const MAX_STRING_BYTES = 64 * 1024;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Checks `value` against the feature's declared type and encodes it in
 * the online store's compact form: the type is the view's, so the bytes
 * carry no tag — float/int32 4 bytes, double/int64 8, bool 1, string UTF-8,
 * float vector 4 bytes per element, all little-endian. A value of the
 * wrong kind, a vector of the wrong length, or a NaN/Infinity the feature
 * does not allow is INVALID_ARGUMENT naming `where`.
 */
export function encodeFeatureValue(feature: Feature, value: FeatureValue, where: string): Uint8Array {
  const kind = value.kind;
  const wrong = () =>
    invalidArgument(`${where}: feature "${feature.name}" is ${valueTypeName(feature.type, feature.vectorLength)}, got ${kind.case ? kindName(kind.case) : "no value"}`);
  const finite = (n: number) => {
    if (!feature.allowNonFinite && !Number.isFinite(n)) {
      throw invalidArgument(`${where}: feature "${feature.name}" is ${n}; NaN and Infinity are refused (set allow_non_finite on the feature to allow them)`);
    }
  };
  switch (feature.type) {
    case ValueType.FLOAT: {
      if (kind.case !== "floatValue") throw wrong();
      finite(kind.value);
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setFloat32(0, kind.value, true);
      return bytes;
    }
    case ValueType.DOUBLE: {
      // A float is widened: the type is what is stored, not what was sent.
      if (kind.case !== "doubleValue" && kind.case !== "floatValue") throw wrong();
      finite(kind.value);
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setFloat64(0, kind.value, true);
      return bytes;
    }
    case ValueType.INT32: {
      if (kind.case !== "int32Value") throw wrong();
      if (!Number.isInteger(kind.value) || kind.value < INT32_MIN || kind.value > INT32_MAX) throw wrong();
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setInt32(0, kind.value, true);
      return bytes;
    }
    case ValueType.INT64: {
      let n: bigint;
      if (kind.case === "int64Value") n = kind.value;
      else if (kind.case === "int32Value") n = BigInt(kind.value);
      else throw wrong();
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigInt64(0, n, true);
      return bytes;
    }
    case ValueType.BOOL:
      if (kind.case !== "boolValue") throw wrong();
      return Uint8Array.of(kind.value ? 1 : 0);
    case ValueType.STRING: {
      if (kind.case !== "stringValue") throw wrong();
      const bytes = encoder.encode(kind.value);
      if (bytes.length > MAX_STRING_BYTES) throw invalidArgument(`${where}: feature "${feature.name}" is ${bytes.length} bytes; at most ${MAX_STRING_BYTES}`);
      return bytes;
    }
    case ValueType.FLOAT_VECTOR: {
      if (kind.case !== "floatVectorValue") throw wrong();
      const values = kind.value.values;
      if (values.length !== feature.vectorLength) {
        throw invalidArgument(`${where}: feature "${feature.name}" is a float vector of length ${feature.vectorLength}, got ${values.length} values`);
      }
      const bytes = new Uint8Array(4 * values.length);
      const view = new DataView(bytes.buffer);
      values.forEach((v, i) => {
        finite(v);
        view.setFloat32(4 * i, v, true);
      });
      return bytes;
    }
    default:
      throw invalidArgument(`${where}: feature "${feature.name}" has no known type`);
  }
}

/**
 * Reads back what encodeFeatureValue wrote; bytes of the wrong size are
 * DATA_LOSS (the store holds something else). A read answers thousands of
 * these per call, so they are plain message literals (what create() would
 * build, without its per-field reflection) read in place.
 */
export function decodeFeatureValue(feature: Feature, bytes: Uint8Array): FeatureValue {
  const size = (n: number) => {
    if (bytes.byteLength !== n) throw dataLoss(`feature "${feature.name}": stored value is ${bytes.byteLength} bytes, expected ${n} for ${valueTypeName(feature.type, feature.vectorLength)}`);
  };
  // Redis hands back Buffers already; anything else is wrapped, not copied.
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (feature.type) {
    case ValueType.FLOAT:
      size(4);
      return valueOf({ case: "floatValue", value: buffer.readFloatLE(0) });
    case ValueType.DOUBLE:
      size(8);
      return valueOf({ case: "doubleValue", value: buffer.readDoubleLE(0) });
    case ValueType.INT32:
      size(4);
      return valueOf({ case: "int32Value", value: buffer.readInt32LE(0) });
    case ValueType.INT64:
      size(8);
      return valueOf({ case: "int64Value", value: buffer.readBigInt64LE(0) });
    case ValueType.BOOL:
      size(1);
      return valueOf({ case: "boolValue", value: bytes[0] === 1 });
    case ValueType.STRING:
      return valueOf({ case: "stringValue", value: decoder.decode(bytes) });
    case ValueType.FLOAT_VECTOR: {
      size(4 * feature.vectorLength);
      const values = new Array<number>(feature.vectorLength);
      for (let i = 0; i < values.length; i++) values[i] = buffer.readFloatLE(4 * i);
      return valueOf({ case: "floatVectorValue", value: create(FloatVectorSchema, { values }) });
    }
    default:
      throw dataLoss(`feature "${feature.name}" has no known type`);
  }
}

function valueOf(kind: FeatureValue["kind"]): FeatureValue {
  return { $typeName: FeatureValueSchema.typeName, kind };
}

function kindName(kind: NonNullable<FeatureValue["kind"]["case"]>): string {
  return kind.replace(/Value$/, "").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
