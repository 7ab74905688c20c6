import { failedPrecondition, invalidArgument } from "../errors/index.js";
import { FeatureKind, FeatureRole, type ReferenceProfile } from "../gen/tessera/registry/v1/profile_pb.js";
import type { Signature } from "../gen/tessera/registry/v1/signature_pb.js";
import { featureSlots } from "./feature-slots.js";

const KIND = { [FeatureKind.NUMERIC]: "numeric", [FeatureKind.CATEGORICAL]: "categorical", [FeatureKind.UNSPECIFIED]: "unspecified" };
const ROLE = { [FeatureRole.INPUT]: "input", [FeatureRole.OUTPUT]: "output", [FeatureRole.UNSPECIFIED]: "unspecified" };

/**
 * Refuses a profile that does not fit the version's signature: features it
 * does not have, a role or kind its tensor cannot have (a numeric profile of
 * a string input), or a kind's data missing. INVALID_ARGUMENT names the
 * feature; a version without a signature is FAILED_PRECONDITION.
 */
export function checkProfile(profile: ReferenceProfile, signature: Signature | undefined, what: string): void {
  if (!signature || (signature.inputs.length === 0 && signature.outputs.length === 0)) {
    throw failedPrecondition(`${what} has no signature to check a profile against; re-upload the model so its signature is read`);
  }
  if (profile.features.length === 0) throw invalidArgument(`the profile for ${what} has no features`);
  const slots = new Map(featureSlots(signature).map((s) => [s.name, s]));
  const seen = new Set<string>();
  for (const feature of profile.features) {
    const slot = slots.get(feature.name);
    if (!slot) {
      throw invalidArgument(
        `the profile for ${what} has feature "${feature.name}", which its signature does not; the features are: ${[...slots.keys()].join(", ") || "(none)"}`,
      );
    }
    if (seen.has(feature.name)) throw invalidArgument(`the profile for ${what} has feature "${feature.name}" twice`);
    seen.add(feature.name);
    if (feature.role !== slot.role) {
      throw invalidArgument(`feature "${feature.name}" is an ${ROLE[slot.role]} of ${what}, but the profile says ${ROLE[feature.role]}`);
    }
    if (!slot.kinds.includes(feature.kind)) {
      throw invalidArgument(
        `feature "${feature.name}" of ${what} is a ${DATA_NAMES(slot.dtype)} tensor, so its profile must be ${slot.kinds.map((k) => KIND[k]).join(" or ")}, not ${KIND[feature.kind]}`,
      );
    }
    if (feature.kind === FeatureKind.NUMERIC && !feature.numeric) throw invalidArgument(`numeric feature "${feature.name}" has no numeric profile`);
    if (feature.kind === FeatureKind.CATEGORICAL && !feature.categorical) {
      throw invalidArgument(`categorical feature "${feature.name}" has no category frequencies`);
    }
    const numeric = feature.numeric;
    if (numeric && numeric.histogramEdges.length !== numeric.histogramCounts.length + 1) {
      throw invalidArgument(`feature "${feature.name}": a histogram needs one more edge than counts`);
    }
  }
}

function DATA_NAMES(dtype: number): string {
  return ["unspecified", "FLOAT32", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "FLOAT64", "UINT32", "UINT64"][dtype] ?? String(dtype);
}
