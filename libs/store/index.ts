export * from "./kv-store.js";
export * from "./memory-kv-store.js";
export * from "./nats-kv-store.js";
export * from "./object-store.js";
export * from "./directory-object-store.js";
export * from "./nats-object-store.js";
export * from "./connect-redis.js";
