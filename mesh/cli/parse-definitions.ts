import type { MessageInitShape } from "@bufbuild/protobuf";
import { parseDocument } from "yaml";
import { ValueType, type ApplyDefinitionsRequestSchema } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { parseDuration } from "./parse-duration.js";
import { UsageError } from "./usage-error.js";

type Request = MessageInitShape<typeof ApplyDefinitionsRequestSchema>;

const TYPES: Record<string, ValueType> = {
  float: ValueType.FLOAT,
  double: ValueType.DOUBLE,
  int32: ValueType.INT32,
  int64: ValueType.INT64,
  bool: ValueType.BOOL,
  string: ValueType.STRING,
  float_vector: ValueType.FLOAT_VECTOR,
};

/**
 * A definitions file (YAML) as an ApplyDefinitions request:
 *
 *   entities:
 *     - { name: card, join_key: card_id, value_type: string }
 *   feature_views:
 *     - name: card_stats
 *       entities: [card]
 *       max_age: 1h
 *       ttl: 7d
 *       push_source: feature_push.card_stats
 *       features:
 *         - { name: amount_avg, type: double }
 *         - { name: embedding, type: float_vector, length: 8 }
 *
 * Shape errors name the file and the key; the service checks the rest.
 */
export function parseDefinitions(text: string, source: string): Request {
  const doc = parseDocument(text);
  if (doc.errors[0]) throw new UsageError(`${source}: not valid YAML: ${doc.errors[0].message.split("\n")[0]}`);
  const root = (doc.toJS() ?? {}) as Record<string, unknown>;
  const at = (key: string) => `${source}: ${key}`;
  const list = (value: unknown, key: string): Record<string, unknown>[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every((x) => typeof x === "object" && x !== null && !Array.isArray(x))) throw new UsageError(`${at(key)}: expected a list of mappings`);
    return value as Record<string, unknown>[];
  };
  const str = (value: unknown, key: string): string => {
    if (value === undefined || value === null) return "";
    if (typeof value !== "string" && typeof value !== "number") throw new UsageError(`${at(key)}: expected text`);
    return String(value);
  };
  const tags = (value: unknown, key: string): Record<string, string> => {
    if (value === undefined || value === null) return {};
    if (typeof value !== "object" || Array.isArray(value)) throw new UsageError(`${at(key)}: expected a mapping of tag names to values`);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
  };
  const type = (value: unknown, key: string): ValueType => {
    const found = TYPES[String(value ?? "").trim().toLowerCase()];
    if (found === undefined) throw new UsageError(`${at(key)}: type must be one of ${Object.keys(TYPES).join(", ")}, got ${JSON.stringify(value)}`);
    return found;
  };
  const duration = (value: unknown, key: string) => {
    if (value === undefined || value === null) return undefined;
    const ms = parseDuration(value as string | number, at(key));
    return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
  };
  for (const key of Object.keys(root)) {
    if (key !== "entities" && key !== "feature_views") throw new UsageError(`${at(key)}: unknown key; known keys: entities, feature_views`);
  }
  return {
    entities: list(root.entities, "entities").map((e, i) => ({
      name: str(e.name, `entities[${i}].name`),
      joinKey: str(e.join_key, `entities[${i}].join_key`),
      valueType: e.value_type === undefined ? ValueType.STRING : type(e.value_type, `entities[${i}].value_type`),
      description: str(e.description, `entities[${i}].description`),
      owner: str(e.owner, `entities[${i}].owner`),
      tags: tags(e.tags, `entities[${i}].tags`),
    })),
    featureViews: list(root.feature_views, "feature_views").map((v, i) => {
      const key = `feature_views[${i}]`;
      const entities = Array.isArray(v.entities) ? v.entities.map(String) : v.entity !== undefined ? [String(v.entity)] : [];
      return {
        name: str(v.name, `${key}.name`),
        entities,
        owner: str(v.owner, `${key}.owner`),
        description: str(v.description, `${key}.description`),
        tags: tags(v.tags, `${key}.tags`),
        maxAge: duration(v.max_age, `${key}.max_age`),
        ttl: duration(v.ttl, `${key}.ttl`),
        pushSource: v.push_source === undefined ? undefined : { subject: str(v.push_source, `${key}.push_source`) },
        features: list(v.features, `${key}.features`).map((f, j) => ({
          name: str(f.name, `${key}.features[${j}].name`),
          type: type(f.type, `${key}.features[${j}].type`),
          vectorLength: f.length === undefined ? 0 : Number(f.length),
          description: str(f.description, `${key}.features[${j}].description`),
          tags: tags(f.tags, `${key}.features[${j}].tags`),
          allowNonFinite: f.allow_non_finite === true,
        })),
      };
    }),
  };
}
