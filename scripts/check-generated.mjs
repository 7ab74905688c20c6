#!/usr/bin/env node
// Fails when libs/gen is not what `buf generate` makes from proto/ now:
// generated code is committed, so a proto edit without `npm run generate`
// must not slip through.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "tessera-gen-"));
try {
  execFileSync(join(root, "node_modules/.bin/buf"), ["generate", "--output", out], { cwd: root, stdio: "inherit" });
  const fresh = listFiles(join(out, "libs/gen"));
  const committed = listFiles(join(root, "libs/gen"));
  const problems = [];
  for (const file of new Set([...fresh, ...committed])) {
    if (!fresh.includes(file)) problems.push(`libs/gen/${file} is not generated from proto/ any more`);
    else if (!committed.includes(file)) problems.push(`libs/gen/${file} is missing`);
    else if (!readFileSync(join(out, "libs/gen", file)).equals(readFileSync(join(root, "libs/gen", file)))) problems.push(`libs/gen/${file} is out of date`);
  }
  if (problems.length > 0) {
    console.error(problems.join("\n") + "\nRun `npm run generate` and commit libs/gen.");
    process.exit(1);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

function listFiles(dir) {
  const files = [];
  const walk = (current) => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(relative(dir, path));
    }
  };
  walk(dir);
  return files.sort();
}
