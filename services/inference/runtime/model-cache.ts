import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataLoss, invalidArgument } from "../../../libs/errors/index.js";

/** Where artifacts go unless TESSERA_MODEL_CACHE_DIR says otherwise. */
export const DEFAULT_MODEL_CACHE_DIR = join(tmpdir(), "tessera-models");

/** The file name of a model inside its sha256's folder. */
const MODEL_FILE = "model.onnx";

/**
 * Model artifacts on local disk, one folder per sha256 (`<dir>/<sha256>/model.onnx`),
 * so each session thread loads the model from the file itself: the weights
 * are held once per session, never posted through the main thread to each
 * worker, and an ONNX model's external data files beside it are found.
 *
 * A file is written to a temporary name and renamed into place, so a
 * crash or a concurrent writer (another replica on the same disk) never
 * leaves a half-written model under the final name; a file already there is
 * used only when its sha256 checks out.
 */
export class ModelCache {
  constructor(readonly dir: string = DEFAULT_MODEL_CACHE_DIR) {}

  /** The path a model with this sha256 has in the cache (whether or not it is there yet). */
  pathOf(sha256: string): string {
    return join(this.folderOf(sha256), MODEL_FILE);
  }

  /**
   * Writes `bytes` (whose sha256 the caller was told) unless a good copy is
   * there already; returns the file's path. DATA_LOSS when the bytes do not
   * hash to `sha256`.
   */
  async put(sha256: string, bytes: Uint8Array): Promise<string> {
    const folder = this.folderOf(sha256);
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== sha256) throw dataLoss(`the model's bytes hash to ${actual}, not the ${sha256} recorded for them; upload the artifact again`);
    const path = join(folder, MODEL_FILE);
    if (await this.has(sha256)) return path;
    await mkdir(folder, { recursive: true });
    const temp = join(folder, `.${MODEL_FILE}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await writeFile(temp, bytes, { flag: "wx" });
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return path;
  }

  /** Whether a model with this sha256 is in the cache, whole (its bytes hashed again). */
  async has(sha256: string): Promise<boolean> {
    const path = this.pathOf(sha256);
    try {
      if (!(await stat(path)).isFile()) return false;
    } catch {
      return false;
    }
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest("hex") === sha256;
  }

  private folderOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw invalidArgument(`"${sha256}" is not a sha256 (64 lowercase hex digits)`);
    return join(this.dir, sha256);
  }
}
