import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readModelFromStream, type ExternalDataRef } from "../../libs/onnx/index.js";
import { artifactPathProblem } from "../../libs/registry-client/index.js";

/** An external data file found beside a model, ready to upload. */
export interface ExternalDataFile {
  /** Relative to the model file's folder, as the model names it. */
  path: string;
  /** Where it is on this disk. */
  file: string;
  sizeBytes: number;
  sha256: string;
}

/**
 * The files a model keeps its tensors in (ONNX external data: tensors with
 * data_location EXTERNAL and an external_data "location"), looked up beside
 * the model file as onnxruntime would, each sized and hashed. Bytes that do
 * not parse as ONNX give no files: the registry says what is wrong with them.
 * Throws, saying what to do, for a file that is missing, too short for what
 * the model reads from it, or named so that no registry could take it.
 */
export async function findExternalData(modelPath: string, bytes: Uint8Array, shown: string): Promise<ExternalDataFile[]> {
  let refs: ExternalDataRef[];
  try {
    refs = (await readModelFromStream((async function* () {
      yield bytes;
    })())).externalData;
  } catch {
    return [];
  }
  const folder = dirname(modelPath);
  const found: ExternalDataFile[] = [];
  for (const location of [...new Set(refs.map((ref) => ref.location))]) {
    const tensors = refs.filter((ref) => ref.location === location);
    const problem = artifactPathProblem(location);
    if (problem !== undefined) {
      throw new Error(`${shown} keeps tensor "${tensors[0]!.tensor}" in external data "${location}", which cannot be pushed: ${problem}; save the model again with a plain file name for its data`);
    }
    const file = join(folder, ...location.split("/"));
    let size: number;
    try {
      const info = await stat(file);
      if (!info.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
      size = info.size;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(
        `${shown} keeps tensor "${tensors[0]!.tensor}"${tensors.length > 1 ? ` (and ${tensors.length - 1} more)` : ""} in external data "${location}", but ${file} ${code === "ENOENT" ? "does not exist" : code === "EISDIR" ? "is not a file" : `cannot be read (${(error as Error).message})`}: put the file there (its path is relative to the model file), or save the model with its weights inline`,
      );
    }
    const short = tensors.find((ref) => ref.offset + (ref.length ?? 0n) > BigInt(size));
    if (short) {
      throw new Error(`${shown} reads tensor "${short.tensor}" from bytes ${short.offset}..${short.offset + (short.length ?? 0n)} of ${file}, which has ${size}: is it the data file the model was saved with?`);
    }
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    found.push({ path: location, file, sizeBytes: size, sha256: hash.digest("hex") });
  }
  return found;
}
