import { randomBytes } from "node:crypto";
import { charityOf, earningsOf, FEES, postedBalance, availableBalance, TREASURY, WALLET } from "../../src/ledger/rules.js";
import { accountBalance, findTransfer, LedgerRefusal, listTransfers, pendingState } from "../../src/store/ledger.js";
import {
  abandonBump,
  adoptPayouts,
  awardsDueForPricing,
  createPayout,
  creditAward,
  dissolveStalePayouts,
  findPayoutTx,
  listPayouts,
  markBroadcast,
  markConfirmed,
  markReplaced,
  storeBumpTx,
  storeSignedTx,
  type Payee,
  type SignedTxRecord,
} from "../../src/store/payouts.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { ledgerProblems } from "../support/ledger.js";
import { linkWallet, seedAward } from "../support/payouts.js";

/**
 * Today's bounty flows on the ledger, at the store: each step that moves money records it in the
 * same database transaction (src/store/payouts.ts has the keys), and a refused transfer undoes the step.
 */
describe.each(ENGINES)("bounty flows on the ledger (%s)", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(async () => {
    expect(await ledgerProblems(t.db)).toEqual([]);
  });

  let nextUser = 500;
  const charity = { id: "coin-center", name: "Coin Center", address: randomAddress("p2wpkh") };

  /** A held award of `sats` to a new (or given) person, credited the way a payout run credits it. */
  async function credited(sats: bigint, o: { userId?: number; unclaimed?: boolean } = {}) {
    const userId = o.userId ?? nextUser++;
    const seeded = await seedAward(t.db, {
      recipients: [{ id: userId, login: `u${userId}`, amounts: [{ currency: "BTC", minor: sats }] }],
      unclaimedCharity: o.unclaimed ? charity : undefined,
    });
    const due = (await awardsDueForPricing(t.db, new Date())).find((a) => a.id === seeded.awardIds[0])!;
    expect(await t.db.transaction((tx) => creditAward(tx, due, sats, {}))).toBe(true);
    return { userId, id: due.id, bountyId: seeded.bountyId, sats };
  }

  async function withWallet(userId: number): Promise<Payee> {
    const address = randomAddress("p2wpkh");
    await linkWallet(t.db, userId, `u${userId}`, address);
    return { kind: "user", userId, login: `u${userId}`, charityId: null, charityName: null, address, addressType: "p2wpkh", network: "regtest" };
  }

  const charityPayee = (userId: number): Payee => ({
    kind: "charity",
    userId,
    login: `u${userId}`,
    charityId: charity.id,
    charityName: charity.name,
    address: charity.address,
    addressType: "p2wpkh",
    network: "regtest",
  });

  const txid = () => randomBytes(32).toString("hex");

  function signed(payoutIds: bigint[], feeSats: bigint, id = txid()): SignedTxRecord {
    return {
      txid: id,
      hex: "00",
      network: "regtest",
      feeSats,
      feeRateSatKvb: feeSats * 5n,
      vsize: 200,
      payoutSats: 0n,
      inputs: [`${"ee".repeat(32)}:${payoutIds[0]}`],
      inputRefs: [],
      change: undefined,
      dayUtc: "2026-12-01",
      outputs: new Map(payoutIds.map((p, i) => [p, i])),
    };
  }

  /** A payout formed, signed in a transaction paying `fee`, and broadcast; returns the payout and tx ids. */
  async function sent(sats: bigint, fee: bigint) {
    const a = await credited(sats);
    const payee = await withWallet(a.userId);
    const payoutId = await t.db.transaction((tx) => createPayout(tx, payee, [a], "queued"));
    const record = signed([payoutId], fee);
    const txId = await t.db.transaction((tx) => storeSignedTx(tx, record));
    await t.db.transaction((tx) => markBroadcast(tx, txId));
    return { award: a, payoutId, txId, txid: record.txid };
  }

  async function bump(txId: bigint, fee: bigint) {
    const old = (await findPayoutTx(t.db, txId))!;
    const record = signed(old.outputs.map((o) => BigInt(o.payoutId)), fee);
    const id = await t.db.transaction((tx) => storeBumpTx(tx, record, old));
    await t.db.transaction((tx) => markBroadcast(tx, id));
    return { txId: id, txid: record.txid };
  }

  /** What the ledger says a chain of transactions cost the treasury in fees. */
  async function feesOf(...txids: string[]): Promise<bigint> {
    let sum = 0n;
    for (const id of txids) {
      for (const tr of await listTransfers(t.db, { refKey: "txid", refValue: id })) {
        if (tr.kind === "fee" || (tr.kind === "correction" && tr.key.startsWith("fee:"))) sum += tr.debit === TREASURY.key ? tr.sats : -tr.sats;
      }
    }
    return sum;
  }

  const earnings = (userId: number) => accountBalance(t.db, earningsOf(userId));

  test("a credited award is on the recipient's earnings, from the treasury", async () => {
    const treasury = postedBalance(await accountBalance(t.db, TREASURY));
    const a = await credited(12_345n);
    expect(await findTransfer(t.db, `award:${a.id}`)).toMatchObject({ debit: "treasury", credit: `earnings:${a.userId}`, sats: 12_345n, kind: "award" });
    expect(availableBalance(await earnings(a.userId))).toBe(12_345n);
    expect(postedBalance(await accountBalance(t.db, TREASURY))).toBe(treasury - 12_345n);
  });

  test("a payout formed reserves its sats (pending); signed and stored, they are posted and the fee is the treasury's", async () => {
    const a = await credited(20_000n);
    const payee = await withWallet(a.userId);
    const payoutId = await t.db.transaction((tx) => createPayout(tx, payee, [a], "queued"));
    expect(await pendingState(t.db, `payout:${payoutId}`)).toBe("pending");
    const e = await earnings(a.userId);
    expect([availableBalance(e), postedBalance(e), e.debitsPending]).toEqual([0n, 20_000n, 20_000n]);

    const wallet = postedBalance(await accountBalance(t.db, WALLET));
    const treasury = postedBalance(await accountBalance(t.db, TREASURY));
    const record = signed([payoutId], 321n);
    await t.db.transaction((tx) => storeSignedTx(tx, record));
    expect(await pendingState(t.db, `payout:${payoutId}`)).toBe("posted");
    expect(await findTransfer(t.db, `payout:${payoutId}:post`)).toMatchObject({ sats: 20_000n, phase: "post" });
    expect(await findTransfer(t.db, `fee:${record.txid}`)).toMatchObject({ debit: "treasury", credit: "fees", sats: 321n });
    expect(await findTransfer(t.db, `fee_paid:${record.txid}`)).toMatchObject({ debit: "fees", credit: "wallet", sats: 321n });
    // The wallet sent the payout and the fee; the treasury paid the fee; earnings are spent.
    expect(postedBalance(await accountBalance(t.db, WALLET)) - wallet).toBe(20_321n);
    expect(postedBalance(await accountBalance(t.db, TREASURY)) - treasury).toBe(-321n);
    expect(postedBalance(await earnings(a.userId))).toBe(0n);
  });

  test("a payout awaiting approval is reserved too, and approving it moves nothing", async () => {
    const a = await credited(5_000n);
    const payee = await withWallet(a.userId);
    const payoutId = await t.db.transaction((tx) => createPayout(tx, payee, [a], "awaiting_approval"));
    expect(await pendingState(t.db, `payout:${payoutId}`)).toBe("pending");
    expect(availableBalance(await earnings(a.userId))).toBe(0n);
  });

  test("a fee bump records its extra fee; when the original confirms instead, the bump's extra fee is undone", async () => {
    const s = await sent(30_000n, 200n);
    const b = await bump(s.txId, 500n);
    expect(await findTransfer(t.db, `fee:${b.txid}`)).toMatchObject({ sats: 300n });
    expect(await feesOf(s.txid, b.txid)).toBe(500n);
    // The run finds the original confirmed first (settleSent goes oldest first), then the bump conflicted.
    await t.db.transaction((tx) => markConfirmed(tx, s.txId, 100));
    expect(await findTransfer(t.db, `fee:${b.txid}:undo`)).toMatchObject({ debit: "fees", credit: "treasury", sats: 300n, kind: "correction" });
    expect(await findTransfer(t.db, `fee_paid:${b.txid}:undo`)).toMatchObject({ debit: "wallet", credit: "fees", sats: 300n });
    await t.db.transaction(async (tx) => {
      await adoptPayouts(tx, s.txId, "broadcast");
      expect(await markReplaced(tx, b.txId, "the transaction it fee-bumped confirmed instead")).toBe(true);
    });
    expect(await feesOf(s.txid, b.txid)).toBe(200n);
    expect(postedBalance(await accountBalance(t.db, FEES))).toBe(0n);
    expect((await listPayouts(t.db, { ids: [s.payoutId] }))[0]).toMatchObject({ state: "confirmed", txid: s.txid });
    // Nothing was requeued: the payout's one reservation stays posted.
    expect(await findTransfer(t.db, `payout:${s.payoutId}:${b.txid}:undo`)).toBeNull();
  });

  test("when the bump confirms, the chain's fee is the bump's, whichever the run settles first", async () => {
    const s = await sent(30_000n, 200n);
    const b = await bump(s.txId, 700n);
    // As run.ts's replace does: the original is replaced (its bump confirmed) before the bump is marked.
    await t.db.transaction(async (tx) => {
      await adoptPayouts(tx, b.txId, "broadcast");
      await markReplaced(tx, s.txId, "its fee bump confirmed instead");
    });
    await t.db.transaction((tx) => markConfirmed(tx, b.txId, 100));
    expect(await feesOf(s.txid, b.txid)).toBe(700n);
    expect(await findTransfer(t.db, `fee:${s.txid}:undo`)).toBeNull();
  });

  test("in a chain of bumps, the fee kept is that of the one that confirmed", async () => {
    const s = await sent(30_000n, 200n);
    const b1 = await bump(s.txId, 450n);
    const b2 = await bump(b1.txId, 900n);
    await t.db.transaction(async (tx) => {
      await adoptPayouts(tx, b1.txId, "broadcast");
      await markReplaced(tx, s.txId, "its fee bump confirmed instead");
    });
    await t.db.transaction((tx) => markConfirmed(tx, b1.txId, 100));
    await t.db.transaction((tx) => markReplaced(tx, b2.txId, "the transaction it fee-bumped confirmed instead"));
    expect(await feesOf(s.txid, b1.txid, b2.txid)).toBe(450n);
    expect(await findTransfer(t.db, `fee:${b2.txid}:undo`)).toMatchObject({ sats: 450n });
  });

  test("a fee bump the network refused has its extra fee undone at once", async () => {
    const s = await sent(30_000n, 200n);
    const old = (await findPayoutTx(t.db, s.txId))!;
    const record = signed([s.payoutId], 260n);
    const id = await t.db.transaction((tx) => storeBumpTx(tx, record, old));
    await t.db.transaction(async (tx) => abandonBump(tx, (await findPayoutTx(tx, id))!, "refused"));
    expect(await feesOf(s.txid, record.txid)).toBe(200n);
  });

  test("a fee bump that pays no more than what it replaces is not stored", async () => {
    const s = await sent(30_000n, 200n);
    const old = (await findPayoutTx(t.db, s.txId))!;
    await expect(t.db.transaction((tx) => storeBumpTx(tx, signed([s.payoutId], 200n), old))).rejects.toThrow(/not more than/);
  });

  test("a chain that can never confirm: every fee is undone, the payout is reserved again and paid by the next transaction", async () => {
    const s = await sent(40_000n, 200n);
    const b = await bump(s.txId, 350n);
    await t.db.transaction((tx) => markReplaced(tx, s.txId, "its coins were spent by another, confirmed"));
    // The bump is still live: nothing is undone yet.
    expect(await feesOf(s.txid, b.txid)).toBe(350n);
    await t.db.transaction((tx) => markReplaced(tx, b.txId, "its coins were spent by another, confirmed"));
    expect(await feesOf(s.txid, b.txid)).toBe(0n);
    expect(await findTransfer(t.db, `payout:${s.payoutId}:${b.txid}:undo`)).toMatchObject({ debit: "wallet", credit: `earnings:${s.award.userId}`, sats: 40_000n });
    expect(await pendingState(t.db, `payout:${s.payoutId}:${b.txid}:retry`)).toBe("pending");
    expect((await listPayouts(t.db, { ids: [s.payoutId] }))[0]!.state).toBe("queued");
    expect(availableBalance(await earnings(s.award.userId))).toBe(0n);

    const again = signed([s.payoutId], 250n);
    await t.db.transaction((tx) => storeSignedTx(tx, again));
    expect(await pendingState(t.db, `payout:${s.payoutId}:${b.txid}:retry`)).toBe("posted");
    expect(await feesOf(s.txid, b.txid, again.txid)).toBe(250n);
  });

  test("a payout dissolved before it is signed is voided: the awards are unpaid again", async () => {
    const a = await credited(9_000n);
    const payee = await withWallet(a.userId);
    const payoutId = await t.db.transaction((tx) => createPayout(tx, payee, [a], "queued"));
    await linkWallet(t.db, a.userId, `u${a.userId}`, randomAddress("p2wpkh"));
    expect(await dissolveStalePayouts(t.db)).toBe(1);
    expect(await pendingState(t.db, `payout:${payoutId}`)).toBe("voided");
    expect(await findTransfer(t.db, `payout:${payoutId}:void`)).toMatchObject({ phase: "void", sats: 9_000n });
    expect(availableBalance(await earnings(a.userId))).toBe(9_000n);
  });

  test("a charity payout of several donors' awards: one donation per donor, then the charity's reservation; dissolved, both undone", async () => {
    const a1 = await credited(3_000n, { unclaimed: true });
    const a2 = await credited(4_000n, { unclaimed: true });
    const a3 = await credited(500n, { userId: a2.userId, unclaimed: true });
    const before = postedBalance(await accountBalance(t.db, charityOf(charity.id)));
    const payoutId = await t.db.transaction((tx) => createPayout(tx, charityPayee(a1.userId), [a1, a2, a3], "queued"));
    expect(await findTransfer(t.db, `donation:${payoutId}:${a1.userId}`)).toMatchObject({ debit: `earnings:${a1.userId}`, credit: "charity:coin-center", sats: 3_000n, kind: "donation" });
    expect(await findTransfer(t.db, `donation:${payoutId}:${a2.userId}`)).toMatchObject({ sats: 4_500n });
    expect(await findTransfer(t.db, `payout:${payoutId}`)).toMatchObject({ debit: "charity:coin-center", credit: "wallet", sats: 7_500n, phase: "pending" });
    expect(postedBalance(await accountBalance(t.db, charityOf(charity.id))) - before).toBe(7_500n);
    expect(availableBalance(await earnings(a2.userId))).toBe(0n);

    // One donor links a wallet before it is signed: the payout is taken apart.
    await linkWallet(t.db, a2.userId, `u${a2.userId}`, randomAddress("p2wpkh"));
    expect(await dissolveStalePayouts(t.db)).toBe(1);
    expect(await pendingState(t.db, `payout:${payoutId}`)).toBe("voided");
    expect(await findTransfer(t.db, `donation:${payoutId}:${a2.userId}:undo`)).toMatchObject({ debit: "charity:coin-center", credit: `earnings:${a2.userId}`, sats: 4_500n, kind: "correction" });
    expect(availableBalance(await earnings(a1.userId))).toBe(3_000n);
    expect(availableBalance(await earnings(a2.userId))).toBe(4_500n);
    expect(postedBalance(await accountBalance(t.db, charityOf(charity.id)))).toBe(before);
  });

  test("a charity payout signed: its reservation is posted from the charity's account", async () => {
    const a = await credited(6_000n, { unclaimed: true });
    const payoutId = await t.db.transaction((tx) => createPayout(tx, charityPayee(a.userId), [a], "queued"));
    await t.db.transaction((tx) => storeSignedTx(tx, signed([payoutId], 111n)));
    expect(await findTransfer(t.db, `payout:${payoutId}:post`)).toMatchObject({ debit: "charity:coin-center", credit: "wallet", sats: 6_000n });
  });

  test("a refused transfer undoes the whole step: an award credited outside the ledger is never formed into a payout", async () => {
    const seeded = await seedAward(t.db, { recipients: [{ id: nextUser, login: "ghost", amounts: [{ currency: "BTC", minor: 8_000n }] }] });
    const userId = nextUser++;
    const awardId = seeded.awardIds[0]!;
    await t.db.query("UPDATE awards SET state = 'credited', sats = 8000, priced_at = now() WHERE id = $1", [awardId]);
    const payee = await withWallet(userId);
    const payouts = (await listPayouts(t.db)).length;
    const transfers = (await listTransfers(t.db, { limit: 10_000 })).length;
    const err = await t.db
      .transaction((tx) => createPayout(tx, payee, [{ id: awardId, bountyId: seeded.bountyId, sats: 8_000n }], "queued"))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerRefusal);
    expect((err as LedgerRefusal).reason).toMatch(/your earnings has 0 sats available, 8000 short of 8000/);
    expect((await listPayouts(t.db)).length).toBe(payouts);
    const [row] = await t.db.query<{ payout_id: bigint | null }>("SELECT payout_id FROM awards WHERE id = $1", [awardId]);
    expect(row!.payout_id).toBeNull();
    expect((await listTransfers(t.db, { limit: 10_000 })).length).toBe(transfers);
    // A payout stored outside the ledger is never signed either: storing its transaction rolls back.
    const [p] = await t.db.query<{ id: bigint }>(
      `INSERT INTO payouts (payee_kind, user_id, login, address, address_type, network, sats, state)
       VALUES ('user', $1, 'ghost', $2, 'p2wpkh', 'regtest', 8000, 'queued') RETURNING id`,
      [userId, payee.address],
    );
    await t.db.query("UPDATE awards SET payout_id = $2 WHERE id = $1", [awardId, p!.id]);
    const record = signed([BigInt(p!.id)], 100n);
    await expect(t.db.transaction((tx) => storeSignedTx(tx, record))).rejects.toThrow(LedgerRefusal);
    expect(await findPayoutTx(t.db, record.txid)).toBeNull();
    expect((await listPayouts(t.db, { ids: [BigInt(p!.id)] }))[0]!.state).toBe("queued");
    expect(await findTransfer(t.db, `fee:${record.txid}`)).toBeNull();
    expect((await listTransfers(t.db, { limit: 10_000 })).length).toBe(transfers);
    // Leave the database as the invariants expect: that payout and award were never the ledger's.
    await t.db.query("UPDATE awards SET payout_id = NULL, state = 'cancelled' WHERE id = $1", [awardId]);
    await t.db.query("DELETE FROM payouts WHERE id = $1", [p!.id]);
  });
});
