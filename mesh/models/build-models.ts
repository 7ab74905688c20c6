// Entry point run by `npm run build` (as dist/mesh/models/build-models.js):
// writes the example models into <repo root>/models. No downloads.
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureExampleModels } from "./ensure-example-models.js";

/** The nearest directory above this file holding package.json: the repo root, from src or dist alike. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`build-models: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

const root = repoRoot();
const files = await ensureExampleModels(join(root, "models"));
for (const file of files) {
  const size = `${(file.bytes / 1e6).toFixed(2)} MB`.padStart(9);
  process.stdout.write(`${relative(root, file.path).padEnd(20)} ${size}  sha256 ${file.sha256.slice(0, 12)}  ${file.written ? "written" : "up to date"}\n`);
}
