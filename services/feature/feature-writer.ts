import { notFound } from "../../libs/errors/index.js";
import type { FeatureRow } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import type { OnlineStore } from "../../libs/online-store/index.js";
import type { DefinitionCatalog } from "./definition-catalog.js";
import type { FeatureMetrics } from "./feature-metrics.js";
import { prepareRows } from "./prepare-rows.js";

export type WriteSource = "write" | "push";

/** Validated writes into the online store, shared by WriteOnlineFeatures and push ingestion. */
export class FeatureWriter {
  constructor(
    private readonly catalog: DefinitionCatalog,
    private readonly store: OnlineStore,
    private readonly metrics: FeatureMetrics,
    private readonly options: { maxFutureSkewMs: number; now?: () => number },
  ) {}

  /** Checks every row, then writes them all; INVALID_ARGUMENT (nothing written) for any bad row. */
  async write(viewName: string, rows: readonly FeatureRow[], source: WriteSource): Promise<{ written: number; stale: number }> {
    const view = this.catalog.view(viewName)?.value;
    if (!view) throw notFound(`feature view "${viewName}" is not defined; apply it first (tessera features apply)`);
    const entity = this.catalog.entity(view.entities[0]!)?.value;
    if (!entity) throw notFound(`entity "${view.entities[0]}" of view "${viewName}" is not defined`);
    let prepared;
    try {
      prepared = prepareRows(view, entity, rows, { nowMs: (this.options.now ?? Date.now)(), maxFutureSkewMs: this.options.maxFutureSkewMs });
    } catch (error) {
      this.metrics.rowsRejected.inc({ view: viewName, source }, rows.length);
      throw error;
    }
    const { applied } = await this.store.write(prepared);
    const written = applied.filter(Boolean).length;
    this.metrics.rowsWritten.inc({ view: viewName, source }, written);
    if (written < applied.length) this.metrics.rowsStale.inc({ view: viewName, source }, applied.length - written);
    return { written, stale: applied.length - written };
  }
}
