import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { priceOracle, startPayoutRig, type PayoutRig } from "../support/payouts.js";
import { credit, owe } from "../support/owed.js";

const SCRIPT = join(process.cwd(), "scripts", "verify-solvency.mjs");

/** Runs the script as a user would, in a process of its own (asynchronously: the server answers from this one). */
function verify(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr });
    });
  });
}

describe.each(ENGINES)("scripts/verify-solvency.mjs against a running server on %s", (engine) => {
  let rig: PayoutRig;
  const h = useTestBot(engine, {
    env: { BITCOIN_NETWORK: "regtest" },
    token: false,
    async payouts(db) {
      rig = await startPayoutRig(db);
      return { wallet: rig.wallet, prices: priceOracle("fixed:USD=60000"), schedule: false };
    },
    afterStop: () => rig.close(),
  });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "verify-solvency-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Each test's people; the database (and so the total owed) is shared by the file's tests.
  let nextId = 8100;
  async function solventWith(login: string, funds: bigint, earnings: bigint): Promise<void> {
    await owe(h.db, { id: nextId++, login }, { funds, earnings });
    const [{ owed }] = (await h.db.query<{ owed: bigint }>(
      `SELECT coalesce(sum(greatest(credits_posted - debits_posted, 0)), 0) AS owed FROM ledger_accounts
        WHERE kind IN ('funds', 'earnings', 'charity', 'escrow')`,
    )) as [{ owed: bigint }];
    rig.chain.fund(await rig.wallet.receiveAddress(), BigInt(owed) + 1_000n);
    rig.chain.mine(1);
  }

  test("OK: recomputes the root from the person's proof, shows the figures and lists the coins to check; exit 0", async () => {
    await solventWith("frank", 4_000n, 1_500n);
    const r = await verify(h.bot.url, "frank");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("balance counted: 5,500 sats");
    expect(r.out).toMatch(/recomputed root: [0-9a-f]{64} summing to [\d,]+ sats: matches/);
    expect(r.out).toMatch(/Wallet: 1 coin; look each up on a block explorer:\n {2}[0-9a-f]{64}:\d+ {2}[\d,]+ sats/);
    expect(r.out).toContain("https://api.github.com/users/frank");
    expect(r.out).toMatch(/^OK: your balance of 5,500 sats is counted/m);
  });

  test("FAIL when a proof has been tampered with (a balance raised): exit 1", async () => {
    await solventWith("gina", 2_000n, 0n);
    const res = await fetch(`${h.bot.url}/api/v1/solvency/proof/gina`);
    const proof = (await res.json()) as { proof: { balance: string } };
    const honest = join(dir, "gina.json");
    writeFileSync(honest, JSON.stringify(proof));
    expect((await verify(h.bot.url, honest)).code).toBe(0);
    proof.proof.balance = "2001";
    const forged = join(dir, "gina-forged.json");
    writeFileSync(forged, JSON.stringify(proof));
    const r = await verify(h.bot.url, forged);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL: your path leads to root [0-9a-f]{64}, not the published one$/m);
  });

  test("FAIL when the wallet's coins do not cover what is owed: exit 1 with the shortfall", async () => {
    await solventWith("hank", 1_000n, 0n);
    // Owed more than the wallet holds.
    await credit(h.db, nextId - 1, { earnings: 10_000_000n });
    const r = await verify(h.bot.url, "hank");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL: the coins \([\d,]+ sats\) do not cover what is owed \([\d,]+ sats\): [\d,]+ sats short$/m);
    // The proof itself still verifies: it is the coverage that fails.
    expect(r.out).toContain(": matches");
  });

  test("FAIL for a login the server holds nothing for; exit 2 for bad arguments", async () => {
    const r = await verify(h.bot.url, "nobody-at-all");
    expect(r.code).toBe(1);
    expect(r.out).toContain("answered 404: bounty-bot holds no balance for nobody-at-all");
    const u = await verify(h.bot.url);
    expect(u.code).toBe(2);
    expect(u.err).toContain("usage: node scripts/verify-solvency.mjs");
  });
});
