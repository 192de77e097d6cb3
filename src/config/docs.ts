/** `npm run docs`: rewrites README's Environment table and .env.example from src/config/env.ts. */
import { readFileSync, writeFileSync } from "node:fs";
import { renderEnvExample, withEnvTable } from "./env.js";

const readme = readFileSync("README.md", "utf8");
writeFileSync("README.md", withEnvTable(readme));
writeFileSync(".env.example", renderEnvExample());
console.log("README.md (Environment table) and .env.example written from src/config/env.ts");
