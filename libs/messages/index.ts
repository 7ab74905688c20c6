export * from "./message-factory.js";
