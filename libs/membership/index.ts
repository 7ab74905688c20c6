export * from "./replicas-bucket.js";
export * from "./replica-record-codec.js";
export * from "./frontend-loop-header.js";
