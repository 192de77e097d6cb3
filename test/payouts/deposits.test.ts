import { fundsOf, escrowOf, TREASURY, WALLET } from "../../src/ledger/rules.js";
import { accountBalance, findTransfer, listTransfers, transferNow } from "../../src/store/ledger.js";
import { findOutpoint } from "../../src/store/deposits.js";
import { deliver, mockNoConfig } from "../support/bot.js";
import { bountyFlows } from "../support/flows.js";
import { usePaidTestBot } from "../support/paid.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { enginesAndBackends, linkWallet, outputsOf, PAYOUT_SETTINGS, priceOracle, seedAward, silent, startPayoutRig, type PayoutRig } from "../support/payouts.js";
import { PayoutScheduler } from "../../src/payouts/scheduler.js";
import { DepositWatcher, watchDeposits } from "../../src/payouts/deposits.js";
import { commentCreated, type Who } from "../support/payloads.js";

/**
 * Deposits end to end: /deposit through a signed webhook, the payment on the local chain over
 * HTTP, the scheduler's run (which watches deposits first) crediting it at DEPOSIT_CONFIRMATIONS,
 * a reorganisation taking it away, and the ledger refusing to spend from the overdrawn account.
 */

const carol: Who = { login: "carol", id: 88_001 };

describe.each(enginesAndBackends(ENGINES, "exactly-once"))("deposits credited from the chain (%s, %s)", (engine, backend) => {
  let nextComment = 880_000;
  let nextIssue = 880;
  const h = usePaidTestBot(engine, { DEPOSIT_CONFIRMATIONS: "2" }, backend);
  const flows = bountyFlows({ bot: () => h.bot, db: () => h.db });

  /** Every comment the bot posts on one issue (one recorder per issue: nock keeps the first). */
  function onIssue(): { issue: number; comments: string[] } {
    const issue = nextIssue++;
    return { issue, comments: flows.recordComments(issue) };
  }

  async function askDeposit(who: Who, on: { issue: number; comments: string[] }): Promise<string> {
    const before = on.comments.length;
    mockNoConfig();
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: on.issue }, commentId: nextComment++, body: "/deposit", user: who }));
    await h.bot.settled();
    expect(on.comments).toHaveLength(before + 1);
    const m = /`(bcrt1[a-z0-9]+)`/.exec(on.comments.at(-1)!);
    expect(m).not.toBeNull();
    return m![1]!;
  }

  async function run() {
    const report = await h.bot.payouts!.runNow();
    await h.bot.settled();
    return report;
  }

  const reorg = async (blocks: number, drop: string[]) => {
    const res = await fetch(`${h.rig.chain.url}/regtest/reorg`, { method: "POST", body: JSON.stringify({ blocks, drop }) });
    expect(res.status).toBe(200);
    return (await res.json()) as { height: number; dropped: string[] };
  };

  const funds = async (userId: number) => {
    const b = await accountBalance(h.db, fundsOf(userId));
    return b.creditsPosted - b.debitsPosted;
  };

  test("credited once at DEPOSIT_CONFIRMATIONS with a comment, reversed after a reorg, and nothing more is spent until covered", async () => {
    const on = onIssue();
    const address = await askDeposit(carol, on);
    expect(address).toBe(h.rig.wallet.depositAddress(0));
    // Asking again before it has received gives the same address.
    expect(await askDeposit(carol, on)).toBe(address);
    on.comments.length = 0;

    const paid = h.rig.chain.fund(address, 50_000n);
    const key = `deposit:${paid.txid}:${paid.vout}:1`;
    h.rig.chain.mine(1);
    await run();
    expect(await findTransfer(h.db, key)).toBeNull();
    expect(await funds(carol.id)).toBe(0n);
    // The wallet counts the coin as its own already.
    expect((await h.rig.wallet.balance()).confirmedSats).toBe(50_000n);

    h.rig.chain.mine(1);
    await run();
    await run();
    const credits = await listTransfers(h.db, { account: fundsOf(carol.id).key });
    expect(credits.map((t) => [t.key, t.kind, t.sats])).toEqual([[key, "deposit", 50_000n]]);
    expect(await funds(carol.id)).toBe(50_000n);
    expect(on.comments).toEqual([`@carol your deposit of 50000 sats (\`${paid.txid}:${paid.vout}\`) is in your funds.`]);

    // It has received: the next /deposit is a fresh address.
    const fresh = await askDeposit(carol, on);
    on.comments.length = 0;
    expect(fresh).toBe(h.rig.wallet.depositAddress(1));

    // Carol spends part of it (escrowed for a pledge), then the deposit leaves the chain.
    const pledge = escrowOf("pledge", `dep${nextComment}`);
    expect(await transferNow(h.db, { key: `test:${nextComment}:1`, debit: fundsOf(carol.id), credit: pledge, sats: 30_000n, kind: "escrow" })).toMatchObject({ ok: true });
    const r = await reorg(2, [paid.txid]);
    expect(r.dropped).toEqual([paid.txid]);
    h.rig.chain.mine(1);
    await run();
    await run();
    const reversal = await findTransfer(h.db, `${key}:reversal`);
    expect(reversal).toMatchObject({ kind: "deposit_reversal", sats: 50_000n, debit: fundsOf(carol.id).key, credit: WALLET.key });
    expect(await funds(carol.id)).toBe(-30_000n);
    expect((await findOutpoint(h.db, paid.txid, paid.vout))?.state).toBe("reversed");
    expect(on.comments).toHaveLength(1);
    expect(on.comments[0]).toContain("no longer in the chain");

    // Overdrawn: nothing more is spent from the account.
    const refused = await transferNow(h.db, { key: `test:${nextComment}:2`, debit: fundsOf(carol.id), credit: pledge, sats: 1n, kind: "escrow" });
    expect(refused).toMatchObject({ ok: false });

    // A new deposit covers it, and then it may be spent again.
    const again = h.rig.chain.fund(fresh, 40_000n);
    h.rig.chain.mine(2);
    await run();
    expect(await funds(carol.id)).toBe(10_000n);
    expect(await findTransfer(h.db, `deposit:${again.txid}:${again.vout}:1`)).toMatchObject({ sats: 40_000n });
    expect(await transferNow(h.db, { key: `test:${nextComment}:3`, debit: fundsOf(carol.id), credit: pledge, sats: 1n, kind: "escrow" })).toMatchObject({ ok: true });
  });

  test("a deposit that re-confirms after its reversal is credited again as generation 2, once", async () => {
    const address = await askDeposit(carol, onIssue());
    const paid = h.rig.chain.fund(address, 25_000n);
    h.rig.chain.mine(2);
    await run();
    // Disconnected but not dropped: back in the mempool, so no longer confirmed.
    await reorg(2, []);
    await run();
    expect(await findTransfer(h.db, `deposit:${paid.txid}:0:1:reversal`)).not.toBeNull();
    h.rig.chain.mine(2);
    await run();
    await run();
    const keys = (await listTransfers(h.db, { account: fundsOf(carol.id).key })).map((t) => t.key);
    expect(keys.filter((k) => k.includes(paid.txid))).toEqual([
      `deposit:${paid.txid}:0:1`,
      `deposit:${paid.txid}:0:1:reversal`,
      `deposit:${paid.txid}:0:2`,
    ]);
  });
});

describe.each(enginesAndBackends(ENGINES, "exactly-once"))("treasury receipts, watched by the payout scheduler (%s, %s)", (engine, backend) => {
  let t: TestDb;
  let rig: PayoutRig;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    rig = await startPayoutRig(t.db, { backend });
  });
  afterEach(() => rig.close());

  const scheduler = (confirmations = 2) =>
    new PayoutScheduler({
      db: t.db,
      wallet: rig.wallet,
      prices: priceOracle("fixed:USD=60000;EUR=50000;GBP=40000"),
      settings: PAYOUT_SETTINGS,
      log: silent,
      deposits: new DepositWatcher({ db: t.db, wallet: rig.wallet, confirmations, log: silent }),
    });
  const reorg = async (blocks: number, drop: string[]) => {
    const res = await fetch(`${rig.chain.url}/regtest/reorg`, { method: "POST", body: JSON.stringify({ blocks, drop }) });
    expect(res.status).toBe(200);
  };

  test("money sent to the wallet's own receive address credits the treasury once, before the run; a reorg reverses it", async () => {
    const s = scheduler();
    const before = await accountBalance(t.db, TREASURY);
    const address = await rig.wallet.receiveAddress();
    const paid = rig.chain.fund(address, 300_000n);
    rig.chain.mine(1);
    await s.runNow();
    expect(await findTransfer(t.db, `treasury_receipt:${paid.txid}:0`)).toBeNull();
    rig.chain.mine(1);
    await s.runNow();
    await s.runNow();
    const receipt = await findTransfer(t.db, `treasury_receipt:${paid.txid}:0`);
    expect(receipt).toMatchObject({ kind: "treasury_receipt", sats: 300_000n, debit: WALLET.key, credit: TREASURY.key });
    const after = await accountBalance(t.db, TREASURY);
    expect(after.creditsPosted - before.creditsPosted).toBe(300_000n);
    expect((await listTransfers(t.db, { kinds: ["treasury_receipt"] })).filter((x) => x.key.includes(paid.txid))).toHaveLength(1);

    await reorg(2, [paid.txid]);
    await s.runNow();
    await s.runNow();
    expect(await findTransfer(t.db, `treasury_receipt:${paid.txid}:0:reversal`)).toMatchObject({ debit: TREASURY.key, credit: WALLET.key, sats: 300_000n });
    expect((await listTransfers(t.db, { account: TREASURY.key })).filter((x) => x.key.includes(paid.txid))).toHaveLength(2);
    await s.stop();
  });

  test("two passes at once (two processes) credit a receipt exactly once", async () => {
    const address = await rig.wallet.receiveAddress();
    const paid = rig.chain.fund(address, 123_000n);
    rig.chain.mine(1);
    // Every pass has read the chain before any decides: their decisions are the same and race to be recorded.
    const waiting: Array<() => void> = [];
    const together = {
      depositWallet: rig.wallet.depositWallet,
      async watch(indexes: readonly number[]) {
        const view = await rig.wallet.watch(indexes);
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === 3) for (const go of waiting) go();
        });
        return view;
      },
    };
    const pass = () => watchDeposits({ db: t.db, wallet: together, confirmations: 1, log: silent });
    const reports = await Promise.all([pass(), pass(), pass()]);
    expect(reports.flatMap((r) => r.credited).filter((k) => k.includes(paid.txid))).toEqual([`treasury_receipt:${paid.txid}:0`]);
    expect(reports.reduce((n, r) => n + r.failed, 0)).toBe(0);
    expect((await listTransfers(t.db, { kinds: ["treasury_receipt"] })).filter((x) => x.key.includes(paid.txid))).toHaveLength(1);
  });

  test("the change and the payouts of the app's own transactions are not receipts", async () => {
    const s = scheduler(1);
    await rig.fund(200_000n);
    await s.runNow();
    const receipts = async () => (await listTransfers(t.db, { kinds: ["treasury_receipt"] })).length;
    const counted = await receipts();
    // The app pays one of its own receive addresses (a payout to itself): neither that output nor the change is a receipt.
    const own = await rig.wallet.receiveAddress();
    await linkWallet(t.db, 88_101, "selfpaid", own);
    await seedAward(t.db, { recipients: [{ id: 88_101, login: "selfpaid", amounts: [{ currency: "BTC", minor: 20_000n }] }] });
    const r = await s.runNow();
    expect(r.broadcast).toHaveLength(1);
    expect(outputsOf(rig, r.broadcast[0]!).get(own)).toBe(20_000n);
    rig.chain.mine(1);
    await s.runNow();
    expect(await receipts()).toBe(counted);
    await s.stop();
  });
});
