export * from "./host-tensor.js";
