import { aborted, alreadyExists, type ConnectError } from "../errors/index.js";

/** @internal The errors both KvStore adapters raise, word for word. */
export const kvErrors = {
  changedConcurrently(key: string, expectedRevision: number, cause?: unknown): ConnectError {
    return aborted(
      `key "${key}" changed concurrently (expected revision ${expectedRevision}): read it again and retry`,
      cause,
    );
  },
  alreadyExists(key: string, cause?: unknown): ConnectError {
    return alreadyExists(`key "${key}" already exists: read it and update() it instead`, cause);
  },
};
