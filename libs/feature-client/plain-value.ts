import { create } from "@bufbuild/protobuf";
import { invalidArgument } from "../errors/index.js";
import { FeatureValueSchema, FloatVectorSchema, ValueType, type Feature, type FeatureValue } from "../gen/tessera/feature/v1/feature_pb.js";

/** A feature value as people write it in JSON, CSV and YAML: 3.5, 7, "NL", true, [0.1, 0.2]. */
export type PlainValue = number | string | boolean | number[] | bigint;

/**
 * Turns a plain value (from JSON, or a CSV cell as text) into the
 * FeatureValue the feature's type asks for. Wrong kinds are
 * INVALID_ARGUMENT naming `where`; range, length and NaN checks are the
 * service's (it checks every write the same way).
 */
export function toFeatureValue(feature: Feature, raw: unknown, where: string): FeatureValue {
  const bad = (expected: string) => invalidArgument(`${where}: feature "${feature.name}" expects ${expected}, got ${JSON.stringify(raw) ?? String(raw)}`);
  const number = (): number => {
    if (typeof raw === "number") return raw;
    if (typeof raw === "string") {
      // Text spellings of NaN/Infinity are read, so the service (not the parser) says whether the feature allows them.
      const text = raw.trim().toLowerCase();
      if (text === "nan") return Number.NaN;
      if (/^[-+]?inf(inity)?$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
      const n = Number(text);
      if (text !== "" && !Number.isNaN(n)) return n;
    }
    throw bad("a number");
  };
  switch (feature.type) {
    case ValueType.FLOAT:
      return create(FeatureValueSchema, { kind: { case: "floatValue", value: number() } });
    case ValueType.DOUBLE:
      return create(FeatureValueSchema, { kind: { case: "doubleValue", value: number() } });
    case ValueType.INT32: {
      const n = number();
      if (!Number.isInteger(n)) throw bad("a whole number");
      return create(FeatureValueSchema, { kind: { case: "int32Value", value: n } });
    }
    case ValueType.INT64: {
      const text = typeof raw === "bigint" ? raw.toString() : typeof raw === "number" && Number.isInteger(raw) ? String(raw) : typeof raw === "string" ? raw.trim() : "";
      if (!/^-?\d{1,19}$/.test(text)) throw bad("a whole number");
      return create(FeatureValueSchema, { kind: { case: "int64Value", value: BigInt(text) } });
    }
    case ValueType.BOOL: {
      if (typeof raw === "boolean") return create(FeatureValueSchema, { kind: { case: "boolValue", value: raw } });
      const text = typeof raw === "string" ? raw.trim().toLowerCase() : typeof raw === "number" ? String(raw) : "";
      if (["true", "1", "yes"].includes(text)) return create(FeatureValueSchema, { kind: { case: "boolValue", value: true } });
      if (["false", "0", "no"].includes(text)) return create(FeatureValueSchema, { kind: { case: "boolValue", value: false } });
      throw bad("true or false");
    }
    case ValueType.STRING:
      if (typeof raw === "string") return create(FeatureValueSchema, { kind: { case: "stringValue", value: raw } });
      if (typeof raw === "number" || typeof raw === "boolean") return create(FeatureValueSchema, { kind: { case: "stringValue", value: String(raw) } });
      throw bad("a string");
    case ValueType.FLOAT_VECTOR: {
      let list: unknown = raw;
      // A CSV cell holds the vector as JSON text: "[0.1, 0.2]".
      if (typeof raw === "string") {
        try {
          list = JSON.parse(raw);
        } catch {
          throw bad(`a list of ${feature.vectorLength} numbers`);
        }
      }
      if (!Array.isArray(list) || !list.every((x) => typeof x === "number")) throw bad(`a list of ${feature.vectorLength} numbers`);
      return create(FeatureValueSchema, { kind: { case: "floatVectorValue", value: create(FloatVectorSchema, { values: list as number[] }) } });
    }
    default:
      throw invalidArgument(`${where}: feature "${feature.name}" has no known type`);
  }
}

/** A FeatureValue as a plain value (int64 as a bigint); undefined when empty (NOT_FOUND). */
export function fromFeatureValue(value: FeatureValue): PlainValue | undefined {
  const kind = value.kind;
  if (kind.case === undefined) return undefined;
  if (kind.case === "floatVectorValue") return kind.value.values;
  return kind.value;
}

/** A FeatureValue as one or more float32-ready numbers, for a model's input tensor. */
export function featureValueNumbers(value: FeatureValue): number[] | undefined {
  const kind = value.kind;
  switch (kind.case) {
    case "floatValue":
    case "doubleValue":
    case "int32Value":
      return [kind.value];
    case "int64Value":
      return [Number(kind.value)];
    case "boolValue":
      return [kind.value ? 1 : 0];
    case "floatVectorValue":
      return kind.value.values;
    default:
      return undefined;
  }
}
