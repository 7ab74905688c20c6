export * from "./encode-prediction-log.js";
export * from "./logging-policy.js";
export * from "./prediction-log-publisher.js";
export * from "./prediction-log-stream.js";
export * from "./prediction-log-transport.js";
export * from "./log-trace-context.js";
export * from "./route-headers.js";
