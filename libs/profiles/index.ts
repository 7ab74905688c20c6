export * from "./check-profile.js";
export * from "./feature-slots.js";
export * from "./parse-csv-line.js";
export * from "./profile-builder.js";
export * from "./row-reader.js";
