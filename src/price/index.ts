export * from "./decimal.js";
export * from "./sources.js";
export * from "./adapters.js";
export * from "./oracle.js";
export * from "./convert.js";
export * from "./config.js";
