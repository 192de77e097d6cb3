import { randomAddress } from "../bitcoin/helpers.js";
import { renderCard } from "../../src/github/card.js";
import { askWalletComment } from "../../src/payouts/comments.js";
import { loadSettings } from "../../src/settings.js";
import type { AwardView } from "../../src/store/awards.js";
import type { Bounty, Pledge } from "../../src/store/bounties.js";
import { bumpForDeadline, decideTiming, estimateAt, humanWithin, MIN_BID, percentile, type FeeObservation, type TimingDecision } from "../../src/payouts/timing.js";
import { feeRatesSince, recordFeeRate } from "../../src/store/feeHistory.js";
import { listPayouts, listPayoutTxs } from "../../src/store/payouts.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { ledgerProblems } from "../support/ledger.js";
import { enginesAndBackends, linkWallet, seedAward, startPayoutRig, type PayoutRig, resetPayoutState } from "../support/payouts.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2026, 11, 1, 12);
const sats = (satVb: number) => BigInt(satVb * 1000);
const est = (satVb: number) => new Map([[1, sats(satVb)]]);
/** A day of hourly observations: 2–25 sat/vB. */
const DAY_OF_RATES = Array.from({ length: 24 }, (_, i) => sats(2 + i));

describe("decideTiming", () => {
  const cases: Array<{ name: string; deadlineIn: number; estimate: number; history: bigint[]; want: Partial<TimingDecision> & { kind: string }; reason?: RegExp }> = [
    { name: "high estimate, a day left: waits", deadlineIn: 24 * HOUR, estimate: 20, history: DAY_OF_RATES, want: { kind: "wait" }, reason: /^within 24 h, when fees are low/ },
    { name: "estimate at the low: sent at the bid (the history's lowest)", deadlineIn: 24 * HOUR, estimate: 4, history: DAY_OF_RATES, want: { kind: "send", why: "low", rate: sats(2) } },
    { name: "deadline inside the headroom: sent at the next-block rate even when high", deadlineIn: 20 * MIN, estimate: 20, history: DAY_OF_RATES, want: { kind: "send", why: "deadline", rate: sats(20) } },
    { name: "deadline past: sent at once", deadlineIn: -HOUR, estimate: 20, history: DAY_OF_RATES, want: { kind: "send", why: "deadline" } },
    { name: "too little history to know low: sent now at the estimate", deadlineIn: 24 * HOUR, estimate: 20, history: DAY_OF_RATES.slice(0, 3), want: { kind: "send", why: "no-history", rate: sats(20) } },
    { name: "just outside the headroom (9 blocks): still waits", deadlineIn: 91 * MIN, estimate: 20, history: DAY_OF_RATES, want: { kind: "wait" }, reason: /^within 91 min/ },
    // Three blocks of headroom let a burst make a deadline batch late in the bench (npm run bench -- timing).
    { name: "80 minutes left is inside the headroom, even with no run interval", deadlineIn: 80 * MIN, estimate: 20, history: DAY_OF_RATES, want: { kind: "send", why: "deadline", rate: sats(20) } },
  ];
  test.each(cases)("$name", ({ deadlineIn, estimate, history, want, reason }) => {
    const d = decideTiming({ now: NOW, deadlines: [NOW + 2 * deadlineIn, NOW + deadlineIn], estimates: est(estimate), history });
    expect(d).toMatchObject(want);
    if (reason) expect(d.kind === "wait" && d.reason).toMatch(reason);
  });

  test("the run interval counts as headroom: a run an hour away could come too late", () => {
    const d = decideTiming({ now: NOW, deadlines: [NOW + 80 * MIN], estimates: est(20), history: DAY_OF_RATES, options: { runEveryMs: HOUR } });
    expect(d).toMatchObject({ kind: "send", why: "deadline" });
  });

  test("no deadlines or estimates is a caller's error", () => {
    expect(() => decideTiming({ now: NOW, deadlines: [], estimates: est(1), history: [] })).toThrow(RangeError);
    expect(() => estimateAt(new Map(), 1)).toThrow(RangeError);
  });

  test("estimateAt reads the longest known target not above the one asked, percentile is nearest-rank", () => {
    const m = new Map([[1, 9000n], [6, 5000n], [144, 1000n]]);
    expect([estimateAt(m, 1), estimateAt(m, 5), estimateAt(m, 6), estimateAt(m, 1000), estimateAt(m, 0)]).toEqual([9000n, 9000n, 5000n, 1000n, 9000n]);
    expect([percentile(DAY_OF_RATES, 1), percentile(DAY_OF_RATES, 10), percentile(DAY_OF_RATES, 100)]).toEqual([sats(2), sats(4), sats(25)]);
    expect([humanWithin(23.5 * HOUR), humanWithin(45 * MIN), humanWithin(0)]).toEqual(["24 h", "45 min", "now"]);
  });
});

describe("decideTiming with a week of timed observations", () => {
  const WEEK = 7 * 24 * HOUR;
  /**
   * Hourly observations of the last week, back to exactly a week ago: `rateAt(hours after a week ago)`, in sat/vB. With no run
   * interval given, hour 1 is what a batch sent now met a week ago (the next hour); hours 2… are the rest of the window.
   */
  const week = (rateAt: (h: number) => number): FeeObservation[] => Array.from({ length: 169 }, (_, i) => ({ at: NOW - WEEK + i * HOUR, rate: sats(rateAt(i)) }));
  const decide = (over: { estimate: number; observations: FeeObservation[]; deadlineIn?: number; history?: bigint[]; unconfirmedBatches?: number; estimateSats?: bigint }) =>
    decideTiming({
      now: NOW,
      deadlines: [NOW + (over.deadlineIn ?? 24 * HOUR)],
      estimates: over.estimateSats ? new Map([[1, over.estimateSats]]) : est(over.estimate),
      history: over.history ?? DAY_OF_RATES,
      observations: over.observations,
      ...(over.unconfirmedBatches !== undefined ? { unconfirmedBatches: over.unconfirmedBatches } : {}),
    });

  test("a week ago fees fell later in the window: waits, though the estimate is at the last day's low", () => {
    // The last day's history alone would send at 4 sat/vB (its 10th percentile); a week ago 3 sat/vB came six hours later.
    expect(decideTiming({ now: NOW, deadlines: [NOW + 24 * HOUR], estimates: est(4), history: DAY_OF_RATES })).toMatchObject({ kind: "send" });
    const d = decide({ estimate: 4, observations: week((h) => (h === 6 ? 3 : 10)) });
    expect(d).toMatchObject({ kind: "wait", lowRate: sats(3) });
    expect(d.kind === "wait" && d.reason).toBe("within 24 h, when fees are low (now 4 sat/vB; a week ago they fell to 3 sat/vB later in this window)");
  });

  test("a week ago now was the window's low: sends, bidding no more than that low, though the last day says wait", () => {
    expect(decideTiming({ now: NOW, deadlines: [NOW + 24 * HOUR], estimates: est(20), history: DAY_OF_RATES })).toMatchObject({ kind: "wait" });
    // Within 15% of the rest of the window's least (5 against 4.5) is low enough; the bid is that week-ago low, not 90% of 20.
    expect(decide({ estimate: 20, observations: week((h) => (h === 1 ? 5 : h === 9 ? 4.5 : 8)) })).toMatchObject({ kind: "send", why: "low", rate: 4_500n });
    expect(decide({ estimate: 20, observations: week((h) => (h === 1 ? 5 : h === 9 ? 4 : 8)) })).toMatchObject({ kind: "wait", lowRate: sats(4) });
  });

  test("the estimate already below the week-ago low: sends at 90% of the estimate (blocks dip below the highest recent minimum)", () => {
    expect(decide({ estimate: 8, observations: week((h) => (h <= 1 ? 20 : 10)) })).toMatchObject({ kind: "send", why: "low", rate: 7_200n });
  });

  test("the bid never goes below 1 sat/vB (it would not relay, and the wallet would sign at another rate)", () => {
    expect(MIN_BID).toBe(1000n);
    expect(decide({ estimate: 0, estimateSats: 1_050n, observations: week(() => 1) })).toMatchObject({ kind: "send", rate: 1_000n });
  });

  test("only the rest of the window counts: a week-ago low after the last run that may send low is not waited for", () => {
    // Deadline in 10 h: the last low send is 9 blocks (90 min) before it; the week-ago 1 sat/vB at +9 h is past that.
    expect(decide({ estimate: 10, deadlineIn: 10 * HOUR, observations: week((h) => (h === 9 ? 1 : 10)) })).toMatchObject({ kind: "send", why: "low" });
    expect(decide({ estimate: 10, deadlineIn: 10 * HOUR, observations: week((h) => (h === 8 ? 1 : 10)) })).toMatchObject({ kind: "wait" });
  });

  test("now is the blocks before the next run: with runs every 3 h, a low 2 h after a week ago counts as now", () => {
    const obs = week((h) => (h === 2 ? 4 : h === 6 ? 4.5 : 10));
    const at = (runEveryMs: number) => decideTiming({ now: NOW, deadlines: [NOW + 24 * HOUR], estimates: est(20), history: DAY_OF_RATES, observations: obs, options: { runEveryMs } });
    expect(at(3 * HOUR)).toMatchObject({ kind: "send", why: "low", rate: sats(4) });
    expect(at(HOUR)).toMatchObject({ kind: "wait", lowRate: sats(4) });
  });

  test("no observation from a week ago: the last day's history decides", () => {
    const recent = week((h) => (h === 100 ? 1 : 10)).filter((x) => x.at > NOW - 3 * 24 * HOUR);
    expect(decide({ estimate: 4, observations: recent })).toMatchObject({ kind: "send", why: "low", rate: sats(2) });
  });

  test("an earlier batch unconfirmed: new payouts wait for the next one, unless their deadline is near", () => {
    const low = week((h) => (h === 1 ? 5 : 8));
    expect(decide({ estimate: 20, observations: low, unconfirmedBatches: 0 })).toMatchObject({ kind: "send", why: "low" });
    const d = decide({ estimate: 20, observations: low, unconfirmedBatches: 1 });
    expect(d).toMatchObject({ kind: "wait" });
    expect(d.kind === "wait" && d.reason).toBe("within 24 h, when fees are low (with the next batch: the last one is not confirmed yet)");
    expect(decide({ estimate: 20, observations: low, unconfirmedBatches: 1, deadlineIn: 20 * MIN })).toMatchObject({ kind: "send", why: "deadline", rate: sats(20) });
    // The same without timed observations.
    expect(decideTiming({ now: NOW, deadlines: [NOW + 24 * HOUR], estimates: est(4), history: DAY_OF_RATES, unconfirmedBatches: 2 })).toMatchObject({ kind: "wait" });
  });
});

test("PAYOUT_MAX_DELAY: 0 (the default) is off; a duration turns timing on; anything else is refused", () => {
  expect(loadSettings({}).payout.maxDelayMs).toBe(0);
  expect(loadSettings({ PAYOUT_MAX_DELAY: "0" }).payout.maxDelayMs).toBe(0);
  expect(loadSettings({ PAYOUT_MAX_DELAY: "24h" }).payout.maxDelayMs).toBe(24 * HOUR);
  expect(() => loadSettings({ PAYOUT_MAX_DELAY: "soon" })).toThrow(/PAYOUT_MAX_DELAY/);
});

describe("bumpForDeadline", () => {
  test.each([
    { name: "deadline far: no bump", deadlineIn: 10 * HOUR, txRate: 2, estimate: 20, want: { bump: false } },
    { name: "deadline near, below the next-block rate: bumped to it", deadlineIn: 20 * MIN, txRate: 2, estimate: 20, want: { bump: true, rate: sats(20) } },
    { name: "deadline near, already at the rate: no bump", deadlineIn: 20 * MIN, txRate: 20, estimate: 20, want: { bump: false } },
    // BIP125 refuses a replacement less than 1 sat/vB above: bumped to 20.5, not to 20 (which would never be sent).
    { name: "deadline near, just under the next-block rate: bumped by the incremental relay fee", deadlineIn: 20 * MIN, txRate: 19.5, estimate: 20, want: { bump: true, rate: 20_500n } },
  ])("$name", ({ deadlineIn, txRate, estimate, want }) => {
    expect(bumpForDeadline({ now: NOW, deadline: NOW + deadlineIn, txRate: sats(txRate), estimates: est(estimate) })).toEqual(want);
  });
});

describe("with PAYOUT_MAX_DELAY the card and the ask say when a payout is expected", () => {
  const bounty = { id: 1n, installationId: 2, repoId: 3, owner: "kubernetes", repo: "website", issueNumber: 42, issueTitle: "Docs", status: "awarded",
    statusReason: null, cardCommentId: null, cardVersion: 2n, cardSyncedVersion: 1n, labelName: "bounty", labelApplied: true, issueState: "completed" } as Bounty;
  const pledge: Pledge = { id: 1n, funderKey: "user:1", funderId: 1, funderLogin: "alice", amount: { currency: "USD", minor: 1000n }, status: "awarded", createdAt: new Date(0), updatedAt: new Date(0) };
  const award = (over: Partial<AwardView>): AwardView => ({
    id: 1n, bountyId: 1n, recipientId: 7, recipientLogin: "bob", shareBps: 10000, amounts: [{ currency: "USD", minor: 1000n }], source: "merge", claimId: 1n,
    pr: { owner: "kubernetes", repo: "website", number: 9 }, holdUntil: new Date(NOW - HOUR), state: "credited", cancelReason: null, sats: 2_500n, pricedAt: new Date(NOW),
    unclaimedCharity: null, payoutId: null, approval: null, approvalReason: null, approvedBy: null, approvedAt: null, payout: null, priceWait: false,
    balanceSats: 10_000n, wallet: { kind: "address", addressType: "p2wpkh", charityName: null }, ...over,
  });
  const state = (a: AwardView, maxDelayMs?: number) =>
    renderCard(bounty, [pledge], [a], { now: new Date(NOW), payouts: { minSats: 10_000n, intervalMs: HOUR, ...(maxDelayMs ? { maxDelayMs } : {}) } })
      .split("\n").find((l) => l.startsWith("| @bob"))!.split(" | ").at(-1)!.replace(/ \|$/, "");

  test.each([
    ["due, not in a payout yet", award({}), "2,500 sats credited to @bob's balance; paid within 24 h, when fees are low"],
    ["in a queued payout", award({ payoutId: 5n, payout: { state: "queued", payeeKind: "user", charityName: null, txid: null } }), "2,500 sats credited to @bob's balance; queued, paid within 24 h, when fees are low"],
  ])("%s", (_name, a, text) => {
    expect(state(a, 24 * HOUR)).toBe(text);
    // Off (0), the card says what it always said.
    expect(state(a)).toContain("in the next payout run (within 1h)");
  });

  test("the ask for a wallet says it is paid within PAYOUT_MAX_DELAY, when fees are low (only when the balance is due)", () => {
    const ask = (balanceSats: bigint, maxDelayMs?: number) =>
      askWalletComment({ login: "c", sats: 2_500n, unclaimedDays: 30, charityName: null, balanceSats, minSats: 10_000n, ...(maxDelayMs ? { maxDelayMs } : {}) });
    expect(ask(10_000n, 24 * HOUR)).toContain("Once you do, it is paid within 24 h, when fees are low.");
    expect(ask(10_000n)).not.toContain("when fees are low");
    expect(ask(4_000n, 24 * HOUR)).not.toContain("when fees are low");
  });
});

describe.each(enginesAndBackends(ENGINES))("PAYOUT_MAX_DELAY=24h on the local chain (%s, %s)", (engine, backend) => {
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
    rig = await startPayoutRig(t.db, { backend, settings: { maxDelayMs: 24 * HOUR, bumpAfterMs: 2 * HOUR } });
    // The last day's runs saw 2–25 sat/vB.
    for (const [i, r] of DAY_OF_RATES.entries()) await recordFeeRate(t.db, new Date(Date.now() - (i + 1) * HOUR + MIN), r, 7 * 24 * HOUR);
  });
  afterEach(async () => {
    await rig.close();
    expect(await ledgerProblems(t.db)).toEqual([]);
  });

  const estimates = (satVb: number) => (rig.chain.chain.feeEstimates = { "1": satVb, "6": satVb, "144": satVb });

  async function duePayout(): Promise<string> {
    await rig.fund(500_000n);
    const alice = randomAddress("p2wpkh");
    await linkWallet(t.db, 501, "alice", alice);
    await seedAward(t.db, { recipients: [{ id: 501, login: "alice", amounts: [{ currency: "USD", minor: 5000n }] }] });
    return alice;
  }

  test("high estimates: the payout waits, saying when it is expected; each run records the rate it saw", async () => {
    await duePayout();
    estimates(20);
    const r = await rig.run();
    expect(r).toMatchObject({ queued: 1, signed: [] });
    expect(r.waiting).toMatch(/^within 24 h, when fees are low \(now 20 sat\/vB, low is 4 sat\/vB\)$/);
    const [p] = await listPayouts(t.db, { state: "queued" });
    expect(p!.waitReason).toBe(r.waiting);
    expect(rig.chain.chain.mempoolTxids).toEqual([]);
    expect(await feeRatesSince(t.db, new Date(Date.now() - 60_000))).toEqual([sats(20)]);
  });

  test("low estimates: sent at once, at the recent low", async () => {
    await duePayout();
    estimates(3);
    const r = await rig.run();
    expect(r.signed).toHaveLength(1);
    const [tx] = await listPayoutTxs(t.db, ["broadcast"]);
    expect(tx!.feeRateSatKvb).toBe(sats(2));
    expect(rig.chain.chain.mempoolTxids).toEqual([tx!.txid]);
  });

  test("a week of timed observations: sent now, when a week ago these hours were the window's low, though the last day says wait", async () => {
    await duePayout();
    // A week ago: 5 sat/vB in the run interval (a minute here) from now, 8 sat/vB for the rest of the 24 h window.
    const week = 7 * 24 * HOUR;
    await recordFeeRate(t.db, new Date(Date.now() - week + 20_000), sats(5), 8 * 24 * HOUR);
    for (let h = 2; h < 20; h += 2) await recordFeeRate(t.db, new Date(Date.now() - week + h * HOUR), sats(8), 8 * 24 * HOUR);
    estimates(5);
    const r = await rig.run();
    expect(r.signed).toHaveLength(1);
    const [tx] = await listPayoutTxs(t.db, ["broadcast"]);
    // Bid below the estimate (90 %), waiting in the mempool for a block that cheap.
    expect(tx!.feeRateSatKvb).toBe(4_500n);
    // The run a week ago is kept for next week's forecast.
    expect((await feeRatesSince(t.db, new Date(Date.now() - week))).length).toBeGreaterThan(DAY_OF_RATES.length);
  });

  test("deadline near: sent at the next-block rate even when high, then not bumped again", async () => {
    await duePayout();
    estimates(20);
    expect((await rig.run()).signed).toEqual([]);
    const late = () => new Date(Date.now() + 24 * HOUR - 10 * MIN);
    const r = await rig.run({ now: late });
    expect(r.signed).toHaveLength(1);
    const [tx] = await listPayoutTxs(t.db, ["broadcast"]);
    expect(tx!.feeRateSatKvb).toBe(sats(20));
    expect((await rig.run({ now: late })).bumped).toEqual([]);
  });

  test("a batch sent low is bumped only once its deadline is near, to the next-block rate", async () => {
    await duePayout();
    estimates(3);
    expect((await rig.run()).signed).toHaveLength(1);
    estimates(30);
    // Past PAYOUT_BUMP_AFTER with the estimate ten times higher, but 21 h before the deadline: it rides.
    expect((await rig.run({ now: () => new Date(Date.now() + 3 * HOUR) })).bumped).toEqual([]);
    const r = await rig.run({ now: () => new Date(Date.now() + 24 * HOUR - 20 * MIN) });
    expect(r.bumped).toHaveLength(1);
    const [bump] = (await listPayoutTxs(t.db, ["broadcast"])).filter((x) => x.txid === r.bumped[0]);
    expect(bump!.feeRateSatKvb).toBe(sats(30));
    rig.chain.chain.mine(1);
    expect((await rig.run({ now: () => new Date(Date.now() + 24 * HOUR - 10 * MIN) })).confirmed).toEqual(r.bumped);
  });
});
