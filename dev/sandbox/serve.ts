/**
 * Runs the GitHub stand-in as its own process, for the offline demo or a
 * benchmark that keeps the app in another process:
 *
 *   node dist/dev/sandbox/serve.js [--port 3001] [--latency-ms 20] [--writes-per-minute 80]
 *
 * Prints one JSON line {"url","host","apiUrl"} once listening, then serves
 * until SIGINT/SIGTERM. Seed and inspect it with `connectGitHubStandIn(url)`.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startGitHubStandIn, type StandInOptions } from "./github.js";

export function parseServeArgs(argv: string[]): StandInOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      "latency-ms": { type: "string" },
      "writes-per-minute": { type: "string" },
      "app-id": { type: "string" },
      "app-slug": { type: "string" },
    },
  });
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return n;
  };
  const wpm = num("writes-per-minute", values["writes-per-minute"]);
  const appId = num("app-id", values["app-id"]);
  return {
    port: num("port", values.port),
    latencyMs: num("latency-ms", values["latency-ms"]),
    ...(wpm !== undefined ? { secondaryRateLimit: { writesPerMinute: wpm } } : {}),
    app: { ...(appId !== undefined ? { id: appId } : {}), ...(values["app-slug"] ? { slug: values["app-slug"] } : {}) },
  };
}

const isMain = process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url;
if (isMain) {
  const standIn = await startGitHubStandIn(parseServeArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify({ url: standIn.url, host: standIn.host, apiUrl: standIn.apiUrl })}\n`);
  const stop = () => {
    standIn.close().finally(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
