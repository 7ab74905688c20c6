import { timestampMs } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../../libs/errors/index.js";
import type { Entity, FeatureRow, FeatureView } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import type { OnlineWrite } from "../../libs/online-store/index.js";
import { canonicalEntityKey, storeEntityKey } from "./entity-key.js";
import { encodeFeatureValue } from "./feature-codec.js";
import { durationMs } from "./duration-ms.js";

/** Most rows one write may carry: a batch is validated whole in memory before anything is written. */
export const MAX_ROWS_PER_WRITE = 10_000;

export interface PrepareOptions {
  nowMs: number;
  /** Event times past now + this are refused. */
  maxFutureSkewMs: number;
}

/**
 * Checks every row against the view and encodes it for the online store.
 * Nothing is returned unless every row is good: one bad value fails the
 * batch with INVALID_ARGUMENT naming the row and the feature.
 */
export function prepareRows(view: FeatureView, entity: Entity, rows: readonly FeatureRow[], options: PrepareOptions): OnlineWrite[] {
  if (rows.length === 0) throw invalidArgument(`write to "${view.name}": no rows`);
  if (rows.length > MAX_ROWS_PER_WRITE) throw invalidArgument(`write to "${view.name}": ${rows.length} rows; at most ${MAX_ROWS_PER_WRITE} per call`);
  const features = new Map(view.features.map((feature) => [feature.name, feature]));
  const ttlMs = durationMs(view.ttl);
  const latestAllowed = options.nowMs + options.maxFutureSkewMs;
  return rows.map((row, i) => {
    const where = `write to "${view.name}", row ${i}`;
    const key = canonicalEntityKey(entity, row.entityKey, where);
    if (!row.eventTime) throw invalidArgument(`${where} (entity "${key}"): event_time is required`);
    const eventTimeMs = timestampMs(row.eventTime);
    if (!Number.isFinite(eventTimeMs) || eventTimeMs < 0) throw invalidArgument(`${where} (entity "${key}"): event_time is before 1970`);
    if (eventTimeMs > latestAllowed) {
      throw invalidArgument(
        `${where} (entity "${key}"): event_time ${new Date(eventTimeMs).toISOString()} is more than ${options.maxFutureSkewMs} ms in the future ` +
          `(TESSERA_FEATURE_MAX_FUTURE_SKEW_MS); check the producer's clock`,
      );
    }
    const names = Object.keys(row.values);
    if (names.length === 0) throw invalidArgument(`${where} (entity "${key}"): no feature values`);
    const fields = new Map<string, Uint8Array>();
    for (const name of names) {
      const feature = features.get(name);
      if (!feature) {
        throw invalidArgument(`${where} (entity "${key}"): view "${view.name}" has no feature "${name}" (it has ${[...features.keys()].join(", ")})`);
      }
      fields.set(name, encodeFeatureValue(feature, row.values[name]!, `${where} (entity "${key}")`));
    }
    return { table: view.name, entityKey: storeEntityKey(entity.name, key), eventTimeMs, fields, ttlMs };
  });
}
