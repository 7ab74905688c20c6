import { createHash } from "node:crypto";

/** What identifies a version's files: the model file's sha256 and each external data file's path and sha256. */
export interface ArtifactFiles {
  sha256: string;
  externalData: readonly { path: string; sha256: string }[];
}

/**
 * One sha256 for all of a version's files: the model's own sha256 when it
 * has no external data (so single-file versions keep the key they always
 * had), else a hash over the model's sha256 and every (path, sha256) pair,
 * in path order. Two versions share it only when every file is the same
 * under the same name: the same model.onnx with other weights beside it
 * gets another.
 */
export function artifactDigest(files: ArtifactFiles): string {
  if (files.externalData.length === 0) return files.sha256;
  const hash = createHash("sha256").update("tessera artifact v1\n").update(`${files.sha256}\n`);
  for (const file of [...files.externalData].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\0${file.sha256}\n`);
  }
  return hash.digest("hex");
}
