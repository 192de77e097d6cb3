#!/usr/bin/env node
/** The operators' command line: `npx bounty-bot help`. */
import { runCli } from "./cli/index.js";
import { readEnvironment } from "./settings.js";

process.exitCode = await runCli(process.argv.slice(2), { env: readEnvironment(), stdout: process.stdout, stderr: process.stderr });
