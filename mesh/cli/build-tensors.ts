import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { TensorSchema, type Tensor } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType, type TensorSpec } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { toFloat16Bits } from "../../libs/dtypes/index.js";
import { describeSpec, dtypeName } from "./format-signature.js";
import { elementPath, flattenNested } from "./nested-array.js";
import { UsageError } from "./usage-error.js";

/**
 * Turns `--input` JSON (`{"features": [[0.1, ...]]}`) into typed Tensors for
 * Predict: the dtype comes from the model's signature, the shape from how
 * the arrays nest. Everything a person can get wrong is checked here, with
 * the model's inputs in the message, before a request is sent.
 */
export function buildTensors(input: unknown, inputs: readonly TensorSpec[]): Tensor[] {
  const expected = inputs.map(describeSpec).join(", ");
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new UsageError(`--input must be a JSON object of input name to nested array, e.g. {"${inputs[0]?.name ?? "x"}": [[...]]}; the model takes ${expected}`);
  }
  const given = input as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!inputs.some((spec) => spec.name === name)) throw new UsageError(`the model has no input "${name}"; it takes ${expected}`);
  }
  return inputs.map((spec) => {
    if (!Object.hasOwn(given, spec.name)) throw new UsageError(`input "${spec.name}" is missing; the model takes ${expected}`);
    const { shape, values } = flattenNested(given[spec.name], spec.name);
    checkShape(spec, shape);
    return create(TensorSchema, { name: spec.name, dtype: spec.dtype, shape: shape.map(BigInt), ...typedValues(spec, shape, values) });
  });
}

function checkShape(spec: TensorSpec, shape: readonly number[]): void {
  // An empty recorded shape means the graph did not say: leave it to the server.
  if (spec.shape.length === 0) return;
  const got = `[${shape.join(", ")}]`;
  if (shape.length !== spec.shape.length) {
    const hint = shape.length + 1 === spec.shape.length ? `; wrap it in [ ] to send one row` : "";
    throw new UsageError(`input "${spec.name}" has shape ${got}, ${shape.length} dimension${shape.length === 1 ? "" : "s"}, but the model takes ${describeSpec(spec)}${hint}`);
  }
  spec.shape.forEach((dim, i) => {
    if (dim.size >= 0n && BigInt(shape[i]!) !== dim.size) {
      throw new UsageError(`input "${spec.name}" has shape ${got}, but dimension ${i} of ${describeSpec(spec)} must be ${dim.size}`);
    }
  });
}

type TensorValues = Pick<MessageInitShape<typeof TensorSchema>, "floatData" | "doubleData" | "int32Data" | "int64Data" | "uint64Data" | "boolData" | "stringData" | "rawData">;

const INT32_RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  [DataType.INT8]: [-128, 127],
  [DataType.UINT8]: [0, 255],
  [DataType.INT16]: [-32768, 32767],
  [DataType.UINT16]: [0, 65535],
  [DataType.INT32]: [-2147483648, 2147483647],
};

const BIG_RANGES: Partial<Record<DataType, readonly [bigint, bigint]>> = {
  [DataType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [DataType.UINT32]: [0n, 2n ** 32n - 1n],
  [DataType.UINT64]: [0n, 2n ** 64n - 1n],
};

/** Values in the Tensor field that fits the dtype (see inference.proto's Tensor). */
function typedValues(spec: TensorSpec, shape: readonly number[], values: readonly unknown[]): TensorValues {
  const at = (i: number) => elementPath(spec.name, shape, i);
  const dtype = dtypeName(spec.dtype);
  switch (spec.dtype) {
    case DataType.FLOAT32:
      return { floatData: values.map((v, i) => toFloat(v, at(i), dtype)) };
    case DataType.FLOAT64:
      return { doubleData: values.map((v, i) => toFloat(v, at(i), dtype)) };
    case DataType.FLOAT16: {
      // FP16 has no typed field: its bit patterns travel little-endian in raw_data.
      const raw = new Uint8Array(values.length * 2);
      const view = new DataView(raw.buffer);
      values.forEach((v, i) => view.setUint16(i * 2, toFloat16Bits(toFloat(v, at(i), dtype)), true));
      return { rawData: raw };
    }
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.INT32: {
      const [min, max] = INT32_RANGES[spec.dtype]!;
      return {
        int32Data: values.map((v, i) => {
          if (typeof v !== "number" || !Number.isInteger(v)) throw new UsageError(`${at(i)} is ${show(v)}; ${dtype} takes whole numbers`);
          if (v < min || v > max) throw new UsageError(`${at(i)} is ${v}, outside ${dtype}'s range ${min}..${max}`);
          return v;
        }),
      };
    }
    case DataType.INT64:
      return { int64Data: values.map((v, i) => toBigInt(v, at(i), spec.dtype)) };
    case DataType.UINT32:
    case DataType.UINT64:
      return { uint64Data: values.map((v, i) => toBigInt(v, at(i), spec.dtype)) };
    case DataType.BOOL:
      return {
        boolData: values.map((v, i) => {
          if (typeof v !== "boolean") throw new UsageError(`${at(i)} is ${show(v)}; bool takes true or false`);
          return v;
        }),
      };
    case DataType.STRING:
      return {
        stringData: values.map((v, i) => {
          if (typeof v !== "string") throw new UsageError(`${at(i)} is ${show(v)}; string takes JSON strings`);
          return v;
        }),
      };
    default:
      throw new UsageError(`input "${spec.name}" has a dtype the CLI cannot write (${dtype}); call the API directly`);
  }
}

// JSON has no NaN or infinities; these strings stand for them (the server still refuses them unless the model allows).
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "+Infinity": Infinity, "-Infinity": -Infinity };

function toFloat(v: unknown, path: string, dtype: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && Object.hasOwn(NON_FINITE, v)) return NON_FINITE[v]!;
  throw new UsageError(`${path} is ${show(v)}; ${dtype} takes numbers (or "NaN", "Infinity", "-Infinity")`);
}

function toBigInt(v: unknown, path: string, dtype: DataType): bigint {
  const name = dtypeName(dtype);
  let value: bigint;
  if (typeof v === "number" && Number.isSafeInteger(v)) value = BigInt(v);
  else if (typeof v === "string" && /^-?\d+$/.test(v)) value = BigInt(v);
  else {
    const why = typeof v === "number" && Number.isInteger(v) ? "; past 2^53 write it as a string of digits" : "";
    throw new UsageError(`${path} is ${show(v)}; ${name} takes whole numbers${why}`);
  }
  const [min, max] = BIG_RANGES[dtype]!;
  if (value < min || value > max) throw new UsageError(`${path} is ${value}, outside ${name}'s range ${min}..${max}`);
  return value;
}

function show(v: unknown): string {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
