import type { OnlineRead, OnlineRecord, OnlineStore, OnlineWrite, OnlineWriteResult } from "./online-store.js";

interface Held {
  eventTimeMs: number;
  fields: Map<string, Uint8Array>;
  /** Milliseconds since the epoch; Infinity: never. */
  expiresAt: number;
}

export interface MemoryOnlineStoreOptions {
  /** The clock; tests move it to check expiry. Default Date.now. */
  now?: () => number;
}

/** The embedded online store: a map in this process (one process only; gone when it stops). */
export function createMemoryOnlineStore(options: MemoryOnlineStoreOptions = {}): OnlineStore {
  const now = options.now ?? Date.now;
  const rows = new Map<string, Held>();
  const keyOf = (table: string, entityKey: string) => `${entityKey}\u0000${table}`;
  const live = (key: string): Held | undefined => {
    const held = rows.get(key);
    if (held && held.expiresAt <= now()) {
      rows.delete(key);
      return undefined;
    }
    return held;
  };

  return {
    kind: "memory",
    async write(batch: readonly OnlineWrite[]): Promise<OnlineWriteResult> {
      const applied = batch.map((row) => {
        const key = keyOf(row.table, row.entityKey);
        const held = live(key);
        if (held && held.eventTimeMs > row.eventTimeMs) return false;
        rows.set(key, {
          eventTimeMs: row.eventTimeMs,
          // Copies: the caller may reuse its buffers.
          fields: new Map([...row.fields].map(([name, value]) => [name, Uint8Array.from(value)])),
          expiresAt: row.ttlMs ? now() + row.ttlMs : Infinity,
        });
        return true;
      });
      return { applied };
    },
    async read(keys: readonly OnlineRead[]): Promise<(OnlineRecord | undefined)[]> {
      return keys.map((key) => {
        const held = live(keyOf(key.table, key.entityKey));
        if (!held) return undefined;
        const fields = new Map<string, Uint8Array>();
        for (const name of key.fields) {
          const value = held.fields.get(name);
          if (value) fields.set(name, value);
        }
        return { eventTimeMs: held.eventTimeMs, fields };
      });
    },
    ping: async () => true,
    async close() {
      rows.clear();
    },
  };
}
