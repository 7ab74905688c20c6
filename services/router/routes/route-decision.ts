import type { Route } from "../../../libs/gen/tessera/router/v1/router_pb.js";
import { stableBucket } from "./stable-hash.js";

/** How the version was chosen; a span attribute and a metric label. */
export type RouteKind = "pinned" | "sticky" | "split" | "fallback" | "direct" | "shadow";

export interface RouteDecision {
  version: number;
  kind: RouteKind;
  /** A version to mirror this request to, when the shadow share drew it. */
  shadowVersion?: number;
}

export interface RouteInput {
  /** x-tessera-version, for debugging: overrides the split. */
  pinnedVersion?: number;
  /** The sticky header's value, when the caller sent one. */
  stickyKey?: string;
  /** [0, 1): the split for requests without a key, and the shadow draw. */
  random: () => number;
}

/**
 * Picks the version for a request on a routed model. Sticky keys hash to a
 * percentile, so a key keeps its version while the weights stay the same
 * and moves only if its percentile's version changes.
 */
export function decideRoute(route: Route, input: RouteInput): RouteDecision {
  const shadowVersion = drawShadow(route, input.random);
  if (input.pinnedVersion !== undefined) return { version: input.pinnedVersion, kind: "pinned", shadowVersion };
  if (input.stickyKey !== undefined && input.stickyKey !== "") {
    return { version: versionAt(route, stableBucket(`${route.model}\u0000${input.stickyKey}`, 100)), kind: "sticky", shadowVersion };
  }
  return { version: versionAt(route, Math.floor(input.random() * 100)), kind: "split", shadowVersion };
}

/** The version whose cumulative weight covers `percentile` (0-99). */
export function versionAt(route: Route, percentile: number): number {
  let covered = 0;
  for (const split of route.splits) {
    covered += split.weight;
    if (percentile < covered) return split.version;
  }
  // Only reachable with weights under 100, which validation refuses.
  return route.splits[route.splits.length - 1]?.version ?? 0;
}

function drawShadow(route: Route, random: () => number): number | undefined {
  const shadow = route.shadow;
  if (!shadow || shadow.percent === 0 || shadow.version === 0) return undefined;
  return random() * 100 < shadow.percent ? shadow.version : undefined;
}
