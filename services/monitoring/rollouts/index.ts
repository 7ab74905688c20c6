export * from "./rollout-controller.js";
export * from "./rollout-spec.js";
export * from "./route-control.js";
