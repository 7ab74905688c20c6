import { InvalidArgumentError } from "commander";
import type { Route, WeightedVersion } from "../../libs/gen/tessera/router/v1/router_pb.js";
import { formatTable } from "./format-table.js";

/**
 * `tessera routes`' table:
 *   MODEL  SPLITS     STICKY         SHADOW  FALLBACK  REVISION
 *   fraud  1:90 2:10  x-tessera-key  3 @ 5%  1         12
 */
export function formatRoutes(routes: readonly Route[]): string {
  if (routes.length === 0) return "no routes: models go to any replica serving them (set one with `tessera routes set <model> <version>=<weight> ...`)";
  return formatTable(
    ["MODEL", "SPLITS", "STICKY", "SHADOW", "FALLBACK", "DEGRADE", "REVISION"],
    routes.map((r) => [
      r.model,
      r.splits.map((s) => `${s.version}:${s.weight}`).join(" "),
      r.stickyHeader || "x-tessera-key",
      r.shadow && r.shadow.percent > 0 ? `${r.shadow.version} @ ${r.shadow.percent}%` : "-",
      r.fallbackVersion === 0 ? "-" : String(r.fallbackVersion),
      [r.serveCachedOnFailure ? "cached" : "", r.defaultResponse ? "default" : ""].filter(Boolean).join(",") || "-",
      String(r.revision),
    ]),
  );
}

/** "2=90" → {version: 2, weight: 90}, for `tessera routes set`. */
export function parseSplit(text: string): Pick<WeightedVersion, "version" | "weight"> {
  const match = /^([1-9]\d*)=(\d{1,3})$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`"${text}" is not <version>=<weight> (e.g. 2=90)`);
  return { version: Number(match[1]), weight: Number(match[2]) };
}

/** "3:5" → {version: 3, percent: 5}. */
export function parseShadow(text: string): { version: number; percent: number } {
  const match = /^([1-9]\d*):(\d{1,3})$/.exec(text.trim());
  if (!match || Number(match[2]) > 100) throw new InvalidArgumentError(`"${text}" is not <version>:<percent> (e.g. 3:5)`);
  return { version: Number(match[1]), percent: Number(match[2]) };
}
