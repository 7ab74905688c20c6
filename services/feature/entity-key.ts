import { invalidArgument } from "../../libs/errors/index.js";
import { ValueType, type Entity } from "../../libs/gen/tessera/feature/v1/feature_pb.js";

/** Longest entity key, in characters. */
export const MAX_ENTITY_KEY_CHARS = 256;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Checks an entity key against its entity's key type and returns its
 * canonical form (an int64 key "007" is "7", so both find one row).
 */
export function canonicalEntityKey(entity: Entity, key: string, where: string): string {
  if (entity.valueType === ValueType.INT64) {
    if (!/^-?\d{1,20}$/.test(key)) throw invalidArgument(`${where}: entity key "${key}" is not an integer; entity "${entity.name}" is keyed by int64`);
    const n = BigInt(key);
    if (n < INT64_MIN || n > INT64_MAX) throw invalidArgument(`${where}: entity key "${key}" does not fit in int64`);
    return n.toString();
  }
  if (key.length === 0) throw invalidArgument(`${where}: entity key is empty`);
  if (key.length > MAX_ENTITY_KEY_CHARS) throw invalidArgument(`${where}: entity key is ${key.length} characters; at most ${MAX_ENTITY_KEY_CHARS}`);
  return key;
}

/** The online store's entity key: qualified by entity, so "9" of card and of user are two rows. */
export const storeEntityKey = (entity: string, key: string) => `${entity}:${key}`;
