export * from "./online-store.js";
export * from "./memory-online-store.js";
export * from "./redis-online-store.js";
export * from "./cached-online-store.js";
