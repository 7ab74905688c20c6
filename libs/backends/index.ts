export * from "./open-backends.js";
