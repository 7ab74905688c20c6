import type { Route } from "../../../libs/gen/tessera/router/v1/router_pb.js";

/**
 * What is wrong with a route, as messages a person can act on; empty when
 * it is valid. Shape only: whether the versions exist is the registry's to
 * say (checkVersionsExist).
 */
export function routeProblems(route: Route): string[] {
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(route.model)) problems.push(`model "${route.model}" is not a model name (lower-case letters, digits, '-' and '_', at most 63)`);
  if (route.splits.length === 0) problems.push("splits is empty: give at least one {version, weight}");
  const seen = new Set<number>();
  let total = 0;
  for (const split of route.splits) {
    if (split.version === 0) problems.push("a split names version 0: versions start at 1");
    if (seen.has(split.version)) problems.push(`version ${split.version} appears twice in splits`);
    seen.add(split.version);
    total += split.weight;
  }
  if (route.splits.length > 0 && total !== 100) problems.push(`split weights sum to ${total}; they must sum to 100`);
  if (route.shadow && route.shadow.percent > 100) problems.push(`shadow.percent is ${route.shadow.percent}; it must be 0-100`);
  if (route.shadow && route.shadow.percent > 0 && route.shadow.version === 0) problems.push("shadow.percent is set but shadow.version is 0");
  if (route.stickyHeader !== "" && !/^[a-z0-9-]+$/.test(route.stickyHeader)) problems.push(`sticky_header "${route.stickyHeader}" is not a lower-case metadata key`);
  if (route.stickyHeader.endsWith("-bin")) problems.push("sticky_header may not be a binary (-bin) header");
  return problems;
}

/** Every version a route names: splits, shadow, fallback. */
export function routeVersions(route: Route): number[] {
  const versions = new Set(route.splits.map((s) => s.version));
  if (route.shadow && route.shadow.version !== 0) versions.add(route.shadow.version);
  if (route.fallbackVersion !== 0) versions.add(route.fallbackVersion);
  return [...versions].sort((a, b) => a - b);
}
