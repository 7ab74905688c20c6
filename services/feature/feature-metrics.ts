import { Counter, Gauge, type Registry } from "prom-client";

/** The feature service's own metrics (names tessera_feature_<what>_<unit>). */
export interface FeatureMetrics {
  valuesServed: Counter<"view" | "status">;
  rowsWritten: Counter<"view" | "source">;
  rowsStale: Counter<"view" | "source">;
  rowsRejected: Counter<"view" | "source">;
  ingestLag: Gauge<"view">;
  cacheLookups: Counter<"result">;
}

export function createFeatureMetrics(registry: Registry): FeatureMetrics {
  return {
    valuesServed: new Counter({
      name: "tessera_feature_values_served_total",
      help: "Feature values answered by GetOnlineFeatures, by view and status (present, not_found, outside_max_age)",
      labelNames: ["view", "status"],
      registers: [registry],
    }),
    rowsWritten: new Counter({
      name: "tessera_feature_rows_written_total",
      help: "Rows written to the online store, by view and source (write, push)",
      labelNames: ["view", "source"],
      registers: [registry],
    }),
    rowsStale: new Counter({
      name: "tessera_feature_rows_stale_total",
      help: "Rows skipped because a newer event was already stored",
      labelNames: ["view", "source"],
      registers: [registry],
    }),
    rowsRejected: new Counter({
      name: "tessera_feature_rows_rejected_total",
      help: "Rows refused by validation (push: sent to the dead-letter subject)",
      labelNames: ["view", "source"],
      registers: [registry],
    }),
    ingestLag: new Gauge({
      name: "tessera_feature_ingest_lag_seconds",
      help: "Push ingestion: seconds between a message's publish and its write to the online store (last message)",
      labelNames: ["view"],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: "tessera_feature_cache_lookups_total",
      help: "In-process cache lookups by result (hit, miss); only when the cache is on",
      labelNames: ["result"],
      registers: [registry],
    }),
  };
}
