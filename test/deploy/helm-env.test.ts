/**
 * The chart's Deployment must start the app: the environment it renders, with its Secrets filled
 * in (by reference, or mounted as files where the chart mounts them), is accepted by loadSettings
 * as main.ts calls it, and every variable it sets is one the app reads.
 */
import { execFile, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { generateMnemonic } from "@scure/bip39";
import { wordlist as english } from "@scure/bip39/wordlists/english.js";
import yaml from "js-yaml";
import { startGitHubStandIn } from "../../dev/sandbox/github.js";
import { loadWalletConfig } from "../../src/bitcoin/config.js";
import { ENV_NAMES } from "../../src/config/env.js";
import { loadSettings } from "../../src/settings.js";
import { CHART_DIR, renderChart } from "../support/helm.js";

const root = join(import.meta.dirname, "../..");
const chart = join(root, CHART_DIR);
type K8s = Record<string, any>;

const { privateKey, publicKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const TEST_MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/** What the Secrets the chart names hold (`kubectl create secret generic …` as values.yaml says). */
function secrets(network: string): Record<string, Record<string, string>> {
  return {
    "bounty-bot-github": { "app-id": "123456", "private-key": privateKey, "webhook-secret": randomBytes(32).toString("hex") },
    // A published test mnemonic is fine off mainnet (and refused on it): a fresh one there.
    "bounty-bot-wallet": { mnemonic: `${network === "bitcoin" ? generateMnemonic(english, 256) : TEST_MNEMONIC}\n`, passphrase: "a passphrase" },
    "bounty-bot-postgres": { "database-url": "postgres://bounty:s3cret@postgres.bounty.svc:5432/bounty" },
    "bounty-bot-metrics": { "metrics-token": randomBytes(16).toString("hex") },
  };
}

const deployment = (...overrides: unknown[]): K8s => {
  const objs = yaml.loadAll(renderChart(chart, { name: "bounty" }, ...overrides)) as K8s[];
  const found = objs.filter((o) => o?.kind === "Deployment");
  expect(found).toHaveLength(1);
  return found[0]!;
};

/**
 * The container's environment as the kubelet gives it, with `dir` standing for the root of the
 * filesystem: secretKeyRef'd values filled in, and each file a Secret volume mounts written
 * under `dir`, its variable (PRIVATE_KEY_PATH, WALLET_MNEMONIC_FILE) pointing there.
 */
function environment(d: K8s, dir: string, secretData: Record<string, Record<string, string>>): Record<string, string> {
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  expect(c.envFrom).toBeUndefined();
  const env: Record<string, string> = {};
  for (const e of c.env as K8s[]) {
    if (e.value !== undefined) {
      expect([e.name, typeof e.value]).toEqual([e.name, "string"]);
      env[e.name] = e.value;
    } else {
      const ref = e.valueFrom.secretKeyRef;
      const value = secretData[ref.name]?.[ref.key];
      expect([e.name, ref, value === undefined]).toEqual([e.name, ref, false]);
      env[e.name] = value!;
    }
  }
  const files = new Map<string, string>();
  for (const m of c.volumeMounts as K8s[]) {
    const volume = (pod.volumes as K8s[]).find((v) => v.name === m.name);
    expect(volume).toBeDefined();
    if (volume!.secret) {
      for (const item of volume!.secret.items as K8s[]) {
        const value = secretData[volume!.secret.secretName]?.[item.key];
        expect([volume!.secret.secretName, item.key, value === undefined]).toEqual([volume!.secret.secretName, item.key, false]);
        const file = join(dir, m.mountPath, item.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, value!, { mode: 0o440 });
        files.set(`${m.mountPath}/${item.path}`, file);
      }
    } else {
      mkdirSync(join(dir, m.mountPath), { recursive: true });
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (files.has(value)) env[name] = files.get(value)!;
    else if (value.startsWith("/")) env[name] = join(dir, value); // a mounted directory such as DATA_DIR
  }
  return env;
}

/** The values.yaml `env:` examples left commented out (`# PAYOUT_MODE: approve`), as values. */
function commentedEnvExamples(): Record<string, string> {
  const text = readFileSync(join(chart, "values.yaml"), "utf8");
  const block = /^env:\n((?:[ ]{2}.*\n)+)/m.exec(text)![1]!;
  const examples = [...block.matchAll(/^ {2}# ([A-Z][A-Z0-9_]*): (.+)$/gm)].map((m) => [m[1]!, String(yaml.load(m[2]!))]);
  expect(examples.length).toBeGreaterThan(0);
  return Object.fromEntries(examples);
}

const postgresValues = () => yaml.load(readFileSync(join(import.meta.dirname, "values-postgres.yaml"), "utf8"));

describe("starting with the Helm values' environment", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bounty-helm-env-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, unknown[], string][] = [
    ["the default values", [], "testnet"],
    ["the default values with a payout wallet and a metrics token", [{ wallet: { existingSecret: "bounty-bot-wallet", passphraseKey: "passphrase" }, metrics: { tokenSecret: "bounty-bot-metrics" } }], "testnet"],
    ["the default values with the env examples values.yaml comments out", [{ env: commentedEnvExamples() }], "testnet"],
    ["test/deploy/values-postgres.yaml (PostgreSQL, mainnet, a wallet)", [postgresValues()], "bitcoin"],
  ];

  it.each(cases)("%s: every variable the chart sets is one the app reads", (_, overrides) => {
    const env = environment(deployment(...overrides), dir, secrets("testnet"));
    expect(Object.keys(env).filter((name) => !(ENV_NAMES as string[]).includes(name))).toEqual([]);
  });

  it.each(cases)("%s: loadSettings(env, { wallet: true }) accepts it", (_, overrides, network) => {
    const env = environment(deployment(...overrides), dir, secrets(network));
    const settings = loadSettings(env, { wallet: true });
    expect(settings).toMatchObject({ appId: 123456, network, port: 3000, webhookSecret: env.WEBHOOK_SECRET });
    expect(settings.privateKey).toBe(privateKey);
    if (env.DATABASE_URL) expect(settings.databaseUrl).toBe(env.DATABASE_URL);
    else expect(settings.dataDir).toBe(join(dir, "/app/data"));
    if (env.WALLET_MNEMONIC_FILE) {
      const wallet = loadWalletConfig(env);
      expect([wallet.network, wallet.mainnetConfirmed]).toEqual([network, network === "bitcoin"]);
      expect(wallet.passphrase.reveal()).toBe("a passphrase");
    }
  });

  it("the checks can fail: a value the app refuses, a variable it does not read", () => {
    const env = environment(deployment({ env: { BITCOIN_NETWORK: "mainnet", PAYOUT_MODE: "sometimes", PAYOUT_HOLDS: "48h" } }), dir, secrets("testnet"));
    expect(() => loadSettings(env, { wallet: true })).toThrow(/^Invalid environment:\n- BITCOIN_NETWORK: Unknown Bitcoin network "mainnet"[^]*\n- PAYOUT_MODE must be auto or approve, not "sometimes"$/);
    expect(Object.keys(env).filter((name) => !(ENV_NAMES as string[]).includes(name))).toEqual(["PAYOUT_HOLDS"]);
  });
});

const run = promisify(execFile);
const main = join(root, "dist/src/main.js");
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe("the app started with the default values' environment (node dist/src/main.js)", () => {
  beforeAll(async () => {
    // As test/main.test.ts: build when the compiled app is missing or older than its sources.
    const sources = ["main.ts", "server.ts", "settings.ts", "config/env.ts"].map((f) => join(root, "src", f));
    const stale = !existsSync(main) || sources.some((f) => statSync(f).mtimeMs > statSync(main).mtimeMs);
    if (stale) await run("npx", ["tsc", "-p", "."], { cwd: root }).catch(() => undefined); // type errors elsewhere still emit
    if (!existsSync(main)) throw new Error(`could not build ${main}`);
  }, 240_000);

  it("confirms the app with GitHub and answers /readyz with 200", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bounty-helm-start-"));
    const gh = await startGitHubStandIn({ app: { id: 123456, publicKey, checkIssuer: true } });
    const port = await freePort();
    // Only where GitHub is and where to listen differ from the Pod: the stand-in, a free local port.
    const env = { ...environment(deployment(), dir, secrets("testnet")), GHE_HOST: gh.host, GHE_PROTOCOL: "http", HOST: "127.0.0.1", PORT: String(port) };
    const child = spawn(process.execPath, [main], { cwd: dir, env: { PATH: process.env.PATH!, ...env }, stdio: "pipe" });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c));
    child.stderr.on("data", (c: Buffer) => (out += c));
    try {
      let status = 0;
      let body = "";
      const until = Date.now() + 30_000;
      while (status !== 200 && Date.now() < until && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 100));
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (res) [status, body] = [res.status, await res.text()];
      }
      expect({ status, exitCode: child.exitCode, body: status === 200 ? "" : body, out: status === 200 ? "" : out }).toEqual({ status: 200, exitCode: null, body: "", out: "" });
      expect(gh.requests.map((q) => `${q.method} ${q.path} ${q.status}`)).toContain("GET /app 200");
    } finally {
      child.kill("SIGTERM");
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
      await gh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
