export * from "./upload-model-version.js";
export * from "./download-artifact.js";
export * from "./artifact-paths.js";
export * from "./artifact-digest.js";
export * from "./part-reader.js";
