import { runCli } from "../../src/cli/index.js";
import type { Db } from "../../src/store/db.js";
import { bountyEvents } from "../../src/store/bounties.js";
import { approvePayouts, listPayouts, listPayoutTxs, type PayoutRecord } from "../../src/store/payouts.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { ledgerProblems } from "../support/ledger.js";
import { enginesAndBackends, linkWallet, PAYOUT_SETTINGS, seedAward, silent, startPayoutRig, outputsOf, receivedBy, type PayoutRig, resetPayoutState } from "../support/payouts.js";

/**
 * One payout that cannot be paid never blocks the others: the run pays, oldest first, every queued
 * payout that still fits beside those before it; the rest wait, each with its own reason.
 */

async function cli(db: Db, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, {
    env: { USER: "operator" },
    db,
    log: silent,
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

/** People with a linked wallet and one BTC award each, in this order (so their payouts are queued in it). */
async function queue(db: Db, sats: bigint[], firstId: number): Promise<Array<{ id: number; login: string; address: string; sats: bigint }>> {
  const people = sats.map((s, i) => ({ id: firstId + i, login: `p${firstId + i}`, address: randomAddress("p2wpkh"), sats: s }));
  for (const p of people) {
    await linkWallet(db, p.id, p.login, p.address);
    await seedAward(db, { recipients: [{ id: p.id, login: p.login, amounts: [{ currency: "BTC", minor: p.sats }] }] });
  }
  return people;
}

const byAddress = (payouts: PayoutRecord[], address: string) => payouts.find((p) => p.address === address)!;

describe.each(enginesAndBackends(ENGINES))("stuck payouts (%s, %s)", (engine, backend) => {
  let t: TestDb;
  let rig: PayoutRig | undefined;

  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetPayoutState(t.db);
  });
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    // Whatever the test did, the ledger still balances and agrees with the awards and payouts.
    expect(await ledgerProblems(t.db)).toEqual([]);
  });

  test("a payout over PAYOUT_MAX_TX_SATS at the head of the queue: the small ones behind it are paid in one batch; it waits for approval, then goes alone", async () => {
    rig = await startPayoutRig(t.db, { backend, wallet: { maxTxSats: 50_000n, dailyCapSats: 500_000n } });
    await rig.fund(300_000n);
    const [big, small1, small2] = await queue(t.db, [80_000n, 10_000n, 12_000n], 1100);

    const r1 = await rig.run();
    expect(r1.signed).toHaveLength(1);
    const outs = outputsOf(rig, r1.signed[0]!);
    expect([outs.get(small1!.address), outs.get(small2!.address), outs.get(big!.address)]).toEqual([10_000n, 12_000n, undefined]);

    const waiting = byAddress(await listPayouts(t.db), big!.address);
    expect(waiting).toMatchObject({ state: "awaiting_approval", overTxCap: "requested" });
    expect(waiting.waitReason).toMatch(/80,000 sats is over PAYOUT_MAX_TX_SATS \(50,000 sats\)/);
    expect(waiting.waitReason).toContain(`bounty-bot payouts approve ${waiting.id}`);
    const list = await cli(t.db, ["payouts", "list", "--state", "awaiting_approval"]);
    expect(list.code).toBe(0);
    expect(list.out).toContain(big!.address);
    expect(list.out).toContain("over PAYOUT_MAX_TX_SATS");

    // It does not retry on its own: another run signs nothing.
    expect((await rig.run()).signed).toEqual([]);
    // `--all` releases PAYOUT_MODE=approve payouts only; a payout over the cap is approved by its id.
    const all = await cli(t.db, ["payouts", "approve", "--all"]);
    expect(all.out).toContain(`over PAYOUT_MAX_TX_SATS; approve each by its id: ${waiting.id}`);
    expect((await listPayouts(t.db, { ids: [waiting.id] }))[0]!.state).toBe("awaiting_approval");

    const approved = await cli(t.db, ["payouts", "approve", String(waiting.id), "--by", "alice"]);
    expect(approved).toMatchObject({ code: 0 });
    expect(approved.out).toContain(`Approved by alice: ${waiting.id}`);
    const r2 = await rig.run();
    expect(r2.signed).toHaveLength(1);
    const alone = outputsOf(rig, r2.signed[0]!);
    // Its own transaction: the payout and the wallet's change, nothing else.
    expect(alone.size).toBe(2);
    expect(alone.get(big!.address)).toBe(80_000n);
    const [, tx] = await listPayoutTxs(t.db);
    expect(tx!.payoutSats + tx!.feeSats).toBeGreaterThan(50_000n);
    expect(receivedBy(rig, big!.address).sats).toBe(80_000n);
    expect((await listPayouts(t.db)).map((p) => p.state)).toEqual(["broadcast", "broadcast", "broadcast"]);

    const [award] = await t.db.query<{ bounty_id: bigint }>("SELECT bounty_id FROM awards WHERE recipient_id = $1", [big!.id]);
    const events = await bountyEvents(t.db, BigInt(award!.bounty_id));
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(["payout_held", "payout_signed"]));
  });

  test("an approved payout over PAYOUT_MAX_TX_SATS is still bound by the daily cap", async () => {
    rig = await startPayoutRig(t.db, { backend, wallet: { maxTxSats: 50_000n, dailyCapSats: 70_000n } });
    await rig.fund(300_000n);
    const [big] = await queue(t.db, [80_000n], 1200);
    await rig.run();
    const [p] = await listPayouts(t.db);
    expect(p).toMatchObject({ state: "awaiting_approval", overTxCap: "requested" });
    expect(await approvePayouts(t.db, [p!.id], "operator")).toEqual([p!.id]);

    const r = await rig.run();
    expect(r.signed).toEqual([]);
    const [after] = await listPayouts(t.db);
    expect(after).toMatchObject({ state: "queued", overTxCap: "approved" });
    expect(after!.waitReason).toMatch(/^daily cap: .*PAYOUT_DAILY_CAP_SATS/);
    expect(receivedBy(rig, big!.address).sats).toBe(0n);
    expect(await t.db.query("SELECT * FROM spend_reservations")).toEqual([]);
  });

  test("the transaction of a payout approved above PAYOUT_MAX_TX_SATS can be fee-bumped, within the daily cap", async () => {
    const HOUR = 3_600_000;
    rig = await startPayoutRig(t.db, { backend, wallet: { maxTxSats: 50_000n, dailyCapSats: 500_000n } });
    rig.chain.chain.feeEstimates = { "1": 2, "6": 2, "144": 1 };
    await rig.fund(300_000n);
    const [big] = await queue(t.db, [80_000n], 1250);
    await rig.run();
    const [p] = await listPayouts(t.db);
    await approvePayouts(t.db, [p!.id], "operator");
    const first = (await rig.run()).broadcast[0]!;
    rig.chain.chain.feeEstimates = { "1": 30, "6": 20, "144": 5 };

    const bumping = { settings: { ...PAYOUT_SETTINGS, bumpAfterMs: 2 * HOUR }, now: () => new Date(Date.now() + 3 * HOUR) };
    const r = await rig.run(bumping);
    expect(r.bumped).toHaveLength(1);
    expect(rig.chain.chain.tx(first)).toBeUndefined();
    expect(outputsOf(rig, r.bumped[0]!).get(big!.address)).toBe(80_000n);
    const [, old, bump] = await listPayoutTxs(t.db).then((txs) => [null, ...txs]);
    expect(bump!.feeSats).toBeGreaterThan(old!.feeSats);
    expect(bump!.lastError).toBeNull();
  });

  test("over what is left of the daily cap: the payouts that fit are paid, oldest first; the rest wait with the daily-cap reason", async () => {
    rig = await startPayoutRig(t.db, { backend, wallet: { dailyCapSats: 40_000n } });
    await rig.fund(300_000n);
    const people = await queue(t.db, [15_000n, 15_000n, 15_000n, 5_000n], 1300);

    const r = await rig.run();
    expect(r.signed).toHaveLength(1);
    const outs = outputsOf(rig, r.signed[0]!);
    expect(people.map((p) => outs.get(p.address) ?? 0n)).toEqual([15_000n, 15_000n, 0n, 5_000n]);
    const third = byAddress(await listPayouts(t.db), people[2]!.address);
    expect(third.state).toBe("queued");
    expect(third.waitReason).toMatch(/^daily cap: .*PAYOUT_DAILY_CAP_SATS/);
    expect(r.waiting).toMatch(/daily cap/);
  });

  test("over the wallet's balance: the payouts it can fund are paid; the one it cannot waits with its reason", async () => {
    rig = await startPayoutRig(t.db, { backend });
    await rig.fund(30_000n);
    const people = await queue(t.db, [20_000n, 15_000n, 5_000n], 1400);

    const r = await rig.run();
    expect(r.signed).toHaveLength(1);
    const outs = outputsOf(rig, r.signed[0]!);
    expect(people.map((p) => outs.get(p.address) ?? 0n)).toEqual([20_000n, 0n, 5_000n]);
    const second = byAddress(await listPayouts(t.db), people[1]!.address);
    expect(second.state).toBe("queued");
    expect(second.waitReason).toMatch(/^wallet balance: .*cannot fund/);

    // Funded: the next run pays it.
    await rig.fund(50_000n);
    const r2 = await rig.run();
    expect(outputsOf(rig, r2.signed[0]!).get(people[1]!.address)).toBe(15_000n);
    expect(byAddress(await listPayouts(t.db), people[1]!.address).waitReason).toBeNull();
  });
});
