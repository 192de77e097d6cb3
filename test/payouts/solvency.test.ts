import { runCli } from "../../src/cli/index.js";
import { fundsOf, WALLET } from "../../src/ledger/rules.js";
import { transferNow } from "../../src/store/ledger.js";
import { listPayouts, listPayoutTxs } from "../../src/store/payouts.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { enginesAndBackends, linkWallet, PAYOUT_SETTINGS, receivedBy, seedAward, silent, startPayoutRig, type PayoutRig } from "../support/payouts.js";

/** Breaks a balance row the way a bug or a hand edit would: the ledger no longer sums to zero. */
const corrupt = (t: TestDb, by: number) => t.db.query("UPDATE ledger_accounts SET credits_posted = credits_posted + $1 WHERE key = 'treasury'", [by]);

async function payoutsList(t: TestDb): Promise<string> {
  let out = "";
  const code = await runCli(["payouts", "list"], { env: {}, db: t.db, log: silent, stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } });
  expect(code).toBe(0);
  return out;
}

describe.each(enginesAndBackends(ENGINES))("the solvency check before payouts (%s, %s)", (engine, backend) => {
  let t: TestDb;
  let rig: PayoutRig;

  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.db.exec(
      `TRUNCATE outbox, spend_reservations, wallet_indexes, wallets, awards, payouts, payout_txs, claims, pledges, events, bounties,
                ledger_transfers, ledger_accounts, solvency_state RESTART IDENTITY CASCADE;
       INSERT INTO ledger_accounts (key, kind) VALUES ('wallet', 'wallet'), ('treasury', 'treasury'), ('fees', 'fees');`,
    );
    rig = await startPayoutRig(t.db, { backend });
  });
  afterEach(async () => {
    await rig.close();
  });

  test("a corrupted balance: the run signs nothing and says why (payouts list too); fixed, the next run pays", async () => {
    await rig.fund(200_000n);
    const ann = randomAddress("p2wpkh");
    await linkWallet(t.db, 801, "ann", ann);
    await seedAward(t.db, { recipients: [{ id: 801, login: "ann", amounts: [{ currency: "BTC", minor: 20_000n }] }] });
    await corrupt(t, 1);

    const r = await rig.run();
    expect(r).toMatchObject({ credited: 1, queued: 1, signed: [], broadcast: [] });
    expect(r.solvency?.ok).toBe(false);
    expect(r.solvency?.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^the ledger does not sum to zero: posted debits are (\d+) and posted credits \d+ over all accounts \(-1 apart\)$/),
        expect.stringMatching(/^account treasury: credits_posted is \d+ on its row, \d+ by its transfers$/),
      ]),
    );
    const [p] = await listPayouts(t.db);
    expect(p).toMatchObject({ state: "queued" });
    expect(p!.waitReason).toMatch(/^solvency check failed: the ledger does not sum to zero.*nothing is signed until it passes/);
    expect(await listPayoutTxs(t.db)).toEqual([]);
    expect(receivedBy(rig, ann).sats).toBe(0n);
    const listed = await payoutsList(t);
    expect(listed).toMatch(/^Payouts are stopped: the solvency check of \S+ failed; nothing is signed until it passes \(bounty-bot ledger check\):\n {2}- the ledger does not sum to zero/);
    expect(listed).toMatch(/^1 +queued +ann .*solvency check failed/m);

    await corrupt(t, -1);
    const paid = await rig.run();
    expect(paid.solvency?.ok).toBe(true);
    expect(paid.signed).toHaveLength(1);
    expect(receivedBy(rig, ann)).toEqual({ sats: 20_000n, txids: paid.signed });
    expect(await payoutsList(t)).not.toContain("Payouts are stopped");
  });

  test("while it fails, sent transactions are still confirmed, but none is fee-bumped", async () => {
    const HOUR = 3_600_000;
    const bumping = (hours: number) => ({ settings: { ...PAYOUT_SETTINGS, bumpAfterMs: 2 * HOUR }, now: () => new Date(Date.now() + hours * HOUR) });
    rig.chain.chain.feeEstimates = { "1": 2, "6": 2, "144": 1 };
    await rig.fund(100_000n);
    await linkWallet(t.db, 802, "bo", randomAddress("p2wpkh"));
    await seedAward(t.db, { recipients: [{ id: 802, login: "bo", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    const first = (await rig.run()).broadcast[0]!;
    expect(first).toBeDefined();
    rig.chain.chain.feeEstimates = { "1": 30, "6": 20, "144": 5 };

    await corrupt(t, 1);
    const held = await rig.run(bumping(3));
    expect(held).toMatchObject({ bumped: [], signed: [] });
    expect((await listPayoutTxs(t.db))[0]!.lastError).toMatch(/^not fee-bumped: solvency check failed: the ledger does not sum to zero/);

    await corrupt(t, -1);
    const bumped = await rig.run(bumping(4));
    expect(bumped.bumped).toHaveLength(1);

    await corrupt(t, 1);
    rig.chain.mine(1);
    const settled = await rig.run(bumping(5));
    expect(settled.solvency?.ok).toBe(false);
    expect(settled.confirmed).toEqual(bumped.bumped);
    expect((await listPayouts(t.db))[0]).toMatchObject({ state: "confirmed" });
  });

  test("the treasury never spends coins that cover deposits: a payout larger than holdings less deposits waits; a smaller one is paid", async () => {
    await rig.fund(100_000n);
    // 60,000 sats of the wallet's 100,000 are a person's deposit.
    expect(await transferNow(t.db, { key: "deposit:test:0:1", debit: WALLET, credit: fundsOf(900), sats: 60_000n, kind: "deposit" })).toMatchObject({ ok: true });
    const big = randomAddress("p2wpkh");
    const small = randomAddress("p2wpkh");
    await linkWallet(t.db, 803, "cy", big);
    await linkWallet(t.db, 804, "di", small);
    await seedAward(t.db, { recipients: [{ id: 803, login: "cy", amounts: [{ currency: "BTC", minor: 50_000n }] }] });
    await seedAward(t.db, { recipients: [{ id: 804, login: "di", amounts: [{ currency: "BTC", minor: 20_000n }] }] });

    const r = await rig.run();
    expect(r.solvency?.ok).toBe(true);
    expect(r.signed).toHaveLength(1);
    expect(receivedBy(rig, small).sats).toBe(20_000n);
    expect(receivedBy(rig, big).sats).toBe(0n);
    const waiting = (await listPayouts(t.db)).find((p) => p.address === big)!;
    expect(waiting.state).toBe("queued");
    expect(waiting.waitReason).toMatch(
      /^waiting for the treasury to be funded: 60000 sats of the wallet's 100000 cover people's deposits; this needs 5\d{4} sats with its fee, the treasury may spend 40000/,
    );

    // Funded by the operator: the treasury may spend it now, and the deposit stays covered.
    await rig.fund(50_000n);
    rig.chain.mine(1);
    const later = await rig.run();
    expect(later.signed).toHaveLength(1);
    expect(receivedBy(rig, big).sats).toBe(50_000n);
    const coins = (await rig.wallet.sync()).utxos.reduce((s, u) => s + u.value, 0n);
    expect(coins).toBeGreaterThanOrEqual(60_000n);
  });

  test("a stored transaction that no longer matches its payout: nothing more is signed", async () => {
    await rig.fund(100_000n);
    await linkWallet(t.db, 806, "fay", randomAddress("p2wpkh"));
    await seedAward(t.db, { recipients: [{ id: 806, login: "fay", amounts: [{ currency: "BTC", minor: 9_000n }] }] });
    const [txid] = (await rig.run()).signed;
    expect(txid).toBeDefined();
    await t.db.query("UPDATE payouts SET sats = sats + 1");

    const gus = randomAddress("p2wpkh");
    await linkWallet(t.db, 807, "gus", gus);
    await seedAward(t.db, { recipients: [{ id: 807, login: "gus", amounts: [{ currency: "BTC", minor: 8_000n }] }] });
    const r = await rig.run();
    expect(r.signed).toEqual([]);
    expect(r.solvency?.problems).toContain(`transaction ${txid} pays payout 1 9000 sats; the payout is for 9001`);
    expect(receivedBy(rig, gus).sats).toBe(0n);
    expect((await listPayouts(t.db)).find((p) => p.address === gus)!.waitReason).toContain(`solvency check failed: transaction ${txid} pays payout 1 9000 sats`);
  });

  test("people's deposits not covered on chain: nothing is signed, not even what the treasury could pay", async () => {
    await rig.fund(30_000n);
    await transferNow(t.db, { key: "deposit:gone:0:1", debit: WALLET, credit: fundsOf(901), sats: 40_000n, kind: "deposit" });
    await linkWallet(t.db, 805, "ed", randomAddress("p2wpkh"));
    await seedAward(t.db, { recipients: [{ id: 805, login: "ed", amounts: [{ currency: "BTC", minor: 5_000n }] }] });
    const r = await rig.run();
    expect(r.signed).toEqual([]);
    expect(r.solvency?.problems).toEqual([
      "the wallet holds 30000 sats on chain (30000 confirmed, 0 unconfirmed) but owes people 40000 sats (funds 40000, escrow from funds 0): 10000 sats short",
    ]);
    expect((await listPayouts(t.db))[0]!.waitReason).toMatch(/^solvency check failed: the wallet holds 30000 sats/);
  });
});
