import { aborted, unavailable } from "../errors/index.js";
import type { KvStore } from "../store/index.js";

export type KvWrite = "create" | "update" | "put" | "delete";

/**
 * What a faulty store does to one write:
 * - "conflict": refuses it as a concurrent change (ABORTED), not applied;
 * - "unavailable": fails it with UNAVAILABLE, not applied;
 * - "unavailable-after-write": applies it, then answers UNAVAILABLE (a timeout after the write landed);
 * - "crash": applies nothing and every later call fails, as if the process had died here.
 */
export type KvFault = "conflict" | "unavailable" | "unavailable-after-write" | "crash";

export interface KvFaultRule {
  fault: KvFault;
  /** Which writes it hits. Default: any. */
  write?: KvWrite;
  /** Keys starting with this. Default: any key. */
  keyPrefix?: string;
  /** How many matching writes it hits, then it is spent. Default 1. */
  times?: number;
}

export interface FaultyKvStore extends KvStore {
  /** Adds a rule; rules are tried in the order added. */
  inject(rule: KvFaultRule): void;
  /** Writes the rules hit so far, as "write key fault". */
  readonly hits: readonly string[];
  /** True once a "crash" rule fired. */
  readonly crashed: boolean;
}

/**
 * Wraps a real KvStore and fails chosen writes in chosen ways, for tests
 * of what a service leaves behind when a write goes wrong. Reads and the
 * other writes pass through to the real store.
 */
export function faultyKvStore(inner: KvStore): FaultyKvStore {
  const rules: Array<Required<Omit<KvFaultRule, "write" | "keyPrefix">> & KvFaultRule> = [];
  const hits: string[] = [];
  let crashed = false;
  const gone = () => unavailable("the store is gone (injected crash)");

  async function write<T>(kind: KvWrite, key: string, run: () => Promise<T>, conflict: () => Error): Promise<T> {
    if (crashed) throw gone();
    const rule = rules.find((r) => r.times > 0 && (r.write === undefined || r.write === kind) && key.startsWith(r.keyPrefix ?? ""));
    if (!rule) return run();
    rule.times--;
    hits.push(`${kind} ${key} ${rule.fault}`);
    switch (rule.fault) {
      case "conflict":
        throw conflict();
      case "unavailable":
        throw unavailable(`injected: NATS did not answer writing "${key}"`);
      case "unavailable-after-write":
        await run();
        throw unavailable(`injected: NATS did not answer in time writing "${key}" (it was written)`);
      case "crash":
        crashed = true;
        throw gone();
    }
  }

  const guard = <T>(run: () => Promise<T>) => (crashed ? Promise.reject(gone()) : run());
  const conflict = (key: string) => () => aborted(`injected: key "${key}" changed concurrently: read it again and retry`);

  return {
    get: (key) => guard(() => inner.get(key)),
    keys: (prefix) => guard(() => inner.keys(prefix)),
    watch: (prefix, onChange) => inner.watch(prefix, onChange),
    close: () => inner.close(),
    create(key, value) {
      return write("create", key, () => inner.create(key, value), conflict(key));
    },
    update(key, value, expectedRevision) {
      return write("update", key, () => inner.update(key, value, expectedRevision), conflict(key));
    },
    put(key, value) {
      return write("put", key, () => inner.put(key, value), conflict(key));
    },
    delete(key, expectedRevision) {
      return write("delete", key, () => inner.delete(key, expectedRevision), conflict(key));
    },
    inject(rule) {
      rules.push({ ...rule, times: rule.times ?? 1 });
    },
    get hits() {
      return hits;
    },
    get crashed() {
      return crashed;
    },
  };
}
