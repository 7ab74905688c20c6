import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ModelSource } from "./session.js";

/**
 * Bytes a session would load: the model's bytes, or for a file in the
 * cache (one folder per version, ModelCache) every file of its folder, so
 * external data beside a small model.onnx counts too. Counting stops once
 * past `limit` (the answer is then some total over it), so a model in a
 * big shared folder costs a bounded walk. Undefined when the folder cannot
 * be read.
 */
export async function modelBytes(model: ModelSource, limit: number): Promise<number | undefined> {
  if (typeof model !== "string") return model.byteLength;
  try {
    return await folderBytes(dirname(model), limit, 0);
  } catch {
    return undefined;
  }
}

async function folderBytes(dir: string, limit: number, sofar: number): Promise<number> {
  let total = sofar;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (total > limit) break;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total = await folderBytes(path, limit, total);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}
