import { create } from "@bufbuild/protobuf";
import { timestampFromMs, TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  FeatureColumnSchema,
  FeatureStatus,
  FeatureValueSchema,
  type FeatureColumn,
  type FeatureValue,
} from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import type { OnlineRead, OnlineStore } from "../../libs/online-store/index.js";
import { canonicalEntityKey, storeEntityKey } from "./entity-key.js";
import { decodeFeatureValue } from "./feature-codec.js";
import { durationMs } from "./duration-ms.js";
import type { ReadPlan } from "./feature-refs.js";

/** Counts of what one read answered, for metrics. */
export type StatusCounts = Record<"present" | "notFound" | "outsideMaxAge", number>;

const EMPTY_VALUE = create(FeatureValueSchema);
const EPOCH = create(TimestampSchema);

/**
 * Reads a planned set of features for `entityKeys` in one store call (one
 * round trip per Redis node) and lays the answer out as columns. A key
 * asked twice is read once and answered in both rows.
 */
export async function readOnlineFeatures(
  store: OnlineStore,
  plan: ReadPlan,
  refs: readonly string[],
  entityKeys: readonly string[],
  nowMs: number,
): Promise<{ columns: FeatureColumn[]; counts: StatusCounts }> {
  const keys = entityKeys.map((key, i) => canonicalEntityKey(plan.entity, key, `entity_keys[${i}]`));
  const unique = [...new Set(keys)];
  const rowOf = new Map(unique.map((key, i) => [key, i]));
  const reads: OnlineRead[] = [];
  for (const { view, features } of plan.views) {
    const fields = features.map((f) => f.name);
    for (const key of unique) reads.push({ table: view.name, entityKey: storeEntityKey(plan.entity.name, key), fields });
  }
  const records = await store.read(reads);

  const values: FeatureValue[][] = refs.map(() => new Array<FeatureValue>(keys.length));
  const statuses: FeatureStatus[][] = refs.map(() => new Array<FeatureStatus>(keys.length));
  const times: Timestamp[][] = refs.map(() => new Array<Timestamp>(keys.length));
  const counts: StatusCounts = { present: 0, notFound: 0, outsideMaxAge: 0 };
  plan.views.forEach(({ view, features, columns }, v) => {
    const maxAgeMs = durationMs(view.maxAge);
    const decoded = unique.map((_, u) => {
      const record = records[v * unique.length + u];
      if (!record) return undefined;
      const stale = maxAgeMs > 0 && record.eventTimeMs < nowMs - maxAgeMs;
      return {
        time: timestampFromMs(record.eventTimeMs),
        status: stale ? FeatureStatus.OUTSIDE_MAX_AGE : FeatureStatus.PRESENT,
        values: features.map((feature) => {
          const bytes = record.fields.get(feature.name);
          return bytes && decodeFeatureValue(feature, bytes);
        }),
      };
    });
    keys.forEach((key, row) => {
      const found = decoded[rowOf.get(key)!];
      features.forEach((_, f) => {
        const column = columns[f]!;
        const value = found?.values[f];
        if (found && value) {
          values[column]![row] = value;
          statuses[column]![row] = found.status;
          times[column]![row] = found.time;
          if (found.status === FeatureStatus.PRESENT) counts.present++;
          else counts.outsideMaxAge++;
        } else {
          values[column]![row] = EMPTY_VALUE;
          statuses[column]![row] = FeatureStatus.NOT_FOUND;
          times[column]![row] = EPOCH;
          counts.notFound++;
        }
      });
    });
  });
  // Literals, not create(): the arrays are complete and of the right types already.
  const columns: FeatureColumn[] = refs.map((feature, c) => ({ $typeName: FeatureColumnSchema.typeName, feature, values: values[c]!, statuses: statuses[c]!, eventTimes: times[c]! }));
  return { columns, counts };
}
