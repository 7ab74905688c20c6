import { LRUCache } from "lru-cache";
import type { OnlineRead, OnlineRecord, OnlineStore } from "./online-store.js";

export interface CacheOptions {
  /** How long a read row is served from memory, ms. Short: a cached row is up to this stale. */
  ttlMs: number;
  /** Rows kept at most; the least recently used go first. */
  maxEntries: number;
  /** Called per key looked up, for hit/miss metrics. */
  onLookup?: (result: "hit" | "miss") => void;
}

interface Held {
  /** The fields it was read with: a later read of other fields is a miss. */
  fields: string;
  record: OnlineRecord | undefined;
}

/**
 * An in-process LRU with a short TTL in front of an online store, for hot
 * entities (lru-cache: bounded by entry count, expiry per entry). Rows this
 * process writes are dropped from it at once; rows other processes write
 * are seen once the TTL passes, so it is off by default where freshness
 * matters. "Nothing stored" is cached too, so a hot unknown key does not
 * reach Redis every time.
 */
export function withCache(store: OnlineStore, options: CacheOptions): OnlineStore {
  const cache = new LRUCache<string, Held>({ max: options.maxEntries, ttl: options.ttlMs });
  const keyOf = (table: string, entityKey: string) => `${entityKey}\u0000${table}`;

  return {
    kind: `${store.kind}+cache`,
    async write(rows) {
      const result = await store.write(rows);
      for (const row of rows) cache.delete(keyOf(row.table, row.entityKey));
      return result;
    },
    async read(keys) {
      const answers = new Array<OnlineRecord | undefined>(keys.length);
      const missing: { index: number; key: OnlineRead; fields: string }[] = [];
      keys.forEach((key, index) => {
        const fields = key.fields.join(",");
        const held = cache.get(keyOf(key.table, key.entityKey));
        if (held && held.fields === fields) {
          answers[index] = held.record;
          options.onLookup?.("hit");
        } else {
          missing.push({ index, key, fields });
          options.onLookup?.("miss");
        }
      });
      if (missing.length > 0) {
        const fetched = await store.read(missing.map((m) => m.key));
        fetched.forEach((record, i) => {
          const { index, key, fields } = missing[i]!;
          answers[index] = record;
          cache.set(keyOf(key.table, key.entityKey), { fields, record });
        });
      }
      return answers;
    },
    ping: () => store.ping(),
    async close() {
      cache.clear();
      await store.close();
    },
  };
}
