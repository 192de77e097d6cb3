import { charityOf, earningsOf, escrowOf, fundsOf, TREASURY, WALLET, type TransferRequest } from "../../src/ledger/rules.js";
import { availableBalance, postedBalance } from "../../src/ledger/rules.js";
import { loginIds, otherLiabilities, owedBalances, personBalance, solvencySecret } from "../../src/store/balances.js";
import type { Db } from "../../src/store/db.js";
import { postPending, transferNow, voidPending } from "../../src/store/ledger.js";
import { setWallet } from "../../src/store/wallets.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";

let n = 0;
const key = (what: string) => `${what}-${++n}`;

async function move(db: Db, t: Omit<TransferRequest, "key"> & { key?: string }): Promise<string> {
  const k = t.key ?? key(t.kind);
  const r = await transferNow(db, { ...t, key: k });
  if (!r.ok) throw new Error(r.reason);
  return k;
}

async function heldAward(db: Db, userId: number, login: string, opts: { sats?: bigint; usdCents?: bigint; state?: string } = {}): Promise<void> {
  const issue = ++n;
  const [b] = await db.query<{ id: bigint }>(
    "INSERT INTO bounties (installation_id, repo_id, repo_owner, repo_name, issue_number) VALUES (1, 1, 'o', 'r', $1) RETURNING id",
    [issue],
  );
  await db.query(
    `INSERT INTO awards (bounty_id, recipient_id, recipient_login, share_bps, amounts, source, hold_until, state, sats)
     VALUES ($1, $2, $3, 10000, $4, 'command', now(), $5, $6)`,
    [b!.id, userId, login, JSON.stringify([{ currency: "USD", minor: String(opts.usdCents ?? 500n) }]), opts.state ?? "held", opts.sats ?? null],
  );
}

describe.each(ENGINES)("people's balances on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });

  test("/balance's parts: funds, earnings, escrow and payouts reserved from them, pending credits, held awards, wallet", async () => {
    const ann = 5101;
    await move(t.db, { debit: WALLET, credit: fundsOf(ann), sats: 10_000n, kind: "deposit" });
    await move(t.db, { debit: TREASURY, credit: earningsOf(ann), sats: 5_000n, kind: "award" });
    const escrow = await move(t.db, { debit: fundsOf(ann), credit: escrowOf("pledge", 51), sats: 3_000n, kind: "escrow", pending: { timeoutAt: null } });
    await move(t.db, { debit: earningsOf(ann), credit: WALLET, sats: 2_000n, kind: "payout", pending: { timeoutAt: null } });
    await move(t.db, { debit: TREASURY, credit: earningsOf(ann), sats: 700n, kind: "award", pending: { timeoutAt: null } });
    await heldAward(t.db, ann, "ann", { usdCents: 1250n });
    await heldAward(t.db, ann, "ann", { state: "credited", sats: 999n });
    await t.db.transaction((tx) =>
      setWallet(
        tx,
        { userId: ann, login: "ann", kind: "address", address: "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", addressType: "p2wpkh", network: "testnet", charityId: null, charityName: null },
        { actor: { id: ann, login: "ann" }, deliveryId: "d-ann" },
      ),
    );

    const b = await personBalance(t.db, ann);
    expect([postedBalance(b.funds), availableBalance(b.funds)]).toEqual([10_000n, 7_000n]);
    expect([postedBalance(b.earnings), availableBalance(b.earnings)]).toEqual([5_000n, 3_000n]);
    expect([b.inEscrow, b.inPayouts, b.pendingCredits]).toEqual([3_000n, 2_000n, 700n]);
    expect(b.heldAwards.map((a) => [a.sats, a.amounts])).toEqual([[null, [{ currency: "USD", minor: 1250n }]]]);
    expect(b.wallet?.address).toBe("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx");

    // Released, the escrow is no longer "in escrow by them": voided it is theirs again, posted it is gone.
    await t.db.transaction((tx) => voidPending(tx, escrow, { key: `${escrow}:void` }));
    const after = await personBalance(t.db, ann);
    expect([after.inEscrow, availableBalance(after.funds), postedBalance(after.funds)]).toEqual([0n, 10_000n, 10_000n]);
    const again = await move(t.db, { debit: fundsOf(ann), credit: escrowOf("pledge", 52), sats: 4_000n, kind: "escrow", pending: { timeoutAt: null } });
    expect((await personBalance(t.db, ann)).inEscrow).toBe(4_000n);
    await t.db.transaction((tx) => postPending(tx, again, { key: `${again}:post` }));
    const posted = await personBalance(t.db, ann);
    expect([posted.inEscrow, postedBalance(posted.funds)]).toEqual([0n, 6_000n]);
  });

  test("a tip still in its hold is pending for its recipient, not yet theirs", async () => {
    const tipper = 9101;
    const recipient = 9102;
    await transferNow(t.db, { key: "dep-tipper", debit: WALLET, credit: fundsOf(tipper), sats: 900n, kind: "deposit" });
    const leg = { key: "escrow:tip:77.0:0:funds", debit: fundsOf(tipper), credit: escrowOf("tip", "77.0"), sats: 600n, kind: "escrow" as const };
    await transferNow(t.db, { ...leg, pending: { timeoutAt: null }, ref: { escrow: "escrow:tip:77.0", slot: "0", to: String(recipient) } });
    const r = await personBalance(t.db, recipient);
    expect(r.pendingCredits).toBe(600n);
    expect(availableBalance(r.earnings)).toBe(0n);
    // The tipper has it in escrow, not available.
    expect((await personBalance(t.db, tipper)).inEscrow).toBe(600n);
  });

  test("someone the ledger has never seen has zeros and no wallet", async () => {
    const b = await personBalance(t.db, 5199);
    expect([postedBalance(b.funds), postedBalance(b.earnings), b.inEscrow, b.inPayouts, b.pendingCredits, b.heldAwards, b.wallet]).toEqual([0n, 0n, 0n, 0n, 0n, [], null]);
  });

  test("what the solvency tree counts: each person's posted funds and earnings, an overdraft kept as it is for the rules to clamp", async () => {
    const bea = 5102;
    const cy = 5103;
    const dep = await move(t.db, { debit: WALLET, credit: fundsOf(bea), sats: 800n, kind: "deposit" });
    await move(t.db, { debit: fundsOf(bea), credit: escrowOf("pledge", 53), sats: 300n, kind: "escrow", pending: { timeoutAt: null } });
    await move(t.db, { debit: TREASURY, credit: earningsOf(cy), sats: 400n, kind: "award" });
    await move(t.db, { debit: fundsOf(cy), credit: WALLET, sats: 50n, kind: "deposit_reversal", key: `${dep}:cy:reversal` });
    const rows = await owedBalances(t.db);
    // Escrow reserved by a pending transfer still counts for its payer.
    expect(rows.find((r) => r.userId === bea)).toEqual({ userId: bea, fundsPosted: 800n, earningsPosted: 0n });
    expect(rows.find((r) => r.userId === cy)).toEqual({ userId: cy, fundsPosted: -50n, earningsPosted: 400n });
  });

  test("charities and posted escrow are owed too, outside the people's tree", async () => {
    const dee = 5104;
    const before = await otherLiabilities(t.db);
    await move(t.db, { debit: TREASURY, credit: earningsOf(dee), sats: 900n, kind: "award" });
    await move(t.db, { debit: earningsOf(dee), credit: charityOf("coin-center"), sats: 600n, kind: "donation" });
    await move(t.db, { debit: earningsOf(dee), credit: escrowOf("question", 7), sats: 200n, kind: "escrow" });
    const after = await otherLiabilities(t.db);
    expect(after.charities).toEqual([{ id: "coin-center", sats: 600n }]);
    expect(after.escrowSats - before.escrowSats).toBe(200n);
  });

  test("logins map to the id bounty-bot saw last under them; renamed logins follow", async () => {
    await heldAward(t.db, 5105, "Eve");
    expect((await loginIds(t.db)).get("eve")).toBe(5105);
    // Later, another account takes the login "eve" and links a wallet.
    await t.db.query("UPDATE awards SET updated_at = now() - interval '1 day' WHERE recipient_id = 5105");
    await t.db.transaction((tx) =>
      setWallet(
        tx,
        { userId: 5106, login: "eve", kind: "address", address: "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", addressType: "p2wpkh", network: "testnet", charityId: null, charityName: null },
        { actor: { id: 5106, login: "eve" }, deliveryId: "d-eve" },
      ),
    );
    expect((await loginIds(t.db)).get("eve")).toBe(5106);
    expect((await loginIds(t.db)).get("nobody-here")).toBeUndefined();
    // Someone who has only asked for a deposit address is known by it.
    await t.db.query("INSERT INTO deposit_wallets (wallet, next_index) VALUES ('xpub-test', 1) ON CONFLICT DO NOTHING");
    await t.db.query(
      `INSERT INTO deposit_addresses (wallet, derivation_index, address, user_id, login, installation_id, repo_owner, repo_name, issue_number, issued_at)
       VALUES ('xpub-test', 0, 'bcrt1q-test-deposit', 5107, 'Fay', 1, 'o', 'r', 1, now())`,
    );
    expect((await loginIds(t.db)).get("fay")).toBe(5107);
  });

  test("the solvency secret: 32 random bytes made by the migration, the same on every read, another in another database", async () => {
    const a = await solvencySecret(t.db);
    expect(a).toHaveLength(32);
    expect((await solvencySecret(t.db)).equals(a)).toBe(true);
    const other = await createTestDb(engine);
    try {
      expect((await solvencySecret(other.db)).equals(a)).toBe(false);
    } finally {
      await other.close();
    }
    // One row only.
    await expect(t.db.query("INSERT INTO solvency_secret (id, key) VALUES (false, $1)", [Buffer.alloc(32)])).rejects.toThrow();
    await expect(t.db.query("INSERT INTO solvency_secret (key) VALUES ($1)", [Buffer.alloc(32)])).rejects.toThrow();
  });
});
