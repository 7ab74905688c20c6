/** What the store knows about one object. */
export interface ObjectInfo {
  name: string;
  /** Bytes. */
  size: number;
  /** SHA-256 of the content, lowercase hex. */
  sha256: string;
}

/** Content to store: one buffer, or a stream of chunks (a file read stream, an upload). */
export type ObjectSource = AsyncIterable<Uint8Array> | Uint8Array;

/**
 * Large binary objects (model artifacts), streamed in and out so a 500 MB
 * model never sits in memory. Two adapters pass the same contract suite
 * (test/contract/object-store.test.ts): a NATS JetStream Object Store bucket
 * and a local directory.
 *
 * Names use `[-/_=.a-zA-Z0-9]`, 1 to 255 characters (INVALID_ARGUMENT
 * otherwise), e.g. `sha256/9f86d0…` or `models/iris/3/model.onnx`.
 */
export interface ObjectStore {
  /**
   * Stores `source` under `name`, replacing any object there. All or
   * nothing: if the source throws midway, nothing is stored (and an older
   * object under that name stays), and put rethrows the source's error.
   */
  put(name: string, source: ObjectSource): Promise<ObjectInfo>;
  /**
   * The content, read lazily in chunks, or undefined when absent. The SHA-256
   * is checked as it is read: a mismatch fails the iteration with DATA_LOSS.
   * Iterate it to the end (or break out of the loop) so its resources are freed.
   */
  get(name: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  info(name: string): Promise<ObjectInfo | undefined>;
  has(name: string): Promise<boolean>;
  /** Removes the object; false when there was none. */
  delete(name: string): Promise<boolean>;
  /**
   * Gives the object `from` the name `to` without copying its content (an
   * upload stored under a temporary name, then named by its sha256).
   * NOT_FOUND when `from` is absent, ALREADY_EXISTS when `to` is present.
   */
  rename(from: string, to: string): Promise<ObjectInfo>;
}
