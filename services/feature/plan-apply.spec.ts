import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ApplyAction, EntitySchema, FeatureViewSchema, ValueType } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { planEntity, planFeatureView } from "./plan-apply.js";

const now = timestampFromMs(1000);
const view = (features: { name: string; type: ValueType; vectorLength?: number }[], extra: { description?: string; entities?: string[] } = {}) =>
  create(FeatureViewSchema, { name: "v", entities: extra.entities ?? ["card"], features, description: extra.description ?? "" });

describe("planFeatureView()", () => {
  const stored = planFeatureView(undefined, view([{ name: "a", type: ValueType.DOUBLE }]), now).record;

  it("creates at version 1, keeps an unchanged view, bumps a changed one", () => {
    expect(stored.version).toBe(1);
    expect(planFeatureView(stored, view([{ name: "a", type: ValueType.DOUBLE }]), now).action).toBe(ApplyAction.UNCHANGED);
    const next = planFeatureView(stored, view([{ name: "a", type: ValueType.DOUBLE }, { name: "b", type: ValueType.BOOL }]), now);
    expect(next).toMatchObject({ action: ApplyAction.UPDATED, record: { version: 2 } });
  });

  it.each([
    ["a feature's type", view([{ name: "a", type: ValueType.FLOAT }])],
    ["the entity", view([{ name: "a", type: ValueType.DOUBLE }], { entities: ["user"] })],
  ])("refuses a change of %s with FAILED_PRECONDITION", (_what, next) => {
    let code: Code | undefined;
    try {
      planFeatureView(stored, next, now);
    } catch (error) {
      code = ConnectError.from(error).code;
    }
    expect(code).toBe(Code.FailedPrecondition);
  });
});

describe("planEntity()", () => {
  it("refuses a key type change and bumps a description change", () => {
    const stored = planEntity(undefined, create(EntitySchema, { name: "card", joinKey: "card", valueType: ValueType.STRING }), now).record;
    expect(planEntity(stored, create(EntitySchema, { name: "card", joinKey: "card", valueType: ValueType.STRING, description: "x" }), now).record.version).toBe(2);
    expect(() => planEntity(stored, create(EntitySchema, { name: "card", joinKey: "card", valueType: ValueType.INT64 }), now)).toThrow(/cannot change/);
  });
});
