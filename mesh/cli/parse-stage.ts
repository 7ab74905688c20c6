import { Stage } from "../../libs/gen/tessera/registry/v1/registry_pb.js";

/** The stage names the CLI takes and prints, lower-case, in lifecycle order. */
export const STAGE_NAMES = ["none", "staging", "production", "archived"] as const;
export type StageName = (typeof STAGE_NAMES)[number];

const BY_NAME: Record<StageName, Stage> = { none: Stage.NONE, staging: Stage.STAGING, production: Stage.PRODUCTION, archived: Stage.ARCHIVED };

export function stageFromName(name: StageName): Stage {
  return BY_NAME[name];
}

/** "production"; "none" for a version that never left STAGE_NONE (or an unset stage). */
export function stageName(stage: Stage): StageName {
  return (Object.keys(BY_NAME) as StageName[]).find((name) => BY_NAME[name] === stage) ?? "none";
}
