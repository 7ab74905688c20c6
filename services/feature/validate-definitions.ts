import { create } from "@bufbuild/protobuf";
import { invalidArgument } from "../../libs/errors/index.js";
import {
  EntitySchema,
  FeatureSchema,
  FeatureViewSchema,
  ValueType,
  type Entity,
  type FeatureView,
} from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { checkName, checkTags, checkText } from "./names.js";

/** Longest float vector a feature may declare: 64 Ki floats is 256 KiB a value. */
export const MAX_VECTOR_LENGTH = 65_536;
/** Most features one view may have: every read of the view fetches all asked fields of one hash. */
export const MAX_FEATURES_PER_VIEW = 1024;

/** A checked copy of `entity`, with defaults filled in (join key, value type). */
export function validateEntity(entity: Entity): Entity {
  checkName(entity.name, "entity name");
  const joinKey = entity.joinKey || entity.name;
  checkName(joinKey, `entity "${entity.name}": join_key`);
  const valueType = entity.valueType === ValueType.UNSPECIFIED ? ValueType.STRING : entity.valueType;
  if (valueType !== ValueType.STRING && valueType !== ValueType.INT64) {
    throw invalidArgument(`entity "${entity.name}": value_type must be string or int64 (the key's type), got ${ValueType[valueType] ?? valueType}`);
  }
  checkText(entity.description, `entity "${entity.name}": description`, 4096);
  checkText(entity.owner, `entity "${entity.name}": owner`, 256);
  checkTags(entity.tags, `entity "${entity.name}"`);
  return create(EntitySchema, { ...entity, joinKey, valueType, version: 0, updateTime: undefined });
}

/**
 * A checked copy of `view`. `entityExists` answers whether an entity is
 * defined (stored already, or in the same apply).
 */
export function validateFeatureView(view: FeatureView, entityExists: (name: string) => boolean, pushPrefix: string): FeatureView {
  checkName(view.name, "feature view name");
  const where = `feature view "${view.name}"`;
  if (view.entities.length !== 1) {
    throw invalidArgument(`${where}: name exactly one entity in entities (got ${view.entities.length}); composite keys are not supported yet`);
  }
  for (const entity of view.entities) {
    if (!entityExists(entity)) throw invalidArgument(`${where}: entity "${entity}" is not defined; apply it first or in the same request`);
  }
  if (view.features.length === 0) throw invalidArgument(`${where}: declare at least one feature`);
  if (view.features.length > MAX_FEATURES_PER_VIEW) throw invalidArgument(`${where}: ${view.features.length} features; at most ${MAX_FEATURES_PER_VIEW}`);
  const seen = new Set<string>();
  const features = view.features.map((feature) => {
    checkName(feature.name, `${where}: feature name`);
    if (feature.name.startsWith("_")) throw invalidArgument(`${where}: feature "${feature.name}": names starting with '_' are reserved`);
    if (seen.has(feature.name)) throw invalidArgument(`${where}: feature "${feature.name}" is declared twice`);
    seen.add(feature.name);
    const fwhere = `${where}: feature "${feature.name}"`;
    if (feature.type === ValueType.UNSPECIFIED || ValueType[feature.type] === undefined) {
      throw invalidArgument(`${fwhere}: give a type (float, double, int32, int64, bool, string, float_vector)`);
    }
    if (feature.type === ValueType.FLOAT_VECTOR) {
      if (feature.vectorLength < 1 || feature.vectorLength > MAX_VECTOR_LENGTH) {
        throw invalidArgument(`${fwhere}: a float_vector needs vector_length between 1 and ${MAX_VECTOR_LENGTH}, got ${feature.vectorLength}`);
      }
    } else if (feature.vectorLength !== 0) {
      throw invalidArgument(`${fwhere}: vector_length is only for float_vector features`);
    }
    if (feature.allowNonFinite && ![ValueType.FLOAT, ValueType.DOUBLE, ValueType.FLOAT_VECTOR].includes(feature.type)) {
      throw invalidArgument(`${fwhere}: allow_non_finite is only for float, double and float_vector features`);
    }
    checkText(feature.description, `${fwhere}: description`, 4096);
    checkTags(feature.tags, fwhere);
    return create(FeatureSchema, feature);
  });
  for (const [field, duration] of [["max_age", view.maxAge], ["ttl", view.ttl]] as const) {
    if (duration && (duration.seconds < 0n || duration.nanos < 0)) throw invalidArgument(`${where}: ${field} must not be negative`);
  }
  if (view.pushSource) {
    const subject = view.pushSource.subject;
    if (!subject.startsWith(`${pushPrefix}.`) || !/^[A-Za-z0-9_.-]+$/.test(subject) || subject.split(".").some((token) => token === "")) {
      throw invalidArgument(`${where}: push_source.subject "${subject}" must be a plain NATS subject under "${pushPrefix}." (e.g. "${pushPrefix}.${view.name}")`);
    }
  }
  checkText(view.description, `${where}: description`, 4096);
  checkText(view.owner, `${where}: owner`, 256);
  checkTags(view.tags, where);
  return create(FeatureViewSchema, { ...view, features, version: 0, createTime: undefined, updateTime: undefined });
}
