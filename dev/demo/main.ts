/**
 * `npm run demo`: the whole story offline, on loopback; see story.ts. Exits 0 only if every step
 * happened, and never runs longer than two minutes.
 */
import { runDemo } from "./story.js";

const LIMIT_MS = 120_000;
const guard = setTimeout(() => {
  process.stderr.write(`\nDEMO FAILED: it did not finish within ${LIMIT_MS / 1000} s\n`);
  process.exit(1);
}, LIMIT_MS);
guard.unref();

const { code } = await runDemo({ write: (text) => process.stdout.write(text) });
process.exit(code);
