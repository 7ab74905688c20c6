/** One stored value and the revision that wrote it. */
export interface KvEntry {
  value: Uint8Array;
  /** Increases with every write to the store (any key); pass it back to update() for compare-and-set. */
  revision: number;
}

/** A change seen by watch(). */
export interface KvChange {
  key: string;
  operation: "put" | "delete";
  revision: number;
  /** The new value; undefined for a delete. */
  value?: Uint8Array;
}

/** Stops a watch; resolves once no more changes will be delivered. */
export type StopWatch = () => Promise<void>;

/**
 * A key-value store with compare-and-set, for metadata (registry) and
 * membership. Two adapters pass the same contract suite
 * (test/contract/kv-store.test.ts): a NATS JetStream KV bucket and an
 * in-memory map.
 *
 * Keys use the NATS KV alphabet, `[-/_=.a-zA-Z0-9]`, with `.` separating
 * tokens (no empty token, no leading or trailing `.`); anything else is
 * INVALID_ARGUMENT in both adapters. Values are at most KV_MAX_VALUE_BYTES.
 */
export interface KvStore {
  /** The live value, or undefined when the key is absent or deleted. */
  get(key: string): Promise<KvEntry | undefined>;
  /** Writes a new key; ALREADY_EXISTS when it is present. Returns the revision. */
  create(key: string, value: Uint8Array): Promise<number>;
  /**
   * Writes the key only if its current revision is `expectedRevision`;
   * ABORTED ("changed concurrently, retry") otherwise, including when the
   * key was deleted meanwhile. Returns the new revision.
   */
  update(key: string, value: Uint8Array, expectedRevision: number): Promise<number>;
  /** Writes the key whatever it holds. Returns the revision. */
  put(key: string, value: Uint8Array): Promise<number>;
  /**
   * Deletes the key (deleting an absent key is not an error). With
   * `expectedRevision`, only if the key is still at that revision (ABORTED
   * otherwise).
   */
  delete(key: string, expectedRevision?: number): Promise<void>;
  /** Live keys starting with `prefix` (a plain string prefix), sorted. */
  keys(prefix?: string): Promise<string[]>;
  /**
   * Calls `onChange` for every change, after this resolves, to keys starting
   * with `prefix`, in revision order. Only changes: to follow a state, watch
   * first, then read keys()/get(), and keep the higher revision per key.
   * Keys that expire by TTL are not reported.
   */
  watch(prefix: string, onChange: (change: KvChange) => void | Promise<void>): Promise<StopWatch>;
  /** Releases what the adapter holds (watchers); the connection is the caller's. */
  close(): Promise<void>;
}

/**
 * The largest value either adapter accepts: a value travels as one NATS
 * message, and the server's default max_payload is 1 MiB; this leaves room
 * for headers. Large data belongs in the ObjectStore.
 */
export const KV_MAX_VALUE_BYTES = 1_000_000;
