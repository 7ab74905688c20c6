export * from "./start-telemetry.js";
export * from "./rpc-spans.js";
export * from "./trace-headers.js";
export * from "./http-spans.js";
export * from "./tracing-on.js";
