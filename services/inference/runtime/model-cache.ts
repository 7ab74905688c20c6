import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { dataLoss, invalidArgument } from "../../../libs/errors/index.js";
import { artifactPathProblem, MODEL_FILE_NAME } from "../../../libs/registry-client/index.js";

/** Where artifacts go unless TESSERA_MODEL_CACHE_DIR says otherwise. */
export const DEFAULT_MODEL_CACHE_DIR = join(tmpdir(), "tessera-models");

/** One file of a version in its folder: path "" is the model file, anything else an external data file beside it. */
export interface CachedFile {
  path: string;
  sha256: string;
}

/**
 * Model artifacts on local disk, one folder per artifact digest
 * (`<dir>/<digest>/model.onnx`, its external data files beside it under the
 * paths the model names: `<dir>/<digest>/weights.bin`). The digest is the
 * model's sha256 for a model in one file, and covers every file otherwise
 * (artifactDigest), so one folder never mixes two versions' weights. Each
 * session thread loads the model from the file itself: the weights are held
 * once per session, never posted through the main thread to each worker,
 * and onnxruntime finds the external data files beside the model.
 *
 * Each file is written to a temporary name and renamed into place, so a
 * crash or a concurrent writer (another replica on the same disk) never
 * leaves a half-written file under its final name; a file already there is
 * used only when its sha256 checks out.
 */
export class ModelCache {
  constructor(readonly dir: string = DEFAULT_MODEL_CACHE_DIR) {}

  /** The path the model file with this digest has in the cache (whether or not it is there yet). */
  pathOf(digest: string): string {
    return join(this.folderOf(digest), MODEL_FILE_NAME);
  }

  /**
   * Writes `bytes` (whose sha256 the caller was told) unless a good copy is
   * there already; returns the file's path. DATA_LOSS when the bytes do not
   * hash to `sha256`. For a model in one file (digest = sha256).
   */
  async put(sha256: string, bytes: Uint8Array): Promise<string> {
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== sha256) throw dataLoss(`the model's bytes hash to ${actual}, not the ${sha256} recorded for them; upload the artifact again`);
    if (!(await this.has(sha256))) await this.writeFile(sha256, { path: "", sha256 }, [bytes]);
    return this.pathOf(sha256);
  }

  /** Whether a model in one file with this sha256 is in the cache, whole (its bytes hashed again). */
  async has(sha256: string): Promise<boolean> {
    return this.hasFiles(sha256, [{ path: "", sha256 }]);
  }

  /** Whether every file of a version is in its folder, whole (each hashed again). */
  async hasFiles(digest: string, files: readonly CachedFile[]): Promise<boolean> {
    for (const file of files) {
      const path = this.fileOf(digest, file.path);
      try {
        if (!(await stat(path)).isFile()) return false;
      } catch {
        return false;
      }
      const hash = createHash("sha256");
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
      if (hash.digest("hex") !== file.sha256) return false;
    }
    return true;
  }

  /**
   * Streams one file of a version into its folder, hashing it on the way:
   * renamed into place only when the stream ended cleanly and the bytes hash
   * to `file.sha256` (DATA_LOSS otherwise, and nothing is left behind).
   */
  async writeFile(digest: string, file: CachedFile, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<string> {
    const path = this.fileOf(digest, file.path);
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
    const hash = createHash("sha256");
    async function* hashed(): AsyncGenerator<Uint8Array> {
      for await (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    }
    try {
      await pipeline(hashed(), createWriteStream(temp, { flags: "wx" }));
      const actual = hash.digest("hex");
      if (actual !== file.sha256) {
        throw dataLoss(`${file.path === "" ? "the model's bytes" : `external data file "${file.path}"`} hash to ${actual}, not the ${file.sha256} recorded for them; upload the artifact again`);
      }
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return path;
  }

  private fileOf(digest: string, path: string): string {
    if (path === "") return this.pathOf(digest);
    // The registry checks these paths; a record that slipped past it must still not write outside the folder.
    const problem = artifactPathProblem(path);
    if (problem !== undefined) throw invalidArgument(`external data path "${path}" cannot be cached: ${problem}`);
    return join(this.folderOf(digest), ...path.split("/"));
  }

  private folderOf(digest: string): string {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw invalidArgument(`"${digest}" is not a sha256 (64 lowercase hex digits)`);
    return join(this.dir, digest);
  }
}
