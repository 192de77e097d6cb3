import { execFile, spawn } from "node:child_process";
import { createHmac, generateKeyPairSync, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { openDatabase } from "../src/store/db.js";
import { REPO, commentCreated } from "./support/payloads.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const main = join(root, "dist/src/main.js");
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const SECRET = "shutdown-test-secret";

/**
 * GitHub gone quiet: GET /app (the start-up check) is answered, every other request is accepted
 * and never answered, as when GitHub's API stalls behind a load balancer.
 */
async function quietGitHub(): Promise<{ host: string; hanging: string[]; close(): Promise<void> }> {
  const hanging: string[] = [];
  const held: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "GET" && req.url === "/api/v3/app") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: 123, slug: "bounty-bot", name: "bounty-bot", owner: { login: REPO.owner, id: 1, type: "Organization" } }));
      return;
    }
    hanging.push(`${req.method} ${req.url}`);
    held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    hanging,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const until = async (what: string, ok: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe("SIGTERM (node dist/src/main.js)", () => {
  beforeAll(async () => {
    const sources = ["main.ts", "server.ts", "settings.ts", "logger.ts", "deliveries/worker.ts", "http/router.ts"].map((f) => join(root, "src", f));
    const stale = !existsSync(main) || sources.some((s) => statSync(s).mtimeMs > statSync(main).mtimeMs);
    if (stale) await run("npx", ["tsc", "-p", "."], { cwd: root }).catch(() => undefined); // type errors elsewhere still emit
    if (!existsSync(main)) throw new Error(`could not build ${main}`);
  }, 240_000);

  test("with GitHub unreachable and a delivery in flight: exits 0 within SHUTDOWN_TIMEOUT + 1 s, the delivery left in the inbox, JSON logs only", async () => {
    const gh = await quietGitHub();
    const cwd = mkdtempSync(join(tmpdir(), "bounty-shutdown-"));
    const child = spawn(process.execPath, [main], {
      cwd,
      stdio: "pipe",
      env: {
        PATH: process.env.PATH!,
        APP_ID: "123",
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: SECRET,
        ALLOWED_ACCOUNTS: REPO.owner,
        GHE_HOST: gh.host,
        GHE_PROTOCOL: "http",
        HOST: "127.0.0.1",
        PORT: "0",
        DATA_DIR: join(cwd, "data"),
        BITCOIN_NETWORK: "testnet",
        SHUTDOWN_TIMEOUT: "3s",
      },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c));
    child.stderr.on("data", (c: Buffer) => (err += c));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await until("the app to listen", () => /"msg":"bounty-bot listening on (http:\/\/[^"]+)\/api\/github\/webhooks"/.test(out) || child.exitCode !== null);
      const url = /"msg":"bounty-bot listening on (http:\/\/[^"/]+(?::\d+)?)/.exec(out)?.[1];
      expect(url).toBeDefined();

      const payload = commentCreated({ issue: { number: 71 }, commentId: 717171, body: "/bounty 5usd", user: { login: "alice", id: 1001 } });
      const body = JSON.stringify(payload);
      const id = randomUUID();
      const res = await fetch(`${url}/api/github/webhooks`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "issue_comment",
          "x-github-delivery": id,
          "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
        },
        body,
      });
      expect(res.status).toBe(200);
      // The delivery is in flight: its first GitHub request (the installation token) hangs.
      await until("the delivery to call GitHub", () => gh.hanging.length > 0);

      const sent = Date.now();
      child.kill("SIGTERM");
      const code = await exited;
      const took = Date.now() - sent;
      expect(code).toBe(0);
      expect(took).toBeLessThan(3_000 + 1_000);

      // Logs: JSON lines only, one name; the shutdown's start and end are there.
      const lines = out.trim().split("\n").map((l) => JSON.parse(l) as { name?: string; msg: string });
      expect(new Set(lines.map((l) => l.name))).toEqual(new Set(["bounty-bot"]));
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^shutting down/), expect.stringMatching(/^shut down$|^SHUTDOWN_TIMEOUT reached/)]));
      expect(err).toBe("");

      // The delivery is still there, unprocessed and with no attempt counted: the next start processes it.
      const db = await openDatabase({ dataDir: join(cwd, "data") });
      try {
        const rows = await db.query<{ delivery_id: string; processed_at: Date | null; attempts: number; parked_at: Date | null }>(
          "SELECT delivery_id, processed_at, attempts, parked_at FROM webhook_inbox",
        );
        expect(rows).toEqual([{ delivery_id: id, processed_at: null, attempts: 0, parked_at: null }]);
      } finally {
        await db.close();
      }
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await gh.close();
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);
});
