/** Where one entity's values for one table (a feature view) live. */
export interface OnlineKey {
  /** The table, e.g. a feature view name (with its namespace). */
  table: string;
  /**
   * The entity key, qualified by entity (e.g. "card:9"). It is the Redis
   * Cluster hash tag: every table of one entity lands in one slot.
   */
  entityKey: string;
}

/** One row to write: it replaces what the table holds for the entity, unless that is newer. */
export interface OnlineWrite extends OnlineKey {
  /** Event time in milliseconds since the epoch: the newer event wins. */
  eventTimeMs: number;
  /** Field name to encoded value. Names must not start with '_' (reserved). */
  fields: ReadonlyMap<string, Uint8Array>;
  /** Expire the row this long after the write; 0 or absent: never. */
  ttlMs?: number;
}

export interface OnlineRead extends OnlineKey {
  /** Fields to return (others stay in the store). */
  fields: readonly string[];
}

/** What is stored for one (table, entity): only the asked fields that exist. */
export interface OnlineRecord {
  eventTimeMs: number;
  fields: Map<string, Uint8Array>;
}

export interface OnlineWriteResult {
  /** Per row, in order: true if written, false if a newer event was stored (left as it was). */
  applied: boolean[];
}

/**
 * The online feature store: the latest row per (table, entity). Adapters
 * (Redis, Redis Cluster, memory) pass one contract suite
 * (test/contract/online-store.test.ts).
 *
 * Last writer wins by event time, decided atomically where the data is
 * (a Lua script on Redis): an older event never overwrites a newer one,
 * an equal one does (a retry is harmless). Callers validate a batch before
 * write(); the store writes it whole or fails with UNAVAILABLE.
 */
export interface OnlineStore {
  /** "redis", "redis-cluster" or "memory": which adapter, for logs and `up`. */
  readonly kind: string;
  write(rows: readonly OnlineWrite[]): Promise<OnlineWriteResult>;
  /** One answer per key, in order (duplicates answered each time); undefined: nothing stored. One round trip per Redis node. */
  read(keys: readonly OnlineRead[]): Promise<(OnlineRecord | undefined)[]>;
  /** True once the store answers (for /readyz and tests of recovery). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
