// Batching configuration as data: validated once by the registry (at
// registration) and by each replica (with its overrides). The batcher
// itself lives in services/inference/batching.
export * from "./batching-options.js";
export * from "./check-batchable.js";
export * from "./parse-batching-overrides.js";
