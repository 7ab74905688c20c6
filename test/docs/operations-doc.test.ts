import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../mesh/launcher/repo-root.js";

// docs/operations.md is the map of every variable the mesh reads: this keeps it so.
const root = repoRoot();
// TESSERA_ names in code that are not environment variables.
const NOT_VARIABLES = new Set([
  "TESSERA_VERSION", // the replica's server version constant
  "TESSERA_X", // a placeholder in a comment
]);

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "gen" && entry.name !== "node_modules") out.push(...(await sourceFiles(path)));
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".spec.ts")) {
      out.push(path);
    }
  }
  return out;
}

/** Each name found, with the first file it is in. */
async function namesInCode(pattern: RegExp): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const folder of ["libs", "services", "mesh"]) {
    for (const file of await sourceFiles(join(root, folder))) {
      for (const match of (await readFile(file, "utf8")).matchAll(pattern)) {
        if (!found.has(match[1]!)) found.set(match[1]!, relative(root, file));
      }
    }
  }
  return found;
}

describe("docs/operations.md", () => {
  it("lists every TESSERA_* name the code uses (variables, streams)", async () => {
    const doc = await readFile(join(root, "docs", "operations.md"), "utf8");
    const missing = [...(await namesInCode(/\b(TESSERA_[A-Z0-9_]*[A-Z0-9])\b/g))]
      .filter(([name]) => !NOT_VARIABLES.has(name) && !new RegExp(`\\b${name}\\b`).test(doc))
      .map(([name, file]) => `${name} (${file})`);
    expect(missing, "add these to docs/operations.md (or, if not a variable, to NOT_VARIABLES here)").toEqual([]);
  });

  it("lists every other variable a config reader reads (NATS_*, REDIS_URL, OTEL_*)", async () => {
    const doc = await readFile(join(root, "docs", "operations.md"), "utf8");
    const read = await namesInCode(/\(env, *"((?:NATS|REDIS|OTEL)_[A-Z0-9_]+)"/g);
    for (const name of ["OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"]) read.set(name, "libs/telemetry");
    const missing = [...read].filter(([name]) => !doc.includes(`\`${name}\``)).map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });

  it("lists no TESSERA_* variable the code no longer reads", async () => {
    const doc = await readFile(join(root, "docs", "operations.md"), "utf8");
    const inCode = await namesInCode(/\b(TESSERA_[A-Z0-9_]*[A-Z0-9])\b/g);
    const stale = [...new Set(doc.match(/\bTESSERA_[A-Z0-9_]*[A-Z0-9]\b/g) ?? [])].filter((name) => !inCode.has(name));
    expect(stale).toEqual([]);
  });
});
