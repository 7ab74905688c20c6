#!/usr/bin/env node
// Fails when package-lock.json lacks an optional dependency of a locked
// package (say @rollup/rollup-darwin-arm64 for rollup, or @bufbuild/buf-win32-x64
// for @bufbuild/buf). A lock made through a registry mirror that hides other
// platforms' binaries looks fine on this machine, but `npm ci` refuses it on
// every other one ("Missing: ... from lock file"). Regenerate the lock
// against a registry that serves every platform's packages.
import { readFileSync } from "node:fs";

const lock = JSON.parse(readFileSync(new URL("../package-lock.json", import.meta.url), "utf8"));
const packages = lock.packages ?? {};

/** Where npm would resolve `name` from the package at `path`: its own node_modules, then each parent's. */
function resolves(path, name) {
  let dir = path;
  for (;;) {
    if (packages[`${dir ? `${dir}/` : ""}node_modules/${name}`]) return true;
    if (!dir) return false;
    const cut = dir.lastIndexOf("/node_modules/");
    dir = cut === -1 ? "" : dir.slice(0, cut);
  }
}

const missing = [];
for (const [path, entry] of Object.entries(packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    if (!resolves(path, name)) missing.push(`${name} (optional dependency of ${path || "the root"})`);
  }
}

if (missing.length > 0) {
  process.stderr.write(
    `package-lock.json lacks ${missing.length} optional package(s), so npm ci fails on other platforms:\n` +
      missing.map((m) => `  ${m}\n`).join("") +
      "Regenerate it (rm package-lock.json && npm install) against a registry that serves every platform's packages.\n",
  );
  process.exit(1);
}
