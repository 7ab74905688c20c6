export * from "./upload-model-version.js";
export * from "./download-artifact.js";
