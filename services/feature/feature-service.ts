import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { invalidArgument, notFound } from "../../libs/errors/index.js";
import {
  ApplyAction,
  type AppliedDefinition,
  type Entity,
  type FeatureService,
  type FeatureView,
} from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import type { OnlineStore } from "../../libs/online-store/index.js";
import type { DefinitionCatalog, DefinitionWrite } from "./definition-catalog.js";
import type { FeatureEvents } from "./feature-events.js";
import type { FeatureMetrics } from "./feature-metrics.js";
import { planRead } from "./feature-refs.js";
import type { FeatureWriter } from "./feature-writer.js";
import { planEntity, planFeatureView } from "./plan-apply.js";
import { readOnlineFeatures } from "./read-online-features.js";
import { validateEntity, validateFeatureView } from "./validate-definitions.js";

/** Most entity keys in one GetOnlineFeatures. */
export const MAX_ENTITY_KEYS = 10_000;

export interface FeatureServiceOptions {
  catalog: DefinitionCatalog;
  store: OnlineStore;
  writer: FeatureWriter;
  events: FeatureEvents;
  metrics: FeatureMetrics;
  pushSubjectPrefix: string;
  now?: () => number;
}

export function createFeatureService(options: FeatureServiceOptions): ServiceImpl<typeof FeatureService> {
  const { catalog, store, writer, events, metrics } = options;
  const now = options.now ?? Date.now;
  // Applies in this process run one at a time; across processes the KV's compare-and-set decides.
  let applying: Promise<unknown> = Promise.resolve();

  return {
    applyDefinitions(request) {
      const run = applying.then(async () => {
        const entities = uniqueByName(request.entities.map(validateEntity), "entity");
        const incoming = new Set(entities.map((e) => e.name));
        const views = uniqueByName(
          request.featureViews.map((view) => validateFeatureView(view, (name) => incoming.has(name) || catalog.entity(name) !== undefined, options.pushSubjectPrefix)),
          "feature view",
        );
        const stamp = timestampNow();
        const applied: AppliedDefinition[] = [];
        const writes: DefinitionWrite[] = [];
        for (const entity of entities) {
          const held = catalog.entity(entity.name);
          const planned = planEntity(held?.value, entity, stamp);
          applied.push({ $typeName: "tessera.feature.v1.AppliedDefinition", kind: "entity", name: entity.name, version: planned.record.version, action: planned.action });
          if (planned.action !== ApplyAction.UNCHANGED) writes.push({ entity: planned.record, expectedRevision: held?.revision ?? 0 });
        }
        for (const view of views) {
          const held = catalog.view(view.name);
          const planned = planFeatureView(held?.value, view, stamp);
          applied.push({ $typeName: "tessera.feature.v1.AppliedDefinition", kind: "feature_view", name: view.name, version: planned.record.version, action: planned.action });
          if (planned.action !== ApplyAction.UNCHANGED) writes.push({ view: planned.record, expectedRevision: held?.revision ?? 0 });
        }
        if (!request.dryRun) {
          await catalog.write(writes);
          for (const write of writes) {
            if (write.entity) await events.entityApplied({ entity: write.entity });
            if (write.view) await events.viewApplied({ featureView: write.view });
          }
        }
        return { applied };
      });
      applying = run.catch(() => undefined);
      return run;
    },

    listEntities() {
      return { entities: catalog.listEntities() };
    },

    listFeatureViews(request) {
      const views = catalog.listViews();
      return { featureViews: request.entity ? views.filter((view) => view.entities.includes(request.entity)) : views };
    },

    async describeFeatureView(request) {
      const current = catalog.view(request.name)?.value;
      if (!current) throw notFound(`feature view "${request.name}" is not defined; see ListFeatureViews`);
      const versions = await catalog.viewVersions(request.name);
      if (request.version === 0 || request.version === current.version) return { featureView: current, versions };
      const old = await catalog.viewVersion(request.name, request.version);
      if (!old) throw notFound(`feature view "${request.name}" has no version ${request.version} (it has ${versions.join(", ")})`);
      return { featureView: old, versions };
    },

    async writeOnlineFeatures(request) {
      if (!request.view) throw invalidArgument("view is required");
      return writer.write(request.view, request.rows, "write");
    },

    async getOnlineFeatures(request) {
      if (request.entityKeys.length === 0) throw invalidArgument("give at least one entity key");
      if (request.entityKeys.length > MAX_ENTITY_KEYS) throw invalidArgument(`${request.entityKeys.length} entity keys; at most ${MAX_ENTITY_KEYS} per call`);
      const plan = planRead(request.features, { view: (name) => catalog.view(name)?.value, entity: (name) => catalog.entity(name)?.value });
      const { columns, counts } = await readOnlineFeatures(store, plan, request.features, request.entityKeys, now());
      const label = plan.views.length === 1 ? plan.views[0]!.view.name : "(several)";
      if (counts.present) metrics.valuesServed.inc({ view: label, status: "present" }, counts.present);
      if (counts.notFound) metrics.valuesServed.inc({ view: label, status: "not_found" }, counts.notFound);
      if (counts.outsideMaxAge) metrics.valuesServed.inc({ view: label, status: "outside_max_age" }, counts.outsideMaxAge);
      return { entityKeys: request.entityKeys, columns };
    },
  };
}

function uniqueByName<T extends Entity | FeatureView>(items: T[], what: string): T[] {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.name)) throw invalidArgument(`${what} "${item.name}" appears twice in one apply`);
    seen.add(item.name);
  }
  return items;
}
