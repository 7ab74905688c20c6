import { invalidArgument, notFound } from "../../libs/errors/index.js";
import type { Entity, Feature, FeatureView } from "../../libs/gen/tessera/feature/v1/feature_pb.js";

/** Most feature references in one read. */
export const MAX_FEATURE_REFS = 1000;

/** The views one read touches and, per view, which of its features go to which response column. */
export interface ReadPlan {
  entity: Entity;
  views: { view: FeatureView; features: Feature[]; columns: number[] }[];
}

/**
 * Resolves `view:feature` references against the definitions. An unknown
 * view or feature is NOT_FOUND naming it; views keyed by different
 * entities in one read are INVALID_ARGUMENT (one list of keys answers one
 * entity).
 */
export function planRead(
  refs: readonly string[],
  lookup: { view(name: string): FeatureView | undefined; entity(name: string): Entity | undefined },
): ReadPlan {
  if (refs.length === 0) throw invalidArgument("name at least one feature, as view:feature");
  if (refs.length > MAX_FEATURE_REFS) throw invalidArgument(`${refs.length} feature references; at most ${MAX_FEATURE_REFS}`);
  const byView = new Map<string, ReadPlan["views"][number]>();
  let entityName: string | undefined;
  refs.forEach((ref, column) => {
    const colon = ref.indexOf(":");
    if (colon <= 0 || colon === ref.length - 1) throw invalidArgument(`feature reference "${ref}" is not view:feature`);
    const viewName = ref.slice(0, colon);
    const featureName = ref.slice(colon + 1);
    let planned = byView.get(viewName);
    if (!planned) {
      const view = lookup.view(viewName);
      if (!view) throw notFound(`feature view "${viewName}" (in "${ref}") is not defined; see ListFeatureViews`);
      planned = { view, features: [], columns: [] };
      byView.set(viewName, planned);
    }
    const feature = planned.view.features.find((f) => f.name === featureName);
    if (!feature) {
      throw notFound(`feature view "${viewName}" has no feature "${featureName}" (it has ${planned.view.features.map((f) => f.name).join(", ")})`);
    }
    const viewEntity = planned.view.entities[0]!;
    if (entityName !== undefined && entityName !== viewEntity) {
      throw invalidArgument(`"${ref}" is keyed by entity "${viewEntity}" but earlier features by "${entityName}"; read each entity's features in its own call`);
    }
    entityName = viewEntity;
    planned.features.push(feature);
    planned.columns.push(column);
  });
  const entity = lookup.entity(entityName!);
  if (!entity) throw notFound(`entity "${entityName}" is not defined`);
  return { entity, views: [...byView.values()] };
}
