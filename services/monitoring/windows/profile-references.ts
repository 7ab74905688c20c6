import { FeatureKind, FeatureRole, type ReferenceProfile } from "../../../libs/gen/tessera/registry/v1/profile_pb.js";
import type { FeatureReference } from "../drift/index.js";
import { parseFeatureName, type FeatureLocation } from "./version-window.js";

export interface ProfileReferences {
  inputs: Map<string, FeatureReference>;
  outputs: Map<string, FeatureReference>;
  locations: Map<string, FeatureLocation>;
  rowCount: number;
}

/** What drift detection reads from a stored profile: a reference and a location per feature. */
export function profileReferences(profile: ReferenceProfile): ProfileReferences {
  const result: ProfileReferences = { inputs: new Map(), outputs: new Map(), locations: new Map(), rowCount: Number(profile.rowCount) };
  for (const f of profile.features) {
    const role = f.role === FeatureRole.OUTPUT ? "output" : "input";
    const count = Number(f.count);
    let reference: FeatureReference | undefined;
    if (f.kind === FeatureKind.NUMERIC && f.numeric) {
      const n = f.numeric;
      const exact = n.values.length > 0 && n.values.length === count;
      const small = Object.keys(n.smallDomain).length > 0;
      reference = {
        kind: "numeric",
        count,
        std: n.std,
        values: exact ? n.values : n.quantiles,
        exact,
        histogramEdges: n.histogramEdges,
        histogramCounts: n.histogramCounts.map(Number),
        // Window values are keyed by String(number), as the profile's small domain is.
        ...(small ? { frequencies: new Map(Object.entries(n.smallDomain).map(([k, v]) => [k, Number(v)])) } : {}),
      };
    } else if (f.kind === FeatureKind.CATEGORICAL && f.categorical) {
      reference = { kind: "categorical", count, frequencies: new Map(Object.entries(f.categorical.frequencies).map(([k, v]) => [k, Number(v)])) };
    }
    if (!reference || count === 0) continue;
    (role === "input" ? result.inputs : result.outputs).set(f.name, reference);
    result.locations.set(f.name, { ...parseFeatureName(f.name), role, kind: reference.kind });
  }
  return result;
}
