import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { FeatureColumnSchema, FeatureStatus, FeatureViewSchema, ValueType } from "../../../libs/gen/tessera/feature/v1/feature_pb.js";
import { FeatureBindingSchema, MissingFeaturePolicy } from "../../../libs/gen/tessera/registry/v1/feature_binding_pb.js";
import { assembleFeatures, layoutBinding } from "./assemble-features.js";

const view = create(FeatureViewSchema, {
  name: "v",
  features: [
    { name: "a", type: ValueType.DOUBLE },
    { name: "e", type: ValueType.FLOAT_VECTOR, vectorLength: 2 },
    { name: "s", type: ValueType.STRING },
  ],
});
const binding = create(FeatureBindingSchema, { input: "x", features: [{ ref: "v:e", defaultValue: -1 }, { ref: "v:a", defaultValue: 7 }], onMissing: MissingFeaturePolicy.DEFAULT });
const layout = layoutBinding(binding, new Map([["v", view]]));

describe("layoutBinding() / assembleFeatures()", () => {
  it("lays features out in the declared order, a vector as wide as its length", () => {
    expect(layout.features.map((f) => [f.ref, f.offset, f.width])).toEqual([["v:e", 0, 2], ["v:a", 2, 1]]);
    expect(layout.width).toBe(3);
  });

  it("refuses a string feature in a float tensor", () => {
    expect(() => layoutBinding(create(FeatureBindingSchema, { features: [{ ref: "v:s" }] }), new Map([["v", view]]))).toThrow(/string/);
  });

  it("fills present values, defaults missing and stale ones, and says which", () => {
    const columns = [
      create(FeatureColumnSchema, {
        feature: "v:e",
        values: [{ kind: { case: "floatVectorValue", value: { values: [1, 2] } } }, {}],
        statuses: [FeatureStatus.PRESENT, FeatureStatus.NOT_FOUND],
      }),
      create(FeatureColumnSchema, {
        feature: "v:a",
        values: [{ kind: { case: "doubleValue", value: 3 } }, { kind: { case: "doubleValue", value: 4 } }],
        statuses: [FeatureStatus.PRESENT, FeatureStatus.OUTSIDE_MAX_AGE],
      }),
    ];
    const { data, defaulted } = assembleFeatures(binding, layout, ["k1", "k2"], columns);
    expect([...data]).toEqual([1, 2, 3, -1, -1, 7]);
    expect(defaulted).toEqual([
      { row: 1, feature: "v:e", reason: "not_found" },
      { row: 1, feature: "v:a", reason: "outside_max_age" },
    ]);
  });

  it("defaults everything, marked unavailable, when the feature service did not answer", () => {
    const { data, defaulted } = assembleFeatures(binding, layout, ["k1"], undefined);
    expect([...data]).toEqual([-1, -1, 7]);
    expect(defaulted.map((d) => d.reason)).toEqual(["unavailable", "unavailable"]);
  });

  it("rejects a missing value when the binding says reject", () => {
    const strict = create(FeatureBindingSchema, { ...binding, onMissing: MissingFeaturePolicy.REJECT });
    const columns = [create(FeatureColumnSchema, { values: [{}], statuses: [FeatureStatus.NOT_FOUND] }), create(FeatureColumnSchema, { values: [{}], statuses: [FeatureStatus.NOT_FOUND] })];
    expect(() => assembleFeatures(strict, layout, ["k1"], columns)).toThrow(/"k1".*not found/);
  });
});
