import { silentLogger, type Logger } from "../log/index.js";
import { kvErrors } from "./kv-errors.js";
import type { KvChange, KvEntry, KvStore, StopWatch } from "./kv-store.js";
import { validateKvKey, validateKvPrefix, validateKvRevision, validateKvValue } from "./validate-kv.js";

export interface MemoryKvStoreOptions {
  /** Where a watcher's failing onChange is reported. Default: dropped. */
  logger?: Logger;
}

interface Watcher {
  prefix: string;
  onChange: (change: KvChange) => void | Promise<void>;
  queue: KvChange[];
  draining: boolean;
  stopped: boolean;
  idle: Promise<void>;
}

/**
 * The embedded KvStore: a map in this process, with one revision counter for
 * the whole store (as a NATS bucket's stream sequence), so code written
 * against it behaves the same on NATS. Values are copied in and out.
 */
export function createMemoryKvStore(options: MemoryKvStoreOptions = {}): KvStore {
  const logger = options.logger ?? silentLogger;
  const entries = new Map<string, KvEntry>();
  const watchers = new Set<Watcher>();
  let lastRevision = 0;

  function write(key: string, value: Uint8Array | undefined): number {
    const revision = ++lastRevision;
    if (value === undefined) entries.delete(key);
    else entries.set(key, { value: value.slice(), revision });
    for (const w of watchers) {
      if (!key.startsWith(w.prefix)) continue;
      const change: KvChange =
        value === undefined
          ? { key, operation: "delete", revision }
          : { key, operation: "put", revision, value: value.slice() };
      w.queue.push(change);
      drain(w);
    }
    return revision;
  }

  // Each watcher gets its changes in order, one at a time, like a NATS consumer.
  function drain(w: Watcher): void {
    if (w.draining) return;
    w.draining = true;
    w.idle = (async () => {
      // Deliver after the write returns, as a server round trip would.
      await Promise.resolve();
      while (!w.stopped && w.queue.length > 0) {
        const change = w.queue.shift() as KvChange;
        try {
          await w.onChange(change);
        } catch (err) {
          logger.warn("a KV watcher failed on a change", { key: change.key, error: err });
        }
      }
      w.draining = false;
    })();
  }

  return {
    async get(key) {
      validateKvKey(key);
      const entry = entries.get(key);
      return entry && { value: entry.value.slice(), revision: entry.revision };
    },
    async create(key, value) {
      validateKvKey(key);
      validateKvValue(key, value);
      if (entries.has(key)) throw kvErrors.alreadyExists(key);
      return write(key, value);
    },
    async update(key, value, expectedRevision) {
      validateKvKey(key);
      validateKvValue(key, value);
      validateKvRevision(key, expectedRevision);
      const current = entries.get(key);
      if (current?.revision !== expectedRevision) {
        throw kvErrors.changedConcurrently(key, expectedRevision);
      }
      return write(key, value);
    },
    async put(key, value) {
      validateKvKey(key);
      validateKvValue(key, value);
      return write(key, value);
    },
    async delete(key, expectedRevision) {
      validateKvKey(key);
      if (expectedRevision !== undefined) validateKvRevision(key, expectedRevision);
      const current = entries.get(key);
      if (expectedRevision !== undefined && current?.revision !== expectedRevision) {
        throw kvErrors.changedConcurrently(key, expectedRevision);
      }
      // Deleting an absent key still counts as a write, as on NATS (a delete marker).
      write(key, undefined);
    },
    async keys(prefix = "") {
      validateKvPrefix(prefix);
      return [...entries.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
    async watch(prefix, onChange): Promise<StopWatch> {
      validateKvPrefix(prefix);
      const w: Watcher = { prefix, onChange, queue: [], draining: false, stopped: false, idle: Promise.resolve() };
      watchers.add(w);
      return async () => {
        w.stopped = true;
        watchers.delete(w);
        await w.idle;
      };
    },
    async close() {
      for (const w of watchers) w.stopped = true;
      watchers.clear();
    },
  };
}
