import { pino } from "pino";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { CHANGE, RECEIVE } from "../../src/bitcoin/keys.js";
import { startLocalChain } from "../../dev/localchain/server.js";
import { PayoutWallet } from "../../src/bitcoin/wallet.js";
import { openDatabase, type Db } from "../../src/store/db.js";
import { DbSpendLog, DbWalletState, walletKey } from "../../src/store/walletState.js";
import { ENGINES, createServerDatabase, createTestDb } from "../support/databases.js";
import { testConfig } from "../bitcoin/helpers.js";

const entry = (txid: string, dayUtc: string, sats: bigint, payoutIds: string[] = [`p-${txid}`]) => ({ txid, dayUtc, sats, payoutIds });

describe.each(ENGINES)("wallet state on %s", (engine) => {
  /** Two handles on one database: on PostgreSQL two connection pools, as two processes would have. */
  let a: Db;
  let b: Db;
  let close: () => Promise<void>;

  beforeAll(async () => {
    if (engine === "postgres") {
      const server = await createServerDatabase();
      a = await openDatabase({ databaseUrl: server.url });
      b = await openDatabase({ databaseUrl: server.url });
      close = async () => {
        await a.close();
        await b.close();
        await server.drop();
      };
    } else {
      const t = await createTestDb(engine);
      a = b = t.db;
      close = () => t.close();
    }
  });
  afterAll(async () => {
    await close();
  });

  test("walletKey names the network and the account", () => {
    expect(walletKey("testnet", "p2wpkh")).toBe("testnet/m/84'/1'/0'");
    expect(walletKey("bitcoin", "p2tr")).toBe("bitcoin/m/86'/0'/0'");
  });

  test("indexes start at 0, only move forward, and are kept per wallet and per chain", async () => {
    const s = new DbWalletState(a, "regtest/one");
    expect(await s.nextIndex(RECEIVE)).toBe(0);
    await s.markUsed(RECEIVE, 0);
    expect(await s.nextIndex(RECEIVE)).toBe(1);
    await s.markUsed(RECEIVE, 5);
    await s.markUsed(RECEIVE, 2);
    expect(await s.nextIndex(RECEIVE)).toBe(6);
    expect(await s.nextIndex(CHANGE)).toBe(0);
    await s.markUsed(CHANGE, 3);
    expect(await s.nextIndex(CHANGE)).toBe(4);
    // Another wallet, and another process reading the same wallet.
    expect(await new DbWalletState(a, "regtest/two").nextIndex(RECEIVE)).toBe(0);
    expect(await new DbWalletState(b, "regtest/one").nextIndex(RECEIVE)).toBe(6);
    await expect(s.markUsed(RECEIVE, -1)).rejects.toThrow(RangeError);
    expect(() => new DbWalletState(a, "")).toThrow();
    // Network and script name the same rows as their walletKey.
    await new DbWalletState(a, walletKey("signet", "p2tr")).markUsed(CHANGE, 9);
    expect(await new DbWalletState(b, "signet", "p2tr").nextIndex(CHANGE)).toBe(10);
  });

  test("concurrent markUsed from two processes ends at the highest index", async () => {
    const s1 = new DbWalletState(a, "regtest/race");
    const s2 = new DbWalletState(b, "regtest/race");
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? s1 : s2).markUsed(RECEIVE, (i * 7) % 20)));
    expect(await s1.nextIndex(RECEIVE)).toBe(20);
  });

  test("reserve checks the day's total against the cap, is idempotent per txid, and release frees it", async () => {
    const log = new DbSpendLog(a);
    const day = "2026-01-01";
    expect(await log.spentOn(day)).toBe(0n);
    expect(await log.reserve(entry("t1", day, 60_000n, ["p1", "p2"]), 100_000n)).toEqual({ ok: true });
    expect(await log.reserve(entry("t2", day, 50_000n), 100_000n)).toEqual({ ok: false, spentSats: 60_000n });
    expect(await log.spentOn(day)).toBe(60_000n);
    // The same transaction again (a retried build): already counted, not counted twice, even at the cap.
    expect(await log.reserve(entry("t1", day, 60_000n, ["p1", "p2"]), 60_000n)).toEqual({ ok: true });
    expect(await log.spentOn(day)).toBe(60_000n);
    // Another day has its own cap; exactly at the cap is allowed.
    expect(await log.reserve(entry("t3", "2026-01-02", 100_000n), 100_000n)).toEqual({ ok: true });
    expect(await log.spentOn("2026-01-02")).toBe(100_000n);
    const [row] = await a.query<{ payout_ids: unknown; sats: bigint | number }>("SELECT payout_ids, sats FROM spend_reservations WHERE txid = 't1'");
    // PGlite gives int8 as a number when it fits, pg as a bigint.
    expect([row!.payout_ids, BigInt(row!.sats)]).toEqual([["p1", "p2"], 60_000n]);

    await log.release("t1");
    await log.release("never-reserved");
    expect(await log.spentOn(day)).toBe(0n);
    expect(await new DbSpendLog(b).reserve(entry("t2", day, 50_000n), 100_000n)).toEqual({ ok: true });
  });

  test("amounts beyond 2^53 sats add up exactly", async () => {
    const log = new DbSpendLog(a);
    const big = 2n ** 60n;
    expect(await log.reserve(entry("huge", "2026-02-01", big), big + 1n)).toEqual({ ok: true });
    expect(await log.spentOn("2026-02-01")).toBe(big);
    expect(await log.reserve(entry("one-more", "2026-02-01", 2n), big + 1n)).toEqual({ ok: false, spentSats: big });
  });

  test("two processes reserving at once cannot both squeeze under the cap", async () => {
    const l1 = new DbSpendLog(a);
    const l2 = new DbSpendLog(b);
    // Each fits alone, the two together do not: exactly one must win, every round.
    for (let round = 0; round < 15; round++) {
      const day = `2026-03-${String(round + 1).padStart(2, "0")}`;
      const results = await Promise.all([
        l1.reserve(entry(`race-${round}-a`, day, 70_000n), 100_000n),
        l2.reserve(entry(`race-${round}-b`, day, 70_000n), 100_000n),
      ]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.find((r) => !r.ok)).toEqual({ ok: false, spentSats: 70_000n });
      expect(await l1.spentOn(day)).toBe(70_000n);
    }
  });

  test("a wallet restarted on the same database never hands out the same receive address", async () => {
    const node = await startLocalChain({ network: "regtest" });
    try {
      const open = async (db: Db) =>
        PayoutWallet.open({
          config: testConfig({ esploraUrl: node.url }),
          backend: new EsploraBackend({ url: node.url, retries: 1, backoffMs: 5 }),
          state: new DbWalletState(db, walletKey("regtest", "p2wpkh")),
          spendLog: new DbSpendLog(db),
          logger: pino({ level: "silent" }),
        });
      const first = await open(a);
      const seen = [await first.receiveAddress(), await first.receiveAddress()];
      const restarted = await open(b);
      const third = await restarted.receiveAddress();
      expect(seen).not.toContain(third);
      expect(new Set(seen).size).toBe(2);
    } finally {
      await node.close();
    }
  });
});
