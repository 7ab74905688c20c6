import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository root: the nearest folder above this file holding
 * package.json. Works from the sources (mesh/launcher) and from the build
 * (dist/mesh/launcher) alike, whatever the working directory.
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}; is tessera installed whole?`);
    dir = parent;
  }
  return dir;
}

/** The compiled entry point of a service: <root>/dist/services/<name>/main.js. */
export function serviceEntry(name: "registry" | "inference" | "monitoring" | "feature" | "router", root = repoRoot()): string {
  return join(root, "dist", "services", name, "main.js");
}
