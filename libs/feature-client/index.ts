export * from "./plain-value.js";
