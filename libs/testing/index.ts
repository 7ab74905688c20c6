export * from "./check-servers.js";
export * from "./start-nats-server.js";
export * from "./start-redis-server.js";
export * from "./test-urls.js";
export * from "./unique-name.js";
export * from "./faulty-kv-store.js";
export * from "./start-redis-cluster.js";
export * from "./thrown-by.js";
