export * from "./tensor-data.js";
export * from "./dtype-table.js";
export * from "./float16.js";
export * from "./native-endian.js";
