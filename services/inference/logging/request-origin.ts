import type { HeaderReader } from "../../../libs/host/index.js";
import { routeFromHeaders, type RouteHeaders } from "../../../libs/prediction-log/index.js";

/** What a request's metadata says about where it came from, for its prediction log. */
export interface RequestOrigin {
  /** W3C trace id (32 hex digits) of the caller's trace; the replica's span, when it records, shares it. */
  readonly traceId?: string;
  /** The entity the request was about: its one entity key, or the sticky key the router hashed. */
  readonly entityKey?: string;
  /** The router's decision (RouteDecision.reason, route_revision, shadow); none for a direct call. */
  readonly route?: RouteHeaders;
}

/** The router's default sticky-key header (docs/router.md); a route may name another, which the replica cannot know. */
const STICKY_KEY_HEADER = "x-tessera-key";
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Reads a request's origin from its headers. Called only when its log is
 * built (logging off costs nothing); several entity keys name no single
 * entity, so the log then carries none.
 */
export function requestOrigin(headers: Headers | HeaderReader, entityKeys: readonly string[] = []): RequestOrigin {
  const header: HeaderReader = typeof headers === "function" ? headers : (name) => headers.get(name) ?? undefined;
  const traceId = TRACEPARENT.exec(header("traceparent")?.trim().toLowerCase() ?? "")?.[1];
  const entityKey = entityKeys.length === 1 ? entityKeys[0] : header(STICKY_KEY_HEADER);
  const route = routeFromHeaders(header);
  return {
    ...(traceId && traceId !== "0".repeat(32) ? { traceId } : {}),
    ...(entityKey ? { entityKey } : {}),
    ...(route ? { route } : {}),
  };
}
