import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ModelSchema, Stage } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { stageOf, transitionStage } from "./stage-transition.js";

const model = create(ModelSchema, { name: "m", versionStages: { 1: Stage.PRODUCTION, 2: Stage.STAGING, 3: Stage.PRODUCTION } });

describe("transitionStage()", () => {
  it("archives every other version in the target stage when asked", () => {
    const result = transitionStage(model, 2, Stage.PRODUCTION, true);
    expect(result.archived).toEqual([1, 3]);
    expect(result.previousStage).toBe(Stage.STAGING);
    expect(result.model.versionStages).toEqual({ 1: Stage.ARCHIVED, 2: Stage.PRODUCTION, 3: Stage.ARCHIVED });
  });

  it("leaves others alone without archive_existing", () => {
    const result = transitionStage(model, 2, Stage.PRODUCTION, false);
    expect(result.archived).toEqual([]);
    expect(result.model.versionStages).toEqual({ 1: Stage.PRODUCTION, 2: Stage.PRODUCTION, 3: Stage.PRODUCTION });
  });

  it("drops the entry when a version goes back to NONE", () => {
    const result = transitionStage(model, 1, Stage.NONE, true);
    expect(stageOf(result.model, 1)).toBe(Stage.NONE);
    expect(result.model.versionStages[1]).toBeUndefined();
    expect(result.archived).toEqual([]);
  });

  it("does not change the record it was given", () => {
    transitionStage(model, 2, Stage.PRODUCTION, true);
    expect(model.versionStages).toEqual({ 1: Stage.PRODUCTION, 2: Stage.STAGING, 3: Stage.PRODUCTION });
  });

  it("refuses an unspecified stage", () => {
    expect(() => transitionStage(model, 2, Stage.UNSPECIFIED, false)).toThrow(/stage is required/);
  });
});
