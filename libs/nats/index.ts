export * from "./connect-nats.js";
export * from "./nats-options.js";
export * from "./follow-nats-health.js";
export * from "./translate-nats-error.js";
export type { NatsConnection } from "@nats-io/transport-node";
