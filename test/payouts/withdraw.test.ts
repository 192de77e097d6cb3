import { fundsOf, postedBalance, TREASURY, WALLET } from "../../src/ledger/rules.js";
import { assessSolvency } from "../../src/payouts/run.js";
import { accountBalance, findTransfer, listTransfers, pendingState, transferNow } from "../../src/store/ledger.js";
import {
  createWithdrawal,
  findPayoutTx,
  listPayouts,
  markBroadcast,
  markReplaced,
  storeSignedTx,
  type Payee,
  type SignedTxRecord,
} from "../../src/store/payouts.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { deliver, mockNoConfig } from "../support/bot.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { bountyFlows } from "../support/flows.js";
import { ledgerProblems } from "../support/ledger.js";
import { usePaidTestBot } from "../support/paid.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { enginesAndBackends, linkWallet, outputsOf, PAYOUT_SETTINGS, receivedBy, seedAward, startPayoutRig, type PayoutRig } from "../support/payouts.js";

/**
 * Withdrawals of deposited funds: the output pays the amount less its share of the batch's fee
 * (its vbytes at the batch's rate, fixed at signing), the share is the person's, the rest of the
 * fee (and a later bump) the treasury's; the treasury's reserve does not hold a withdrawal back.
 */

/** A p2wpkh output is 31 vB: its share at `rate` sat/kvB, rounded up. */
const shareAt = (rate: bigint): bigint => (31n * rate + 999n) / 1000n;
const treasuryBalance = async (db: TestDb["db"]) => postedBalance(await accountBalance(db, TREASURY));
const fundsPosted = async (db: TestDb["db"], userId: number) => postedBalance(await accountBalance(db, fundsOf(userId)));

describe.each(enginesAndBackends(ENGINES))("/withdraw all, end to end (%s, %s)", (engine, backend) => {
  let nextComment = 940_000;
  let nextIssue = 940;
  const h = usePaidTestBot(engine, { DEPOSIT_CONFIRMATIONS: "1", PAYOUT_MIN_SATS: "1000" }, backend);
  const flows = bountyFlows({ bot: () => h.bot, db: () => h.db });
  const carol: Who = { login: "carol", id: 94_001 };

  async function say(body: string, who: Who, issue: number, comments: string[]): Promise<string> {
    const before = comments.length;
    mockNoConfig();
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: issue }, commentId: nextComment++, body, user: who }));
    await h.bot.settled();
    expect(comments).toHaveLength(before + 1);
    return comments.at(-1)!;
  }

  async function run() {
    const report = await h.bot.payouts!.runNow();
    await h.bot.settled();
    return report;
  }

  test("a deposit withdrawn: the output pays it less its vbytes at the batch's rate; the treasury pays only the rest of the fee", async () => {
    const issue = nextIssue++;
    const comments = flows.recordComments(issue);
    const address = /`(bcrt1[a-z0-9]+)`/.exec(await say("/deposit", carol, issue, comments))![1]!;
    const dest = randomAddress("p2wpkh");
    await flows.linkWallet(carol, dest);
    // The operator funds the treasury; carol deposits 50,000 sats.
    await h.rig.fund(100_000n);
    h.rig.chain.fund(address, 50_000n);
    h.rig.chain.mine(1);
    await run();
    expect(await fundsPosted(h.db, carol.id)).toBe(50_000n);
    const treasuryBefore = await treasuryBalance(h.db);

    const reply = await say("/withdraw all", carol, issue, comments);
    const rate = await h.rig.wallet.feeRate();
    expect(reply).toContain(`@carol: 50,000 sats of your funds will be sent to \`${dest}\` in the next payout run.`);
    expect(reply).toContain(`about ${shareAt(rate)} sats at today's`);
    // Reserved at once: no longer available, as /balance shows.
    const reserved = await accountBalance(h.db, fundsOf(carol.id));
    expect(reserved.debitsPending).toBe(50_000n);

    const r = await run();
    expect(r.broadcast).toHaveLength(1);
    const txid = r.broadcast[0]!;
    const tx = (await findPayoutTx(h.db, txid))!;
    const share = shareAt(tx.feeRateSatKvb);
    expect(share).toBeGreaterThan(0n);
    expect(outputsOf(h.rig, txid).get(dest)).toBe(50_000n - share);
    const [p] = await listPayouts(h.db);
    expect(p).toMatchObject({ source: "funds", state: "broadcast", sats: 50_000n - share, requestedSats: 50_000n, feeShareSats: share });
    expect(await findTransfer(h.db, `fee:${txid}:withdrawal:${p!.id}`)).toMatchObject({ kind: "fee", debit: fundsOf(carol.id).key, credit: "fees", sats: share });
    expect(await findTransfer(h.db, `fee:${txid}`)).toMatchObject({ debit: TREASURY.key, sats: tx.feeSats - share });
    expect(await findTransfer(h.db, `fee_paid:${txid}`)).toMatchObject({ credit: WALLET.key, sats: tx.feeSats });
    // Carol's funds are spent in full; the treasury paid the rest of the fee and nothing of the withdrawal.
    expect(await accountBalance(h.db, fundsOf(carol.id))).toMatchObject({ debitsPosted: 50_000n, creditsPosted: 50_000n, debitsPending: 0n });
    expect(treasuryBefore - (await treasuryBalance(h.db))).toBe(tx.feeSats - share);
    // The payout comment, where she asked, gives the exact share.
    expect(comments.at(-1)).toContain(`**Withdrawal paid:** ${(50_000n - share).toLocaleString("en-US")} sats sent to @carol`);
    expect(comments.at(-1)).toContain(`Of the 50,000 sats withdrawn, ${share} sats paid this output's share of the network fee`);

    h.rig.chain.mine(1);
    await run();
    expect((await listPayouts(h.db))[0]!.state).toBe("confirmed");
    expect(await ledgerProblems(h.db)).toEqual([]);
    expect((await assessSolvency(h.db, h.rig.wallet)).problems).toEqual([]);
  });
});

describe.each(enginesAndBackends(ENGINES))("withdrawals in the payout run (%s, %s)", (engine, backend) => {
  let t: TestDb;
  let rig: PayoutRig;
  let nextUser = 95_000;
  let nextKey = 0;

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
    expect(await ledgerProblems(t.db)).toEqual([]);
    await rig.close();
  });

  /** A person's deposit as the deposit watcher records it: on the ledger, and the coin on the chain. */
  async function deposited(sats: bigint): Promise<{ userId: number; dest: string; payee: Payee & { userId: number; login: string } }> {
    const userId = nextUser++;
    expect(await transferNow(t.db, { key: `deposit:test${userId}:0:1`, debit: WALLET, credit: fundsOf(userId), sats, kind: "deposit" })).toMatchObject({ ok: true });
    await rig.fund(sats);
    const dest = randomAddress("p2wpkh");
    const payee = { kind: "user" as const, userId, login: `u${userId}`, charityId: null, charityName: null, address: dest, addressType: "p2wpkh", network: "regtest" };
    return { userId, dest, payee };
  }

  const withdraw = (payee: Payee & { userId: number; login: string }, sats: bigint) =>
    t.db.transaction((tx) =>
      createWithdrawal(tx, { key: `withdraw:test${nextKey++}`, payee, sats, state: "queued", ask: { installationId: 1, owner: "octocat", repo: "Hello-World", issueNumber: 7 } }),
    );

  test("with the treasury's reserve in force, a withdrawal is still paid while a treasury payout waits", async () => {
    // The wallet holds 60,000: 50,000 are a person's deposit, so the treasury may spend 10,000.
    await rig.fund(10_000n);
    const d = await deposited(50_000n);
    const dan = randomAddress("p2wpkh");
    await linkWallet(t.db, 95_900, "dan", dan);
    await seedAward(t.db, { recipients: [{ id: 95_900, login: "dan", amounts: [{ currency: "BTC", minor: 30_000n }] }] });
    expect(await withdraw(d.payee, 50_000n)).toMatchObject({ ok: true });

    const r = await rig.run();
    expect(r.signed).toHaveLength(1);
    const tx = (await findPayoutTx(t.db, r.signed[0]!))!;
    expect(receivedBy(rig, d.dest).sats).toBe(50_000n - shareAt(tx.feeRateSatKvb));
    expect(receivedBy(rig, dan).sats).toBe(0n);
    const waiting = (await listPayouts(t.db)).find((p) => p.address === dan)!;
    expect(waiting.state).toBe("queued");
    expect(waiting.waitReason).toMatch(/^waiting for the treasury to be funded/);
    expect((await assessSolvency(t.db, rig.wallet)).problems).toEqual([]);
  });

  test("a fee bump's extra fee is the treasury's; the withdrawal's share stays as fixed at signing", async () => {
    const HOUR = 3_600_000;
    const bumping = (hours: number) => ({ settings: { ...PAYOUT_SETTINGS, bumpAfterMs: 2 * HOUR }, now: () => new Date(Date.now() + hours * HOUR) });
    rig.chain.chain.feeEstimates = { "1": 2, "6": 2, "144": 1 };
    await rig.fund(100_000n);
    const d = await deposited(40_000n);
    const w = await withdraw(d.payee, 40_000n);
    expect(w.ok).toBe(true);
    const first = (await rig.run()).broadcast[0]!;
    const original = (await findPayoutTx(t.db, first))!;
    const share = shareAt(original.feeRateSatKvb);
    const treasuryAfterFirst = await treasuryBalance(t.db);
    expect(await findTransfer(t.db, `fee:${first}`)).toMatchObject({ sats: original.feeSats - share });

    rig.chain.chain.feeEstimates = { "1": 30, "6": 20, "144": 5 };
    const bumped = await rig.run(bumping(3));
    expect(bumped.bumped).toHaveLength(1);
    const bump = (await findPayoutTx(t.db, bumped.bumped[0]!))!;
    const extra = bump.feeSats - original.feeSats;
    expect(extra).toBeGreaterThan(0n);
    expect(await findTransfer(t.db, `fee:${bump.txid}`)).toMatchObject({ debit: TREASURY.key, sats: extra });
    expect(treasuryAfterFirst - (await treasuryBalance(t.db))).toBe(extra);
    // Same output, same share: the person paid only what was fixed when it was signed.
    expect(outputsOf(rig, bump.txid).get(d.dest)).toBe(40_000n - share);
    // Where the withdrawal was asked: the paid comment with the share, then the bump (the treasury's).
    const said = await t.db.query<{ dedupe_key: string; issue_number: number; body: string }>("SELECT dedupe_key, issue_number, body FROM outbox ORDER BY id");
    expect(said.map((c) => [c.dedupe_key, c.issue_number])).toEqual([
      [`paid:withdrawal:${w.ok ? w.id : 0n}:${first}`, 7],
      [`bumped:withdrawal:${w.ok ? w.id : 0n}:${bump.txid}`, 7],
    ]);
    expect(said[0]!.body).toContain(`Of the 40,000 sats withdrawn, ${share} sats paid this output's share of the network fee`);
    expect(said[1]!.body).toContain("paid by the bounty wallet");
    const shares = (await listTransfers(t.db, { account: fundsOf(d.userId).key })).filter((x) => x.kind === "fee");
    expect(shares.map((x) => [x.key, x.sats])).toEqual([[`fee:${first}:withdrawal:${w.ok ? w.id : 0n}`, share]]);

    rig.chain.mine(1);
    await rig.run(bumping(4));
    expect((await listPayouts(t.db))[0]!.state).toBe("confirmed");
    expect(await fundsPosted(t.db, d.userId)).toBe(0n);
    expect((await assessSolvency(t.db, rig.wallet)).problems).toEqual([]);
  });

  test("when fees rise so far that its share would leave less than the minimum, the withdrawal waits with the reason", async () => {
    await rig.fund(100_000n);
    const d = await deposited(1_300n);
    expect(await withdraw(d.payee, 1_300n)).toMatchObject({ ok: true });
    rig.chain.chain.feeEstimates = { "1": 30, "6": 30, "144": 30 };
    const rate = await rig.wallet.feeRate();
    expect(1_300n - shareAt(rate)).toBeLessThan(PAYOUT_SETTINGS.minSats);

    const r = await rig.run();
    expect(r.signed).toEqual([]);
    const [p] = await listPayouts(t.db);
    expect(p).toMatchObject({ state: "queued", sats: 1_300n });
    expect(p!.waitReason).toMatch(/^after its share of the network fee \(\d+ sats: its output's 31 vB at [\d.]+ sat\/vB\) the withdrawal would pay \d+ sats, below the 1,000 sats minimum; it waits for lower fees$/);
    expect(await pendingState(t.db, `payout:${p!.id}`)).toBe("pending");

    rig.chain.chain.feeEstimates = { "1": 1, "6": 1, "144": 1 };
    const later = await rig.run();
    expect(later.signed).toHaveLength(1);
    expect(receivedBy(rig, d.dest).sats).toBe(1_300n - shareAt((await findPayoutTx(t.db, later.signed[0]!))!.feeRateSatKvb));
  });

  test("from an overdrawn account (a deposit reversed), a queued withdrawal waits", async () => {
    await rig.fund(100_000n);
    const d = await deposited(30_000n);
    expect(await withdraw(d.payee, 30_000n)).toMatchObject({ ok: true });
    expect(await transferNow(t.db, { key: `deposit:test${d.userId}:0:1:reversal`, debit: fundsOf(d.userId), credit: WALLET, sats: 30_000n, kind: "deposit_reversal" })).toMatchObject({ ok: true });

    const r = await rig.run();
    expect(r.signed).toEqual([]);
    expect((await listPayouts(t.db))[0]!.waitReason).toMatch(/funds are overdrawn/);
    expect(receivedBy(rig, d.dest).sats).toBe(0n);
  });

  test("a withdrawal whose transaction can never confirm: its share comes back and it is reserved again for the whole amount", async () => {
    const d = await deposited(20_000n);
    const w = await withdraw(d.payee, 20_000n);
    if (!w.ok) throw new Error("not queued");
    const rate = 2_000n;
    const share = shareAt(rate);
    const record: SignedTxRecord = {
      txid: "ab".repeat(32),
      hex: "00",
      network: "regtest",
      feeSats: 300n,
      feeRateSatKvb: rate,
      vsize: 150,
      payoutSats: 20_000n - share,
      inputs: [`${"ee".repeat(32)}:0`],
      inputRefs: [],
      change: undefined,
      dayUtc: "2026-12-01",
      outputs: new Map([[w.id, 0]]),
    };
    const treasuryBefore = await treasuryBalance(t.db);
    const txId = await t.db.transaction((tx) => storeSignedTx(tx, record));
    expect(await fundsPosted(t.db, d.userId)).toBe(0n);
    expect(treasuryBefore - (await treasuryBalance(t.db))).toBe(300n - share);
    await t.db.transaction((tx) => markBroadcast(tx, txId));

    await t.db.transaction((tx) => markReplaced(tx, txId, "a conflicting transaction confirmed"));
    expect(await findTransfer(t.db, `fee:${record.txid}:withdrawal:${w.id}:undo`)).toMatchObject({ debit: "fees", credit: fundsOf(d.userId).key, sats: share });
    const [p] = await listPayouts(t.db);
    expect(p).toMatchObject({ state: "queued", sats: 20_000n, feeShareSats: null });
    expect(await pendingState(t.db, `payout:${w.id}:${record.txid}:retry`)).toBe("pending");
    expect(await accountBalance(t.db, fundsOf(d.userId))).toMatchObject({ debitsPending: 20_000n });
    expect(await fundsPosted(t.db, d.userId)).toBe(20_000n);
    // The whole fee is undone: the treasury is where it was.
    expect(await treasuryBalance(t.db)).toBe(treasuryBefore);
  });
});
