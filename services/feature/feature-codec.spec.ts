import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { FeatureSchema, FeatureValueSchema, FloatVectorSchema, ValueType, type FeatureValue } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { decodeFeatureValue, encodeFeatureValue } from "./feature-codec.js";

const feature = (type: ValueType, extra: { vectorLength?: number; allowNonFinite?: boolean } = {}) => create(FeatureSchema, { name: "f", type, ...extra });
const value = (kind: FeatureValue["kind"]) => create(FeatureValueSchema, { kind });
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (error) {
    return Code[ConnectError.from(error).code];
  }
};

describe("encodeFeatureValue() / decodeFeatureValue()", () => {
  it.each([
    [ValueType.FLOAT, { case: "floatValue", value: 0.5 }, 4],
    [ValueType.DOUBLE, { case: "doubleValue", value: -1e300 }, 8],
    [ValueType.INT32, { case: "int32Value", value: -2147483648 }, 4],
    [ValueType.INT64, { case: "int64Value", value: 9007199254740993n }, 8],
    [ValueType.BOOL, { case: "boolValue", value: true }, 1],
    [ValueType.STRING, { case: "stringValue", value: "zürich" }, 7],
  ] as const)("round-trips type %s compactly", (type, kind, size) => {
    const bytes = encodeFeatureValue(feature(type), value(kind), "test");
    expect(bytes.byteLength).toBe(size);
    expect(decodeFeatureValue(feature(type), bytes).kind).toEqual(kind);
  });

  it("round-trips a float vector as 4 bytes per element", () => {
    const f = feature(ValueType.FLOAT_VECTOR, { vectorLength: 3 });
    const bytes = encodeFeatureValue(f, value({ case: "floatVectorValue", value: create(FloatVectorSchema, { values: [1, 2, 3] }) }), "t");
    expect(bytes.byteLength).toBe(12);
    expect(decodeFeatureValue(f, bytes).kind.value).toMatchObject({ values: [1, 2, 3] });
  });

  it.each([
    ["a string for an int64", feature(ValueType.INT64), { case: "stringValue", value: "1" }],
    ["a double for a float", feature(ValueType.FLOAT), { case: "doubleValue", value: 1 }],
    ["a fraction for an int32", feature(ValueType.INT32), { case: "int32Value", value: 1.5 }],
    ["NaN for a double", feature(ValueType.DOUBLE), { case: "doubleValue", value: Number.NaN }],
    ["-Infinity for a float", feature(ValueType.FLOAT), { case: "floatValue", value: -Infinity }],
    ["no value", feature(ValueType.BOOL), { case: undefined }],
  ] as const)("refuses %s with INVALID_ARGUMENT", (_what, f, kind) => {
    expect(codeOf(() => encodeFeatureValue(f, value(kind as FeatureValue["kind"]), "t"))).toBe("InvalidArgument");
  });

  it("takes NaN where the feature allows it", () => {
    const f = feature(ValueType.DOUBLE, { allowNonFinite: true });
    expect(decodeFeatureValue(f, encodeFeatureValue(f, value({ case: "doubleValue", value: Number.NaN }), "t")).kind.value).toBeNaN();
  });

  it("answers DATA_LOSS for stored bytes of the wrong size", () => {
    expect(codeOf(() => decodeFeatureValue(feature(ValueType.DOUBLE), Uint8Array.of(1, 2)))).toBe("DataLoss");
  });
});
