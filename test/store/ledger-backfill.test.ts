import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { availableBalance, charityOf, earningsOf, postedBalance, TREASURY, WALLET } from "../../src/ledger/rules.js";
import { openDatabase, type Db } from "../../src/store/db.js";
import { accountBalance, listTransfers, pendingState } from "../../src/store/ledger.js";
import { findPayoutTx, listPayouts, markConfirmed, storeSignedTx } from "../../src/store/payouts.js";
import { createServerDatabase, ENGINES } from "../support/databases.js";
import { ledgerProblems } from "../support/ledger.js";

/**
 * Migration 10 on databases the old code wrote (test/store/fixtures/make-fixture.ts says how):
 * every person's balance and every payout's state are what the old rows say, and the ledger holds.
 */
const FIXTURES = [
  { name: "schema 8 (a88e11b, the head before the ledger)", file: "schema-8.sql" },
  { name: "schema 3 (116a51a)", file: "schema-3.sql" },
];

/** pg_dump's script without what only psql or a session needs (\restrict, SET, the empty search_path). */
function dumpSql(file: string): string {
  return readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8")
    .split("\n")
    .filter((l) => !/^\\(un)?restrict /.test(l) && !/^SET /.test(l) && !/set_config\('search_path'/.test(l))
    .join("\n");
}

type Raw = { query<T>(sql: string): Promise<T[]> };

interface OldRows {
  unpaid: Map<number, bigint>;
  people: number[];
  payouts: Array<{ id: bigint; state: string; sats: bigint; kind: string }>;
  txs: Array<{ id: bigint; txid: string; fee: bigint; replaces: bigint | null; state: string }>;
  credited: bigint;
}

async function readOld(q: Raw): Promise<OldRows> {
  const awards = await q.query<{ recipient_id: string; state: string; sats: string | null; payout_id: string | null }>(
    "SELECT recipient_id::text, state, sats::text, payout_id::text FROM awards ORDER BY awards.id",
  );
  const unpaid = new Map<number, bigint>();
  let credited = 0n;
  for (const a of awards) {
    const u = Number(a.recipient_id);
    if (a.state === "credited") credited += BigInt(a.sats!);
    if (a.state === "credited" && a.payout_id === null) unpaid.set(u, (unpaid.get(u) ?? 0n) + BigInt(a.sats!));
  }
  const payouts = await q.query<{ id: string; state: string; sats: string; payee_kind: string }>(
    "SELECT id::text, state, sats::text, payee_kind FROM payouts ORDER BY payouts.id",
  );
  const txs = await q.query<{ id: string; txid: string; fee_sats: string; replaces_tx_id: string | null; state: string }>(
    "SELECT id::text, txid, fee_sats::text, replaces_tx_id::text, state FROM payout_txs ORDER BY payout_txs.id",
  );
  return {
    unpaid,
    people: [...new Set(awards.map((a) => Number(a.recipient_id)))],
    payouts: payouts.map((p) => ({ id: BigInt(p.id), state: p.state, sats: BigInt(p.sats), kind: p.payee_kind })),
    txs: txs.map((t) => ({ id: BigInt(t.id), txid: t.txid, fee: BigInt(t.fee_sats), replaces: t.replaces_tx_id === null ? null : BigInt(t.replaces_tx_id), state: t.state })),
    credited,
  };
}

/** What each replacement chain (by its first transaction) should cost: the confirmed one's fee, else the newest live one's, else nothing. */
function expectedChainFees(txs: OldRows["txs"]): Map<bigint, { txids: string[]; fee: bigint }> {
  const root = (t: OldRows["txs"][number]): bigint => (t.replaces === null ? t.id : root(txs.find((x) => x.id === t.replaces)!));
  const chains = new Map<bigint, OldRows["txs"]>();
  for (const t of txs) chains.set(root(t), [...(chains.get(root(t)) ?? []), t]);
  const out = new Map<bigint, { txids: string[]; fee: bigint }>();
  for (const [r, members] of chains) {
    const confirmed = members.find((m) => m.state === "confirmed");
    const live = members.filter((m) => m.state === "signed" || m.state === "broadcast");
    const fee = confirmed ? confirmed.fee : live.reduce((max, m) => (m.fee > max ? m.fee : max), 0n);
    out.set(r, { txids: members.map((m) => m.txid), fee });
  }
  return out;
}

async function ledgerFees(db: Db, txids: string[]): Promise<bigint> {
  let sum = 0n;
  for (const txid of txids) {
    for (const t of await listTransfers(db, { refKey: "txid", refValue: txid })) {
      if (t.debit === TREASURY.key && (t.kind === "fee" || t.kind === "correction")) sum += t.sats;
      if (t.credit === TREASURY.key && t.kind === "correction") sum -= t.sats;
    }
  }
  return sum;
}

describe.each(ENGINES)("migration 10 backfills the ledger (%s)", (engine) => {
  describe.each(FIXTURES)("from a database of $name", ({ file }) => {
    let db: Db;
    let old: OldRows;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      const sql = dumpSql(file);
      if (engine === "pglite") {
        const dir = mkdtempSync(join(tmpdir(), "bounty-backfill-"));
        const raw = await PGlite.create(join(dir, "pglite"));
        await raw.exec(sql);
        old = await readOld({ query: async <T>(q: string) => (await raw.query<T>(q)).rows });
        await raw.close();
        db = await openDatabase({ dataDir: dir, template: null });
        cleanup = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const server = await createServerDatabase();
        const raw = new pg.Client({ connectionString: server.url });
        await raw.connect();
        await raw.query(sql);
        old = await readOld({ query: async <T>(q: string) => (await raw.query(q)).rows as T[] });
        await raw.end();
        db = await openDatabase({ databaseUrl: server.url });
        cleanup = () => server.drop();
      }
    });
    afterAll(async () => {
      await db?.close();
      await cleanup?.();
    });

    test("the fixture is what the old code wrote: payouts of every state, a fee-bumped chain of each kind, unpaid balances", () => {
      expect(new Set(old.payouts.map((p) => p.state))).toEqual(new Set(["awaiting_approval", "queued", "signed", "broadcast", "confirmed"]));
      expect(old.payouts.some((p) => p.kind === "charity")).toBe(true);
      expect(old.txs.filter((t) => t.replaces !== null).length).toBe(3);
      expect(old.unpaid.size).toBeGreaterThanOrEqual(3);
    });

    test("the ledger sums to zero, every account equals its transfers, earnings available are the unpaid credited awards", async () => {
      expect(await ledgerProblems(db)).toEqual([]);
    });

    test("every person's balance is what the old rows say", async () => {
      for (const userId of old.people) {
        expect([userId, availableBalance(await accountBalance(db, earningsOf(userId)))]).toEqual([userId, old.unpaid.get(userId) ?? 0n]);
      }
    });

    test("every payout keeps its state, and its reservation says the same: open until signed, posted after", async () => {
      const now = await listPayouts(db);
      expect(now.map((p) => [p.id, p.state])).toEqual(old.payouts.map((p) => [p.id, p.state]));
      for (const p of old.payouts) {
        const want = p.state === "queued" || p.state === "awaiting_approval" ? "pending" : "posted";
        expect([p.id, await pendingState(db, `payout:${p.id}`)]).toEqual([p.id, want]);
      }
      const charity = old.payouts.filter((p) => p.kind === "charity").reduce((s, p) => s + p.sats, 0n);
      const c = await accountBalance(db, charityOf("coin-center"));
      expect([postedBalance(c), c.debitsPending]).toEqual([charity, charity]);
    });

    test("each replacement chain costs the fee of the transaction that confirmed (or may still); the wallet sent exactly that", async () => {
      const chains = expectedChainFees(old.txs);
      let fees = 0n;
      for (const { txids, fee } of chains.values()) {
        expect([txids[0], await ledgerFees(db, txids)]).toEqual([txids[0], fee]);
        fees += fee;
      }
      const sent = old.payouts.filter((p) => ["signed", "broadcast", "confirmed"].includes(p.state)).reduce((s, p) => s + p.sats, 0n);
      expect(postedBalance(await accountBalance(db, WALLET))).toBe(sent + fees);
      expect(postedBalance(await accountBalance(db, TREASURY))).toBe(-old.credited - fees);
    });

    test("the new code carries on from the backfill: a queued payout is signed, a live chain's original confirms", async () => {
      const queued = old.payouts.find((p) => p.state === "queued" && p.kind === "user")!;
      const txid = "ab".repeat(32);
      await db.transaction((tx) =>
        storeSignedTx(tx, {
          txid,
          hex: "00",
          network: "regtest",
          feeSats: 123n,
          feeRateSatKvb: 615n,
          vsize: 200,
          payoutSats: queued.sats,
          inputs: [`${"cd".repeat(32)}:0`],
          inputRefs: [],
          change: undefined,
          dayUtc: "2026-12-01",
          outputs: new Map([[queued.id, 0]]),
        }),
      );
      const reservations = await listTransfers(db, { kinds: ["payout"], refKey: "payout", refValue: String(queued.id) });
      expect(reservations.map((t) => t.phase).sort()).toEqual(["pending", "post"]);
      const live = old.txs.find((t) => t.replaces === null && t.state === "broadcast" && old.txs.some((b) => b.replaces === t.id && b.state === "broadcast"))!;
      await db.transaction((tx) => markConfirmed(tx, live.id, 200));
      const bump = old.txs.find((b) => b.replaces === live.id)!;
      expect(await ledgerFees(db, [live.txid, bump.txid])).toBe(live.fee);
      expect((await findPayoutTx(db, live.id))!.state).toBe("confirmed");
      expect(await ledgerProblems(db)).toEqual([]);
    });
  });
});
