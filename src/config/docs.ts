/** `npm run docs`: rewrites README's generated tables (src/config/readme.ts) and .env.example from their sources. */
import { readFileSync, writeFileSync } from "node:fs";
import { renderEnvExample } from "./env.js";
import { withGeneratedSections } from "./readme.js";

const readme = readFileSync("README.md", "utf8");
writeFileSync("README.md", withGeneratedSections(readme));
writeFileSync(".env.example", renderEnvExample());
console.log("README.md (commands, configuration, environment and CLI tables) and .env.example written from their sources");
