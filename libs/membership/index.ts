export * from "./replicas-bucket.js";
export * from "./replica-record-codec.js";
