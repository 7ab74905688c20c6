import { create } from "@bufbuild/protobuf";
import { invalidArgument } from "../../libs/errors/index.js";
import { ModelSchema, Stage, type Model } from "../../libs/gen/tessera/registry/v1/registry_pb.js";

export interface StageTransition {
  model: Model;
  previousStage: Stage;
  /** Versions moved to ARCHIVED by archiveExisting. */
  archived: number[];
}

export function stageOf(model: Model, version: number): Stage {
  return model.versionStages[version] ?? Stage.NONE;
}

/**
 * Moves one version to `target`; with archiveExisting, every other version
 * in that stage goes to ARCHIVED. Returns a new Model record: the caller
 * writes it once, so the whole transition applies or none of it does.
 */
export function transitionStage(model: Model, version: number, target: Stage, archiveExisting: boolean): StageTransition {
  if (target === Stage.UNSPECIFIED || !(target in Stage)) {
    throw invalidArgument("stage is required: one of STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED");
  }
  const stages: Record<number, Stage> = { ...model.versionStages };
  const previousStage = stages[version] ?? Stage.NONE;
  const archived: number[] = [];
  if (archiveExisting && target !== Stage.NONE && target !== Stage.ARCHIVED) {
    for (const [other, stage] of Object.entries(stages)) {
      if (Number(other) !== version && stage === target) {
        stages[Number(other)] = Stage.ARCHIVED;
        archived.push(Number(other));
      }
    }
  }
  if (target === Stage.NONE) delete stages[version];
  else stages[version] = target;
  return { model: create(ModelSchema, { ...model, versionStages: stages }), previousStage, archived: archived.sort((a, b) => a - b) };
}
