export * from "./mesh-names.js";
