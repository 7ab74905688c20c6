/**
 * How the router tells a replica why a request reached its version, so the
 * replica's prediction log carries the route decision (RouteDecision in
 * prediction_log.proto). The router sets both on every attempt, replacing
 * whatever the caller sent; a call that did not come through a router has
 * neither, and its log says "direct" or "alias".
 */
export const ROUTE_REASON_HEADER = "x-tessera-route-reason";
export const ROUTE_REVISION_HEADER = "x-tessera-route-revision";

/** The reasons a router gives (its RouteKind). */
const REASONS = new Set(["pinned", "sticky", "split", "fallback", "direct", "shadow"]);

export interface RouteHeaders {
  readonly reason: string;
  readonly revision: bigint;
}

/** The router's decision from a request's headers; undefined when it has none (or one we do not know). */
export function routeFromHeaders(get: (name: string) => string | null | undefined): RouteHeaders | undefined {
  const reason = get(ROUTE_REASON_HEADER);
  if (!reason || !REASONS.has(reason)) return undefined;
  const revision = get(ROUTE_REVISION_HEADER);
  return { reason, revision: revision && /^\d{1,19}$/.test(revision) ? BigInt(revision) : 0n };
}
