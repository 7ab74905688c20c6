import { invalidArgument } from "../errors/index.js";

/** The name replicas give the model file inside a version's cache folder, so no external data file may take it. */
export const MODEL_FILE_NAME = "model.onnx";

/** Longest external data path accepted, in characters. */
export const MAX_ARTIFACT_PATH_CHARS = 255;

// A segment starts with a letter, digit or '_' (no '.', so no "..", no hidden or temporary names).
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * Why `path` cannot name an external data file, or undefined when it can:
 * a plain relative path of '/'-separated segments of letters, digits, '.',
 * '_' and '-', none starting with '.', so it stays inside the model's folder
 * on every replica's disk and means the same on every file system.
 */
export function artifactPathProblem(path: string): string | undefined {
  if (path === "") return "it is empty";
  if (path.length > MAX_ARTIFACT_PATH_CHARS) return `it is ${path.length} characters, more than ${MAX_ARTIFACT_PATH_CHARS}`;
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "it is absolute; paths are relative to the model file's folder";
  if (path.includes("\\")) return "it contains '\\'; separate folders with '/'";
  for (const segment of path.split("/")) {
    if (segment === "") return "it has an empty segment ('//' or a trailing '/')";
    if (segment === "." || segment === "..") return `it contains "${segment}"; name the file from the model's folder down`;
    if (!SEGMENT.test(segment)) return `segment "${segment}" is not letters, digits, '.', '_' and '-' starting with a letter, digit or '_'`;
  }
  if (path === MODEL_FILE_NAME) return `"${MODEL_FILE_NAME}" is the name the model file itself takes on replicas`;
  return undefined;
}

/**
 * Checks a version's external data paths: each one plain (artifactPathProblem),
 * none repeated (ignoring case, for case-insensitive disks), and none both a
 * file and a folder of another ("a" and "a/b"). INVALID_ARGUMENT naming `field`.
 */
export function checkArtifactPaths(paths: readonly string[], field: string): void {
  const seen = new Map<string, string>();
  paths.forEach((path, index) => {
    const problem = artifactPathProblem(path);
    if (problem !== undefined) throw invalidArgument(`${field}[${index}].path "${path}" is not a plain relative file path: ${problem}`);
    const folded = path.toLowerCase();
    const earlier = seen.get(folded);
    if (earlier !== undefined) throw invalidArgument(`${field}[${index}].path "${path}" repeats "${earlier}" (paths are compared ignoring case); list each file once`);
    seen.set(folded, path);
  });
  for (const [folded, path] of seen) {
    const segments = folded.split("/");
    for (let i = 1; i < segments.length; i++) {
      const folder = seen.get(segments.slice(0, i).join("/"));
      if (folder !== undefined) throw invalidArgument(`${field}: "${folder}" is a file, so "${path}" cannot sit in a folder of that name`);
    }
  }
}
