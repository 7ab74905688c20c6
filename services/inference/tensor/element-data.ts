import { invalidArgument } from "../../../libs/errors/index.js";
import type { DtypeInfo } from "../../../libs/dtypes/index.js";
import { toFloat16Bits } from "../../../libs/dtypes/index.js";
import type { TensorData } from "./host-tensor.js";
import type { BigIntValues, NumberValues } from "./tensor-values.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Number elements (from repeated float/double/int32/uint32 fields, or JSON) into the dtype's
 * storage. Integer dtypes check that every value is an integer in range, because a typed
 * array would otherwise wrap or truncate it silently. `field` names where the values came
 * from, for messages ("int32_data"). Values that already sit in the dtype's own typed array
 * (FP32 decoded from float_data as a Float32Array, tensor-values.ts) are the data as they are.
 */
export function numbersToData(info: DtypeInfo, values: NumberValues, subject: string, field: string): TensorData {
  if (info.storage.kind !== "typed") throw wrongField(info, subject, field);
  if (values.constructor === info.storage.array) return values as TensorData;
  const n = values.length;
  switch (info.numeric) {
    case "float": {
      if (info.oip === "FP16") {
        const out = new Uint16Array(n);
        for (let i = 0; i < n; i++) out[i] = toFloat16Bits(values[i]!);
        return out;
      }
      return info.oip === "FP32" ? new Float32Array(values) : new Float64Array(values);
    }
    case "int": {
      const [min, max] = info.range!;
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (!Number.isInteger(v) || v < min || v > max) throw outOfRange(info, subject, field, i, v, `${min}..${max}`);
      }
      return new (info.storage.array as Int32ArrayConstructor)(values);
    }
    case "bigint": {
      const out = info.oip === "INT64" ? new BigInt64Array(n) : new BigUint64Array(n);
      const min = info.oip === "INT64" ? INT64_MIN : 0n;
      const max = info.oip === "INT64" ? INT64_MAX : UINT64_MAX;
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (!Number.isSafeInteger(v)) {
          throw outOfRange(info, subject, field, i, v, "integers up to 2^53 as numbers; send larger values as strings");
        }
        const b = BigInt(v);
        if (b < min || b > max) throw outOfRange(info, subject, field, i, v, `${min}..${max}`);
        out[i] = b;
      }
      return out;
    }
    case "none":
      throw wrongField(info, subject, field);
  }
}

/** Bigint elements (from repeated int64/uint64 fields, or JSON strings) into the dtype's storage, range-checked. */
export function bigintsToData(info: DtypeInfo, values: BigIntValues, subject: string, field: string): TensorData {
  if (info.storage.kind !== "typed") throw wrongField(info, subject, field);
  if (values.constructor === info.storage.array) return values as TensorData;
  const n = values.length;
  if (info.numeric === "bigint") {
    const signed = info.oip === "INT64";
    const min = signed ? INT64_MIN : 0n;
    const max = signed ? INT64_MAX : UINT64_MAX;
    const out = signed ? new BigInt64Array(n) : new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v < min || v > max) throw outOfRange(info, subject, field, i, v, `${min}..${max}`);
      out[i] = v;
    }
    return out;
  }
  if (info.numeric === "int") {
    const [min, max] = info.range!;
    const bigMin = BigInt(min);
    const bigMax = BigInt(max);
    const out = new (info.storage.array as Int32ArrayConstructor)(n);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v < bigMin || v > bigMax) throw outOfRange(info, subject, field, i, v, `${min}..${max}`);
      out[i] = Number(v);
    }
    return out;
  }
  throw wrongField(info, subject, field);
}

function outOfRange(
  info: DtypeInfo,
  subject: string,
  field: string,
  index: number,
  value: number | bigint,
  range: string,
): Error {
  return invalidArgument(`${subject}: ${field}[${index}] = ${String(value)} is not a valid ${info.oip} value (${range})`);
}

function wrongField(info: DtypeInfo, subject: string, field: string): Error {
  return invalidArgument(`${subject}: ${info.oip} values cannot be sent in ${field}`);
}
