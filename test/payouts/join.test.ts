import { assessSolvency } from "../../src/payouts/run.js";
import { recordFeeRate } from "../../src/store/feeHistory.js";
import { listPayouts, listPayoutTxs, storeJoinTx, type PayoutTx, type SignedTxRecord } from "../../src/store/payouts.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { ledgerProblems } from "../support/ledger.js";
import { enginesAndBackends, linkWallet, outputsOf, PAYOUT_SETTINGS, receivedBy, seedAward, startPayoutRig, type PayoutRig, resetPayoutState } from "../support/payouts.js";

/**
 * With PAYOUT_MAX_DELAY, payouts that become due while a low-fee batch is still in the mempool join
 * it: a replacement (RBF) that pays the batch's outputs unchanged and theirs too, when that costs
 * less than a second transaction. Exactly once holds on the local chain through the replacement,
 * through the original confirming instead, and through a crash at every step.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const sats = (satVb: number) => BigInt(satVb * 1000);
/** A day of hourly observations: 2–25 sat/vB (so 3 sat/vB is "low" and the bid is 2 sat/vB). */
const DAY_OF_RATES = Array.from({ length: 24 }, (_, i) => sats(2 + i));
const SETTINGS = { maxDelayMs: 24 * HOUR, bumpAfterMs: 2 * HOUR, explorerUrl: null };
const STEPS = ["signed", "stored", "broadcast", "marked"] as const;

describe.each(enginesAndBackends(ENGINES, "exactly-once"))("payouts join a batch in the mempool (%s, %s)", (engine, backend) => {
  let t: TestDb;
  let rig: PayoutRig;

  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetPayoutState(t.db);
    rig = await startPayoutRig(t.db, { backend, settings: SETTINGS });
    for (const [i, r] of DAY_OF_RATES.entries()) await recordFeeRate(t.db, new Date(Date.now() - (i + 1) * HOUR + MIN), r, 7 * 24 * HOUR);
  });
  afterEach(async () => {
    // Whatever happened, the ledger balances and agrees with the awards and payouts, and `ledger check` passes.
    const solvency = await assessSolvency(t.db, rig.wallet);
    await rig.close();
    expect(await ledgerProblems(t.db)).toEqual([]);
    expect(solvency.problems).toEqual([]);
  });

  const estimates = (satVb: number) => (rig.chain.chain.feeEstimates = { "1": satVb, "6": satVb, "144": satVb });

  let nextId = 800;
  async function award(btcSats: bigint): Promise<{ login: string; address: string; sats: bigint }> {
    const id = nextId++;
    const person = { login: `payee${id}`, address: randomAddress("p2wpkh"), sats: btcSats };
    await linkWallet(t.db, id, person.login, person.address);
    await seedAward(t.db, { recipients: [{ id, login: person.login, amounts: [{ currency: "BTC", minor: btcSats }] }] });
    return person;
  }

  /** A batch paying alice sent low (2 sat/vB), unconfirmed; then bob's award becomes due. */
  async function lowBatchThenBob(): Promise<{ alice: Awaited<ReturnType<typeof award>>; bob: Awaited<ReturnType<typeof award>>; first: PayoutTx }> {
    await rig.fund(500_000n);
    const alice = await award(20_000n);
    estimates(3);
    const r = await rig.run();
    expect(r.signed).toHaveLength(1);
    const [first] = await listPayoutTxs(t.db);
    expect(first).toMatchObject({ state: "broadcast", feeRateSatKvb: sats(2) });
    const bob = await award(15_000n);
    return { alice, bob, first: first! };
  }

  /** Sats the wallet's ledger account says left the wallet: payouts and fees, net of anything undone. */
  async function walletOutflow(): Promise<bigint> {
    const [w] = await t.db.query<{ net: bigint }>("SELECT credits_posted - debits_posted AS net FROM ledger_accounts WHERE key = 'wallet'");
    return BigInt(w!.net);
  }

  async function comments(): Promise<Array<{ dedupe_key: string; body: string }>> {
    return t.db.query("SELECT dedupe_key, body FROM outbox ORDER BY id");
  }

  /** Each person got exactly their sats, in one output of one confirmed transaction; returns that txid. */
  function paidOnce(p: { address: string; sats: bigint }): string {
    const got = receivedBy(rig, p.address);
    expect(got.sats).toBe(p.sats);
    expect(got.txids).toHaveLength(1);
    expect(rig.chain.chain.tx(got.txids[0]!)?.height).toBeDefined();
    return got.txids[0]!;
  }

  test("cheaper to join: one replacement on the chain pays the old and the new payout; the old output is unchanged", async () => {
    const { alice, bob, first } = await lowBatchThenBob();
    const r = await rig.run();
    expect(r.joined).toHaveLength(1);
    expect(r.signed).toEqual(r.joined);
    const joined = r.joined[0]!;
    // The original left the mempool; the replacement is the only transaction there.
    expect(rig.chain.chain.mempoolTxids).toEqual([joined]);
    expect(rig.chain.chain.tx(first.txid)).toBeUndefined();
    const outs = outputsOf(rig, joined);
    expect([outs.get(alice.address), outs.get(bob.address)]).toEqual([alice.sats, bob.sats]);
    const [, j] = await listPayoutTxs(t.db);
    expect(j).toMatchObject({ txid: joined, replacesTxId: first.id, state: "broadcast" });
    // BIP125: more than the original's fee, by at least 1 sat/vB of its own size; cheaper than a batch of bob's own at 2 sat/vB.
    expect(j!.feeSats - first.feeSats).toBeGreaterThanOrEqual(BigInt(j!.vsize));
    const alone = 2n * BigInt(Math.ceil((4 * 10.5 + 4 * 68 + 4 * 31 * 2) / 4));
    expect(j!.feeSats - first.feeSats).toBeLessThan(alone);
    expect((await listPayouts(t.db)).map((p) => [p.state, p.txid])).toEqual([["broadcast", joined], ["broadcast", joined]]);

    // Bob's comment names the transaction that pays him; alice is told to follow it.
    const c = await comments();
    const bobPaid = c.find((x) => x.dedupe_key.startsWith("paid:2:"));
    expect(bobPaid?.dedupe_key).toBe(`paid:2:${joined}:issue`);
    expect(bobPaid!.body).toContain(`Transaction \`${joined}\``);
    expect(c.filter((x) => x.dedupe_key.startsWith("bumped:")).map((x) => x.dedupe_key)).toEqual([`bumped:1:${joined}`]);
    // Told why it changed: not a fee rise, one transaction for both.
    expect(c.find((x) => x.dedupe_key === `bumped:1:${joined}`)!.body).toContain("was replaced by one that also pays payouts that became due since");
    expect(c.find((x) => x.dedupe_key === `bumped:1:${joined}`)!.body).not.toContain("Network fees rose");
    expect(c.filter((x) => x.dedupe_key.startsWith("paid:1:") && x.dedupe_key.endsWith(":issue")).map((x) => x.dedupe_key)).toEqual([`paid:1:${first.txid}:issue`]);

    rig.chain.mine(1);
    const done = await rig.run();
    expect(done.confirmed).toEqual([joined]);
    expect(done.replaced).toEqual([first.txid]);
    expect(paidOnce(alice)).toBe(joined);
    expect(paidOnce(bob)).toBe(joined);
    expect((await listPayouts(t.db)).map((p) => p.state)).toEqual(["confirmed", "confirmed"]);
    // The ledger says what the chain says: both payouts and the replacement's whole fee left the wallet.
    expect(await walletOutflow()).toBe(alice.sats + bob.sats + j!.feeSats);
    expect((await comments()).filter((x) => x.dedupe_key.startsWith("replaced:"))).toEqual([]);
  });

  test("dearer to join (the batch in the mempool pays a high rate): the new payout goes in a transaction of its own", async () => {
    await rig.fund(500_000n);
    const alice = await award(20_000n);
    estimates(30);
    // Its deadline near: sent at once at 30 sat/vB.
    const r1 = await rig.run({ now: () => new Date(Date.now() + 24 * HOUR - 10 * MIN) });
    expect(r1.signed).toHaveLength(1);
    const first = r1.signed[0]!;
    const bob = await award(15_000n);
    estimates(3);
    const r2 = await rig.run();
    expect(r2.joined).toEqual([]);
    expect(r2.signed).toHaveLength(1);
    expect(r2.signed[0]).not.toBe(first);
    expect([...rig.chain.chain.mempoolTxids].sort()).toEqual([first, r2.signed[0]!].sort());
    rig.chain.mine(1);
    await rig.run();
    expect(paidOnce(alice)).toBe(first);
    expect(paidOnce(bob)).toBe(r2.signed[0]);
    const txs = await listPayoutTxs(t.db);
    expect(await walletOutflow()).toBe(alice.sats + bob.sats + txs[0]!.feeSats + txs[1]!.feeSats);
  });

  test("the original confirms instead of the replacement: its payout is confirmed with it; the joined payout is queued again at 6 confirmations and paid once", async () => {
    const { alice, bob, first } = await lowBatchThenBob();
    const joined = (await rig.run()).joined[0]!;
    expect(joined).toBeDefined();
    // A race on the chain: a miner had the original and never saw the replacement.
    rig.chain.chain.evict(joined);
    rig.chain.chain.submit(first.hex);
    rig.chain.mine(1);

    // The original's payout is confirmed with it at once; the joined one waits, with the replacement,
    // until a reorganisation is unlikely to bring the replacement back (6 confirmations).
    const early = await rig.run();
    expect(early).toMatchObject({ confirmed: [first.txid], replaced: [], signed: [] });
    expect((await listPayouts(t.db)).map((p) => [p.state, p.txid])).toEqual([["confirmed", first.txid], ["broadcast", joined]]);
    expect((await listPayoutTxs(t.db))[1]!.lastError).toMatch(/\(1 of 6 confirmations\); the payouts it added are queued again at 6$/);
    rig.chain.mine(4);
    expect(await rig.run()).toMatchObject({ replaced: [], signed: [] });
    rig.chain.mine(1);

    const r = await rig.run();
    expect(r.replaced).toEqual([joined]);
    // Bob is queued again and, in the same run, paid by a new transaction (nothing to join now).
    expect(r.signed).toHaveLength(1);
    const again = r.signed[0]!;
    expect(again).not.toBe(joined);
    const payouts = await listPayouts(t.db);
    expect(payouts.map((p) => [p.state, p.txid])).toEqual([["confirmed", first.txid], ["broadcast", again]]);
    // The ledger undid bob's posted payout with the replacement and reserved it again for the new one.
    const keys = (await t.db.query<{ key: string }>("SELECT key FROM ledger_transfers WHERE ref->>'payout' = '2' ORDER BY id")).map((x) => x.key);
    expect(keys).toEqual(["payout:2", "payout:2:post", `payout:2:${joined}:undo`, `payout:2:${joined}:retry`, `payout:2:${joined}:retry:post`]);
    const c = await comments();
    expect(c.map((x) => x.dedupe_key)).toEqual(expect.arrayContaining([`paid:2:${joined}:issue`, `replaced:2:${joined}`, `paid:2:${again}:issue`]));
    expect(c.find((x) => x.dedupe_key === `paid:2:${again}:issue`)!.body).toContain(`Transaction \`${again}\``);

    rig.chain.mine(1);
    await rig.run();
    expect(paidOnce(alice)).toBe(first.txid);
    expect(paidOnce(bob)).toBe(again);
    expect((await listPayouts(t.db)).map((p) => p.state)).toEqual(["confirmed", "confirmed"]);
    const [o, , n] = await listPayoutTxs(t.db);
    expect(await walletOutflow()).toBe(alice.sats + bob.sats + o!.feeSats + n!.feeSats);
  });

  test("the node refuses the replacement when it is first sent: the original keeps its payout; the joined one is queued again and paid once", async () => {
    const { alice, bob, first } = await lowBatchThenBob();
    // Between storing and sending, the original is mined: the replacement's coins are spent.
    const r = await rig.run({
      checkpoint: (s) => {
        if (s === "stored") rig.chain.mine(1);
      },
    });
    expect(r.joined).toHaveLength(1);
    expect(r.replaced).toEqual(r.joined);
    expect(rig.chain.chain.tx(r.joined[0]!)).toBeUndefined();
    expect((await listPayouts(t.db)).map((p) => [p.state, p.txid])).toEqual([["broadcast", first.txid], ["queued", null]]);
    // Never announced, so nothing to take back.
    expect((await comments()).filter((x) => x.dedupe_key.includes(r.joined[0]!))).toEqual([]);

    const next = await rig.run();
    expect(next.confirmed).toEqual([first.txid]);
    expect(next.signed).toHaveLength(1);
    rig.chain.mine(1);
    await rig.run();
    expect(paidOnce(alice)).toBe(first.txid);
    expect(paidOnce(bob)).toBe(next.signed[0]);
    const [o, , n] = await listPayoutTxs(t.db);
    expect(await walletOutflow()).toBe(alice.sats + bob.sats + o!.feeSats + n!.feeSats);
  });

  test("storing a replacement that adds payouts refuses one that drops an old payout, adds none, adds one not queued, miscounts or pays no more fee", async () => {
    const { first } = await lowBatchThenBob();
    // Fees are high now: bob's payout is formed and waits, queued.
    estimates(20);
    expect((await rig.run()).signed).toEqual([]);
    const [alice, bob] = await listPayouts(t.db);
    expect([alice!.state, bob!.state]).toEqual(["broadcast", "queued"]);
    const record = (outputs: Array<[bigint, number]>, payoutSats: bigint, feeSats = first.feeSats + 200n): SignedTxRecord => ({
      ...first, txid: "ab".repeat(32), feeSats, payoutSats, change: undefined, replacesTxId: undefined, outputs: new Map(outputs),
    });
    const store = (r: SignedTxRecord) => t.db.transaction((tx) => storeJoinTx(tx, r, first));
    await expect(store(record([[bob!.id, 1]], 15_000n))).rejects.toThrow(/the payouts of \w+ changed/);
    await expect(store(record([[alice!.id, 0]], 20_000n))).rejects.toThrow(/adds no payouts/);
    await expect(store(record([[alice!.id, 0], [999n, 1]], 35_000n))).rejects.toThrow(/no longer all queued/);
    await expect(store(record([[alice!.id, 0], [bob!.id, 1]], 35_001n))).rejects.toThrow(/its payouts come to 35000/);
    await expect(store(record([[alice!.id, 0], [bob!.id, 1]], 35_000n, first.feeSats))).rejects.toThrow(/not more than the/);
    // Nothing of it was stored: no transaction, bob still queued with his reservation open (the ledger check below).
    expect((await listPayoutTxs(t.db)).map((x) => x.txid)).toEqual([first.txid]);
    expect((await listPayouts(t.db)).map((p) => [p.state, p.txid])).toEqual([["broadcast", first.txid], ["queued", null]]);
  });

  test.each(STEPS)("a crash after %s of the replacement: after a restart each payout is paid exactly once", async (step) => {
    const { alice, bob, first } = await lowBatchThenBob();
    await expect(
      rig.run({
        checkpoint: (s) => {
          if (s === step) throw new Error(`crash after ${step}`);
        },
      }),
    ).rejects.toThrow("crash");
    // Where the crash left things: proves each step was really interrupted.
    const txs = await listPayoutTxs(t.db);
    if (step === "signed") {
      expect(txs.map((x) => x.txid)).toEqual([first.txid]);
      expect((await listPayouts(t.db)).map((p) => p.state)).toEqual(["broadcast", "queued"]);
    } else {
      expect(txs.map((x) => x.state)).toEqual(["broadcast", step === "marked" ? "broadcast" : "signed"]);
      expect(rig.chain.chain.tx(txs[1]!.txid) !== undefined).toBe(step !== "stored");
    }

    // A restart: a new wallet object on the same chain, database and keys.
    const restarted = await startPayoutRig(t.db, { backend, settings: SETTINGS, chain: rig.chain, mnemonic: rig.mnemonic });
    try {
      await restarted.run();
      rig.chain.mine(1);
      await restarted.run();
      const paidBy = [paidOnce(alice), paidOnce(bob)];
      // One transaction on the chain pays both: the replacement.
      expect(paidBy[0]).toBe(paidBy[1]);
      expect(paidBy[0]).not.toBe(first.txid);
      expect((await listPayouts(t.db)).map((p) => [p.state, p.txid])).toEqual([["confirmed", paidBy[0]], ["confirmed", paidBy[0]]]);
      const c = (await comments()).map((x) => x.dedupe_key);
      expect(c.filter((k) => k.startsWith("paid:2:") && k.endsWith(":issue"))).toEqual([`paid:2:${paidBy[0]}:issue`]);
      expect(c.filter((k) => k.startsWith("replaced:"))).toEqual([]);
      const j = (await listPayoutTxs(t.db)).find((x) => x.txid === paidBy[0])!;
      expect(await walletOutflow()).toBe(alice.sats + bob.sats + j.feeSats);
    } finally {
      await restarted.close();
    }
  });

  test("with PAYOUT_MAX_DELAY off nothing joins: a second batch, as before", async () => {
    rig.chain.chain.feeEstimates = { "1": 2, "6": 2, "144": 1 };
    await rig.fund(500_000n);
    await award(20_000n);
    const off = { settings: { ...PAYOUT_SETTINGS, ...SETTINGS, maxDelayMs: 0 } };
    const r1 = await rig.run(off);
    await award(15_000n);
    const r2 = await rig.run(off);
    expect(r2.joined).toEqual([]);
    expect([...rig.chain.chain.mempoolTxids].sort()).toEqual([...r1.signed, ...r2.signed].sort());
  });
});
