export * from "./markdown.js";
export * from "./references.js";
export * from "./revert.js";
export * from "./coauthors.js";
export * from "./award.js";
export * from "./closer.js";
