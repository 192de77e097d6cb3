/**
 * Memory benchmark (issue #9, "memory that fits a pod"): `npm run bench -- memory`.
 *
 * Starts the production entry point (dist/src/main.js) as a child process, the way a container
 * runs it, and reads its memory from /proc/<pid>/status: the peak (VmHWM) once /healthz answers,
 * and the resident set (VmRSS) after IDLE_MS of idling. First on a fresh DATA_DIR (the embedded
 * database's first initialisation), then restarted on the same directory; then on PostgreSQL
 * (DATABASE_URL from the environment, a throwaway database on that server). GitHub is the
 * project's stand-in, in this process, so the app can start without reaching github.com.
 * Figures are in MB of 10^6 bytes; a pod's 512 MiB limit is 536.9 MB.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startGitHubStandIn } from "../dev/sandbox/github.js";
import { throwawayDatabase } from "./support.js";

const IDLE_MS = 10_000;
const START_TIMEOUT_MS = 120_000;
const GOALS = { pgliteFirstPeak: 450, pgliteIdle: 350, postgresIdle: 150 };
const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "main.js");

interface Figures {
  /** VmHWM once /healthz answered, MB. */
  peak: number;
  /** VmRSS after IDLE_MS idle, MB. */
  idle: number;
  /** Peak over the whole run, read again after idling (a late allocation would show here). */
  peakAfterIdle: number;
  startMs: number;
}

/** A field of /proc/<pid>/status in MB (the kernel gives kB). */
function status(pid: number, field: "VmHWM" | "VmRSS"): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return (Number(m[1]) * 1024) / 1e6;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the app until it is listening and has idled, measures it, stops it with SIGTERM. */
async function measure(label: string, env: Record<string, string>): Promise<Figures> {
  const port = await freePort();
  // Only what is given here: no DATABASE_URL or DATA_DIR of the caller's leaks in. A scratch cwd: no stray .env.
  const cwd = mkdtempSync(path.join(tmpdir(), "bounty-mem-cwd-"));
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? "", PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  try {
    const started = performance.now();
    await waitHealthy(child, port, () => output);
    const startMs = performance.now() - started;
    const peak = status(child.pid!, "VmHWM");
    await sleep(IDLE_MS);
    const idle = status(child.pid!, "VmRSS");
    const peakAfterIdle = status(child.pid!, "VmHWM");
    console.log(`  ${label.padEnd(30)} listening after ${(startMs / 1000).toFixed(1)} s; peak ${peak.toFixed(0)} MB, idle ${idle.toFixed(0)} MB (peak ${peakAfterIdle.toFixed(0)} MB after idling)`);
    return { peak, idle, peakAfterIdle, startMs };
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
    const stopped = await Promise.race([exited, sleep(15_000).then(() => "timeout" as const)]);
    if (stopped === "timeout") {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function waitHealthy(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode} before listening:\n${output()}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`the app did not answer /healthz within ${START_TIMEOUT_MS / 1000} s:\n${output()}`);
}

export async function run(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const gh = await startGitHubStandIn({ app: { publicKey, checkIssuer: true } });
  const base = {
    APP_ID: String(gh.appId),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: randomBytes(16).toString("hex"),
    ALLOWED_ACCOUNTS: "kubernetes",
    GHE_PROTOCOL: "http",
    GHE_HOST: gh.host,
  };
  const rows: Array<{ goal: string; value: number; limit: number }> = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), "bounty-mem-data-"));
  try {
    console.log(`Memory of ${MAIN} (${process.version}), idle ${IDLE_MS / 1000} s after /healthz answers:`);
    const first = await measure("PGlite, first start", { ...base, DATA_DIR: dataDir });
    const again = await measure("PGlite, restart", { ...base, DATA_DIR: dataDir });
    rows.push(
      { goal: "PGlite first start peak", value: Math.max(first.peak, first.peakAfterIdle), limit: GOALS.pgliteFirstPeak },
      { goal: "PGlite idle (first start)", value: first.idle, limit: GOALS.pgliteIdle },
      { goal: "PGlite idle (restart)", value: again.idle, limit: GOALS.pgliteIdle },
    );
    console.log(`  (PGlite restart peak: ${Math.max(again.peak, again.peakAfterIdle).toFixed(0)} MB; no goal of its own)`);
    if (process.env.DATABASE_URL) {
      const db = await throwawayDatabase(process.env.DATABASE_URL, "bounty_mem");
      try {
        const first = await measure("PostgreSQL, first start", { ...base, DATABASE_URL: db.url });
        const again = await measure("PostgreSQL, restart", { ...base, DATABASE_URL: db.url });
        console.log(`  (PostgreSQL peaks: ${first.peakAfterIdle.toFixed(0)} MB first start, ${again.peakAfterIdle.toFixed(0)} MB restart)`);
        rows.push(
          { goal: "PostgreSQL idle (first start)", value: first.idle, limit: GOALS.postgresIdle },
          { goal: "PostgreSQL idle (restart)", value: again.idle, limit: GOALS.postgresIdle },
        );
      } finally {
        await db.drop();
      }
    } else {
      console.log("  PostgreSQL: skipped, DATABASE_URL is not set (postgres://… of a server where a throwaway database may be created)");
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await gh.close();
  }
  console.log("\nGoal                            value    limit");
  const misses: string[] = [];
  for (const r of rows) {
    const ok = r.value <= r.limit;
    if (!ok) misses.push(`${r.goal} ${r.value.toFixed(0)} MB > ${r.limit} MB`);
    console.log(`  ${r.goal.padEnd(30)} ${`${r.value.toFixed(0)} MB`.padStart(7)}  ≤ ${r.limit} MB  ${ok ? "PASS" : "MISS"}`);
  }
  if (misses.length > 0) throw new Error(`Memory goals missed: ${misses.join("; ")}`);
}
