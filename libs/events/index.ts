export * from "./event-bus.js";
export * from "./cloud-event.js";
export * from "./subject-matches.js";
export * from "./validate-subject.js";
export * from "./events-stream.js";
export * from "./memory-event-bus.js";
export * from "./nats-event-bus.js";
export * from "./consume-events.js";
