import { status, type Metadata } from "@grpc/grpc-js";

/**
 * A failed call as gRPC reports it: code, message, trailing metadata. What
 * a replica answered passes to the caller unchanged; what the router
 * decides (no replica, budget spent) is made here.
 */
export class UpstreamError extends Error {
  constructor(
    readonly code: status,
    readonly details: string,
    readonly metadata?: Metadata,
  ) {
    super(details);
  }
}

/** Codes that say the replica is unwell, not that the request was bad. */
export function isReplicaFailure(code: status): boolean {
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED || code === status.INTERNAL || code === status.UNKNOWN;
}

/**
 * Codes worth another replica: it never ran the request (UNAVAILABLE,
 * connection refused) or had no room (RESOURCE_EXHAUSTED).
 */
export function isRetryable(code: status): boolean {
  return code === status.UNAVAILABLE || code === status.RESOURCE_EXHAUSTED;
}
