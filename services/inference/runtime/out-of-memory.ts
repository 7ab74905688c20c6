import type { ConnectError} from "../../../libs/errors/index.js";
import { Code, resourceExhausted } from "../../../libs/errors/index.js";

/**
 * Metadata key that tells a replica's out-of-memory apart from its other
 * RESOURCE_EXHAUSTED (a full queue): over gRPC both are RESOURCE_EXHAUSTED,
 * but REST answers 429 only for the one a retry can fix.
 */
const REASON_KEY = "tessera-error-reason";
const OUT_OF_MEMORY = "out-of-memory";

/** RESOURCE_EXHAUSTED for a run that ran out of memory on this replica. */
export function outOfMemory(message: string, cause?: unknown): ConnectError {
  const error = resourceExhausted(message, cause);
  error.metadata.set(REASON_KEY, OUT_OF_MEMORY);
  return error;
}

export function isOutOfMemory(error: ConnectError): boolean {
  return error.code === Code.ResourceExhausted && error.metadata.get(REASON_KEY) === OUT_OF_MEMORY;
}
