import type { ConnectError } from "../../libs/errors/index.js";

/**
 * Why a RESOURCE_EXHAUSTED happened, where its gRPC code cannot say: a full
 * queue (a retry helps: REST 429), a run out of memory (REST 500), a body
 * too large (REST 413). Carried in the error's metadata, so it also reaches
 * gRPC clients as a trailer they can read.
 */
export type ErrorReason = "out-of-memory" | "payload-too-large";

const REASON_KEY = "tessera-error-reason";

/** Marks `error` with its reason; returns it. */
export function withReason(error: ConnectError, reason: ErrorReason): ConnectError {
  error.metadata.set(REASON_KEY, reason);
  return error;
}

export function reasonOf(error: ConnectError): ErrorReason | undefined {
  const value = error.metadata.get(REASON_KEY);
  return value === "out-of-memory" || value === "payload-too-large" ? value : undefined;
}
