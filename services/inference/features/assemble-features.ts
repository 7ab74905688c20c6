import { failedPrecondition } from "../../../libs/errors/index.js";
import { featureValueNumbers } from "../../../libs/feature-client/index.js";
import { FeatureStatus, ValueType, type FeatureColumn, type FeatureView } from "../../../libs/gen/tessera/feature/v1/feature_pb.js";
import { MissingFeaturePolicy, type FeatureBinding } from "../../../libs/gen/tessera/registry/v1/feature_binding_pb.js";

/** One bound feature: where it goes in a row and what it is when missing. */
export interface BoundFeature {
  ref: string;
  offset: number;
  width: number;
  defaultValue: number;
}

export interface DefaultedValue {
  row: number;
  feature: string;
  reason: "not_found" | "outside_max_age" | "unavailable";
}

/**
 * Lays out a binding's features against their views: each feature's
 * column offset and width (a float vector is as wide as its length).
 * Features that cannot be a float (strings) are FAILED_PRECONDITION.
 */
export function layoutBinding(binding: FeatureBinding, views: ReadonlyMap<string, FeatureView>): { features: BoundFeature[]; width: number } {
  let offset = 0;
  const features = binding.features.map((input) => {
    const [viewName, featureName] = input.ref.split(":") as [string, string | undefined];
    const feature = views.get(viewName)?.features.find((f) => f.name === featureName);
    if (!feature) throw failedPrecondition(`the model's feature binding names "${input.ref}", which the feature service does not define`);
    if (feature.type === ValueType.STRING) throw failedPrecondition(`the model's feature binding names "${input.ref}", a string; only numeric and bool features fit a float tensor`);
    const width = feature.type === ValueType.FLOAT_VECTOR ? feature.vectorLength : 1;
    const bound = { ref: input.ref, offset, width, defaultValue: input.defaultValue };
    offset += width;
    return bound;
  });
  return { features, width: offset };
}

/**
 * Builds the [rows, width] float32 input from feature columns (one per
 * bound feature, in order). NOT_FOUND and OUTSIDE_MAX_AGE values become
 * their defaults and are reported, or fail the request when the binding
 * says reject; `columns` undefined means the feature service did not
 * answer and every value is defaulted.
 */
export function assembleFeatures(
  binding: FeatureBinding,
  layout: { features: BoundFeature[]; width: number },
  keys: readonly string[],
  columns: readonly FeatureColumn[] | undefined,
): { data: Float32Array; defaulted: DefaultedValue[] } {
  const data = new Float32Array(keys.length * layout.width);
  const defaulted: DefaultedValue[] = [];
  const reject = binding.onMissing === MissingFeaturePolicy.REJECT;
  layout.features.forEach((feature, f) => {
    const column = columns?.[f];
    for (let row = 0; row < keys.length; row++) {
      const base = row * layout.width + feature.offset;
      const status = column?.statuses[row];
      if (status === FeatureStatus.PRESENT) {
        const numbers = featureValueNumbers(column!.values[row]!);
        if (numbers && numbers.length === feature.width) {
          data.set(numbers, base);
          continue;
        }
      }
      const reason = !column ? "unavailable" : status === FeatureStatus.OUTSIDE_MAX_AGE ? "outside_max_age" : "not_found";
      if (reject && reason !== "unavailable") {
        throw failedPrecondition(`entity "${keys[row]}": feature "${feature.ref}" is ${reason.replace(/_/g, " ")}, and the model's binding rejects missing features`);
      }
      data.fill(feature.defaultValue, base, base + feature.width);
      defaulted.push({ row, feature: feature.ref, reason });
    }
  });
  return { data, defaulted };
}
