import { create, equals } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { failedPrecondition } from "../../libs/errors/index.js";
import {
  ApplyAction,
  EntitySchema,
  FeatureViewSchema,
  type Entity,
  type FeatureView,
} from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { valueTypeName } from "./value-type.js";

export interface Planned<T> {
  action: ApplyAction;
  /** What to store (for UNCHANGED: what is stored). */
  record: T;
}

/** What applying `next` (validated) over `current` (stored, if any) does to an entity. */
export function planEntity(current: Entity | undefined, next: Entity, now: Timestamp): Planned<Entity> {
  if (!current) return { action: ApplyAction.CREATED, record: create(EntitySchema, { ...next, version: 1, updateTime: now }) };
  const comparable = create(EntitySchema, { ...current, version: 0, updateTime: undefined });
  if (equals(EntitySchema, comparable, next)) return { action: ApplyAction.UNCHANGED, record: current };
  if (current.joinKey !== next.joinKey || current.valueType !== next.valueType) {
    throw failedPrecondition(
      `entity "${next.name}": its join key and key type cannot change in place (stored keys would no longer be found); define a new entity`,
    );
  }
  return { action: ApplyAction.UPDATED, record: create(EntitySchema, { ...next, version: current.version + 1, updateTime: now }) };
}

/**
 * What applying `next` (validated) over `current` does to a feature view.
 * Adding and removing features, and changing max age, TTL, tags and text,
 * make a new version. Changing a feature's type or vector length, or the
 * view's entity, would make stored values unreadable: refused.
 */
export function planFeatureView(current: FeatureView | undefined, next: FeatureView, now: Timestamp): Planned<FeatureView> {
  if (!current) {
    return { action: ApplyAction.CREATED, record: create(FeatureViewSchema, { ...next, version: 1, createTime: now, updateTime: now }) };
  }
  const comparable = create(FeatureViewSchema, { ...current, version: 0, createTime: undefined, updateTime: undefined });
  if (equals(FeatureViewSchema, comparable, next)) return { action: ApplyAction.UNCHANGED, record: current };
  if (current.entities.join(",") !== next.entities.join(",")) {
    throw failedPrecondition(
      `feature view "${next.name}": its entity cannot change in place (${current.entities.join(",")} → ${next.entities.join(",")}); define a new view`,
    );
  }
  const stored = new Map(current.features.map((feature) => [feature.name, feature]));
  for (const feature of next.features) {
    const old = stored.get(feature.name);
    if (old && (old.type !== feature.type || old.vectorLength !== feature.vectorLength)) {
      throw failedPrecondition(
        `feature view "${next.name}": feature "${feature.name}" is ${valueTypeName(old.type, old.vectorLength)} and cannot become ` +
          `${valueTypeName(feature.type, feature.vectorLength)} in place; add a feature under a new name or define a new view`,
      );
    }
  }
  return {
    action: ApplyAction.UPDATED,
    record: create(FeatureViewSchema, { ...next, version: current.version + 1, createTime: current.createTime, updateTime: now }),
  };
}
