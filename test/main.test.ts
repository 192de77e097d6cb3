import { execFile, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startGitHubStandIn } from "../dev/sandbox/github.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const main = join(root, "dist/src/main.js");
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/** Runs the built app in an empty directory; resolves when it exits (or is stopped after `ms`). */
async function start(env: Record<string, string>, ms = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = mkdtempSync(join(tmpdir(), "bounty-main-"));
  try {
    return await run(process.execPath, [main], { cwd, env: { PATH: process.env.PATH!, DATA_DIR: join(cwd, "data"), ...env }, timeout: ms }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number | null; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** The local addresses (hex, as /proc/net/tcp writes them) listening on a port. */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  return ["/proc/net/tcp", "/proc/net/tcp6"]
    .filter(existsSync)
    .flatMap((f) => readFileSync(f, "utf8").split("\n").slice(1))
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols[1]?.endsWith(`:${hexPort}`) && cols[3] === "0A")
    .map((cols) => cols[1]!.split(":")[0]!);
}

describe("starting the app (node dist/src/main.js)", () => {
  beforeAll(async () => {
    // CI builds first; locally, build when the compiled app is missing or older than its sources.
    const sources = ["main.ts", "server.ts", "settings.ts", "app.ts"].map((f) => join(root, "src", f));
    const stale = !existsSync(main) || sources.some((s) => statSync(s).mtimeMs > statSync(main).mtimeMs);
    if (stale) await run("npx", ["tsc", "-p", "."], { cwd: root }).catch(() => undefined); // type errors elsewhere still emit
    if (!existsSync(main)) throw new Error(`could not build ${main}`);
  }, 240_000);

  test("without WEBHOOK_SECRET it refuses to start: one line, exit 1", async () => {
    const r = await start({ APP_ID: "123", PRIVATE_KEY: privateKey });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^bounty-bot: WEBHOOK_SECRET is not set/)]);
  });

  test("with the old .env.example secret it refuses to start", async () => {
    const r = await start({ APP_ID: "123", PRIVATE_KEY: privateKey, WEBHOOK_SECRET: "development" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bounty-bot: WEBHOOK_SECRET is "development", a published example value/);
  });

  test("the setup flow (no APP_ID) is refused while a payout wallet is configured", async () => {
    const r = await start({ WALLET_MNEMONIC: MNEMONIC, NO_SMEE_SETUP: "true", PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^bounty-bot: .*setup page is not served while a payout wallet is configured/)]);
  });

  test("the setup page listens on 127.0.0.1 when HOST is unset, also with a .env copied from .env.example", async () => {
    const port = await freePort();
    const cwd = mkdtempSync(join(tmpdir(), "bounty-setup-"));
    copyFileSync(join(root, ".env.example"), join(cwd, ".env"));
    const child = spawn(process.execPath, [main], { cwd, env: { PATH: process.env.PATH!, WEBHOOK_PROXY_URL: "https://smee.io/bounty-bot-test", PORT: String(port) }, stdio: "pipe" });
    try {
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c));
      child.stderr.on("data", (c: Buffer) => (out += c));
      const until = Date.now() + 20_000;
      while (!/listening on/i.test(out) && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/listening on/i);
      expect(listeners(port)).toEqual(["0100007F"]);
      const page = await fetch(`http://127.0.0.1:${port}/probot`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("https://smee.io/bounty-bot-test");
    } finally {
      child.kill();
      await new Promise((r) => child.once("exit", r));
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test("the setup page is not opened without a webhook URL to register: one line, exit 1", async () => {
    const r = await start({ PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^bounty-bot: cannot register a GitHub App: no webhook URL to register: set WEBHOOK_PROXY_URL/)]);
  });

  test("APP_ID without a private key is an error, not a silent setup page", async () => {
    const r = await start({ APP_ID: "123", WEBHOOK_SECRET: "s3cret-for-tests", PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^bounty-bot: Invalid environment: APP_ID is set but PRIVATE_KEY \(or PRIVATE_KEY_PATH\) is not/)]);
  });

  test("a private key cut to its first line (docker run --env-file) is refused at once, in one line naming PRIVATE_KEY", async () => {
    const r = await start({ APP_ID: "123", PRIVATE_KEY: '"-----BEGIN RSA PRIVATE KEY-----', WEBHOOK_SECRET: "s3cret-for-tests", PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^bounty-bot: Invalid environment: PRIVATE_KEY cannot be read as a PEM private key \(it is cut short/)]);
  });

  test("credentials GitHub refuses (GET /app answers 401): exit 1 with one line", async () => {
    // The stand-in checks app JWTs against another app's public key: this key does not match.
    const other = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs1", format: "pem" } });
    const gh = await startGitHubStandIn({ app: { id: 123, publicKey: other.publicKey, checkIssuer: true } });
    try {
      const r = await start({
        APP_ID: "123",
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: "s3cret-for-tests",
        GHE_HOST: gh.host,
        GHE_PROTOCOL: "http",
        HOST: "127.0.0.1",
        PORT: String(await freePort()),
        DATABASE_URL: "",
      });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^bounty-bot: GitHub refused the app's credentials: APP_ID 123 and PRIVATE_KEY do not match/)]);
      expect(gh.requests.map((q) => `${q.method} ${q.path} ${q.status}`)).toEqual(["GET /app 401"]);
    } finally {
      await gh.close();
    }
  });
});
