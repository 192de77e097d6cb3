import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { parseAddress } from "../../src/bitcoin/address.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { openDatabase, type Db } from "../../src/store/db.js";
import { listPayouts, listPayoutTxs } from "../../src/store/payouts.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { createServerDatabase, ENGINES } from "../support/databases.js";
import { enginesAndBackends, linkWallet, seedAward } from "../support/payouts.js";

/**
 * Crash safety, for real: the payout worker runs in a child process that kills itself with SIGKILL
 * right after each step in turn; after a restart every payout is paid exactly once, as the local
 * chain shows.
 */

const CHILD = join(import.meta.dirname, "fixtures", "crash-child.mjs");
const STEPS = ["signed", "stored", "broadcast", "marked"] as const;

beforeAll(() => {
  // The child runs the compiled app (CI builds before testing); build it if this checkout has not.
  if (!existsSync(join(process.cwd(), "dist", "src", "payouts", "run.js"))) {
    execFileSync("npx", ["tsc", "-p", "."], { stdio: "inherit" });
  }
}, 180_000);

function child(env: Record<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CHILD], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("close", (code, signal) => resolve({ code, signal, out, err }));
  });
}

describe.each(enginesAndBackends(ENGINES, "exactly-once"))("payout worker killed with SIGKILL (%s, %s)", (engine, backend) => {
  let chain: LocalChainServer;
  let cookieDir: string;
  beforeAll(async () => {
    chain = await startLocalChain({ network: "regtest" });
    // Core's cookie file, as bitcoind writes it: readable by its owner only.
    cookieDir = mkdtempSync(join(tmpdir(), "bounty-cookie-"));
    writeFileSync(join(cookieDir, ".cookie"), `${chain.rpcAuth.user}:${chain.rpcAuth.password}`, { mode: 0o600 });
  });
  afterAll(async () => {
    await chain.close();
    rmSync(cookieDir, { recursive: true, force: true });
  });

  test.each(STEPS)("killed after %s: after a restart each payout is paid exactly once", async (step) => {
    let dbEnv: Record<string, string>;
    let cleanup: () => Promise<void>;
    if (engine === "postgres") {
      const server = await createServerDatabase();
      dbEnv = { DATABASE_URL: server.url };
      cleanup = () => server.drop();
    } else {
      const dir = mkdtempSync(join(tmpdir(), "bounty-crash-"));
      dbEnv = { DATA_DIR: dir, DATABASE_URL: "" };
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    }
    const open = (): Promise<Db> => openDatabase(dbEnv.DATABASE_URL ? { databaseUrl: dbEnv.DATABASE_URL } : { dataDir: dbEnv.DATA_DIR });
    try {
      const mnemonic = generateMnemonic(wordlist);
      const walletKey = `regtest/crash-${step}`;
      const core = { CHAIN_BACKEND: "core", BITCOIN_RPC_URL: chain.url, BITCOIN_RPC_COOKIE_FILE: join(cookieDir, ".cookie"), BITCOIN_RPC_WALLET: `crash-${step}-${engine}` };
      const env = { ...dbEnv, MNEMONIC: mnemonic, ESPLORA_URL: chain.url, WALLET_KEY: walletKey, ...(backend === "core" ? core : {}) };
      const esploraBefore = chain.esploraRequests;

      // Three contributors with wallets and awards; the wallet funded on the chain.
      const people = [1, 2, 3].map((i) => ({ id: 7000 + i, login: `worker${i}`, address: randomAddress(i === 2 ? "p2tr" : "p2wpkh"), sats: 10_000n * BigInt(i) }));
      let db = await open();
      for (const p of people) {
        await linkWallet(db, p.id, p.login, p.address, p.address.startsWith("bcrt1p") ? "p2tr" : "p2wpkh");
        await seedAward(db, { recipients: [{ id: p.id, login: p.login, amounts: [{ currency: "BTC", minor: p.sats }] }] });
      }
      await db.close();
      const fundingWallet = await fundingAddress(chain, mnemonic);
      chain.fund(fundingWallet, 500_000n);
      chain.mine(1);

      const killed = await child({ ...env, KILL_AT: step });
      expect(killed.signal).toBe("SIGKILL");
      // Where the kill left things: proves each step was really interrupted.
      db = await open();
      const left = await listPayoutTxs(db);
      await db.close();
      if (step === "signed") {
        expect(left).toEqual([]);
      } else {
        expect(left.map((t) => t.state)).toEqual([step === "marked" ? "broadcast" : "signed"]);
        expect(chain.chain.tx(left[0]!.txid) !== undefined).toBe(step !== "stored");
      }

      const restarted = await child(env);
      expect(restarted.err).toBe("");
      expect(restarted.code).toBe(0);
      chain.mine(1);
      const settled = await child(env);
      expect(settled.code).toBe(0);

      for (const p of people) {
        const parsed = parseAddress(p.address, "regtest");
        if (!parsed.ok) throw new Error(parsed.reason);
        const got = chain.chain.utxosOf(parsed.script);
        expect(got.map((u) => u.value)).toEqual([p.sats]);
        expect(got[0]!.height).toBeDefined();
      }
      db = await open();
      const payouts = await listPayouts(db);
      expect(payouts.map((p) => p.state)).toEqual(["confirmed", "confirmed", "confirmed"]);
      const txs = await listPayoutTxs(db);
      expect(txs.map((t) => t.state)).toEqual(["confirmed"]);
      const comments = await db.query<{ n: bigint }>("SELECT count(*) AS n FROM outbox WHERE dedupe_key LIKE 'paid:%:issue'");
      expect(Number(comments[0]!.n)).toBe(3);
      // On Core the workers read the chain over JSON-RPC only.
      if (backend === "core") expect(chain.esploraRequests).toBe(esploraBefore);
      await db.close();
    } finally {
      await cleanup();
    }
  });
});

/** The wallet's first receive address, derived the way the child derives it. */
async function fundingAddress(_chain: LocalChainServer, mnemonic: string): Promise<string> {
  const { WalletKeys, RECEIVE } = await import("../../src/bitcoin/keys.js");
  const keys = WalletKeys.fromMnemonic(mnemonic, { network: "regtest", script: "p2wpkh", passphrase: "", source: "test" });
  return keys.address({ chain: RECEIVE, index: 0 });
}
