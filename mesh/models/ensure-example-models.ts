import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exampleModels, type ExampleModel } from "./example-models.js";

export interface ExampleModelFile {
  name: string;
  /** Absolute or dir-relative path, as `dir` was given. */
  path: string;
  bytes: number;
  sha256: string;
  /** False when the file already held exactly these bytes. */
  written: boolean;
}

/**
 * Writes every example model into `dir` (created if missing). Idempotent: a
 * file already holding the right bytes is left alone; a stale or damaged one
 * is replaced. Each file is written to a temporary name and renamed, so a
 * reader running beside us (another test process) never sees half a model.
 */
export async function ensureExampleModels(dir: string, models: readonly ExampleModel[] = exampleModels): Promise<ExampleModelFile[]> {
  await mkdir(dir, { recursive: true });
  const files: ExampleModelFile[] = [];
  for (const model of models) {
    const bytes = model.build();
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const path = join(dir, model.file);
    const current = await readFile(path).catch(() => undefined);
    const upToDate = current !== undefined && createHash("sha256").update(current).digest("hex") === sha256;
    if (!upToDate) {
      const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      try {
        await writeFile(temporary, bytes);
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    }
    files.push({ name: model.name, path, bytes: bytes.length, sha256, written: !upToDate });
  }
  return files;
}
