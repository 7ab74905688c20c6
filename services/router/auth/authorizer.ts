import type { Metadata } from "@grpc/grpc-js";

/**
 * Decides whether a call may proceed: throws an UpstreamError with
 * UNAUTHENTICATED (no or bad credentials), PERMISSION_DENIED (this key may
 * not call that RPC or model) or RESOURCE_EXHAUSTED (its rate limit).
 */
export interface Authorizer {
  check(metadata: Metadata, rpcPath: string, model?: string): void | Promise<void>;
}

/** Auth off: only by explicit configuration (TESSERA_ROUTER_AUTH=off). */
export const openAccess: Authorizer = { check: () => {} };
