import type { Amount } from "../../src/core/money.js";
import { awardBounty, cancelHeldAwards, listAwards, revertClaim, recordClaim, type Award } from "../../src/store/awards.js";
import {
  backPledge,
  bountyEvents,
  cancelOpenPledges,
  findBounty,
  listPledges,
  lockBounty,
  pledge,
  pledgeEscrow,
  replay,
  setIssueState,
  userFunder,
  withdraw,
  type Cause,
  type IssueRef,
  type PledgeTerms,
} from "../../src/store/bounties.js";
import type { Queryable } from "../../src/store/db.js";
import { earningsOf, fundsOf, TREASURY, WALLET, availableBalance } from "../../src/ledger/rules.js";
import { escrowSlots } from "../../src/store/escrow.js";
import { accountBalance, listTransfers, transferNow } from "../../src/store/ledger.js";
import { creditAward } from "../../src/store/payouts.js";
import { awardSats } from "../../src/payouts/plan.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { ledgerProblems } from "../support/ledger.js";

const cause: Cause = { actor: { id: 1, login: "alice" }, deliveryId: "d-1" };
const RATES = { USD: { price: "60000", sources: ["fixed"], at: "2026-12-01T00:00:00Z" } };
const USD20: Amount = { currency: "USD", minor: 2000n };
let nextIssue = 1;
let nextUser = 7000;

describe.each(ENGINES)("backed pledges on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });

  const issue = (owner = "kubernetes"): IssueRef => ({ installationId: 7, repoId: 600, owner, repo: "website", number: nextIssue++, title: "Docs" });
  /** People given earnings straight on the ledger (no award row): ledgerProblems' earnings rule does not hold for them. */
  const earners = new Set<number>();
  /** Someone with `funds` deposited (and `earnings` credited). */
  async function person(funds: bigint, earnings = 0n) {
    const id = ++nextUser;
    if (funds) await transferNow(t.db, { key: `deposit:t${id}`, debit: WALLET, credit: fundsOf(id), sats: funds, kind: "deposit" });
    if (earnings) await transferNow(t.db, { key: `award:t${id}`, debit: TREASURY, credit: earningsOf(id), sats: earnings, kind: "award" });
    if (earnings) earners.add(id);
    return { id, login: `backer${id}` };
  }
  const problems = async () => (await ledgerProblems(t.db)).filter((p) => ![...earners].some((id) => p.startsWith(`user ${id}:`)));
  const avail = async (spec: ReturnType<typeof fundsOf>) => availableBalance(await accountBalance(t.db, spec));
  const back = (ref: IssueRef, who: { id: number; login: string }, amount = USD20, sats = 33_333n, rate: string | null = "60000") =>
    t.db.transaction(async (tx) => backPledge(tx, await lockBounty(tx, ref), userFunder(who) as { key: string; id: number; login: string }, amount, { sats, rate }, cause));
  const escrowOfPledge = async (ref: IssueRef, who: { id: number }) => {
    const b = (await findBounty(t.db, ref.repoId, ref.number))!;
    const p = (await listPledges(t.db, b.id)).find((x) => x.funderId === who.id)!;
    return p.backed!.escrow;
  };
  const slotState = async (key: string) => (await escrowSlots(t.db, key)).map((s) => [s.sats, s.state]);

  test("a backed pledge holds its sats from the backer's funds, then earnings; the pledge says so", async () => {
    const bob = await person(20_000n, 20_000n);
    const ref = issue();
    expect(await back(ref, bob)).toMatchObject({ ok: true, replaced: null });
    expect(await avail(fundsOf(bob.id))).toBe(0n);
    expect(await avail(earningsOf(bob.id))).toBe(20_000n + 20_000n - 33_333n);
    const b = (await findBounty(t.db, ref.repoId, ref.number))!;
    const [p] = await listPledges(t.db, b.id);
    expect(p).toMatchObject({ funderId: bob.id, amount: USD20, status: "open", backed: { sats: 33_333n, rate: "60000" } });
    expect(p!.backed!.escrow).toBe(pledgeEscrow(p!.id, 1).key);
    expect(await slotState(p!.backed!.escrow)).toEqual([[33_333n, "held"]]);
    expect(b.status).toBe("open");
    expect(await problems()).toEqual([]);
  });

  test("without enough: nothing recorded, not even the bounty, and what is missing is told", async () => {
    const bob = await person(1_000n);
    const ref = issue();
    expect(await back(ref, bob)).toEqual({ ok: false, available: 1_000n, missing: 32_333n });
    expect(await findBounty(t.db, ref.repoId, ref.number)).toBeNull();
    expect(await avail(fundsOf(bob.id))).toBe(1_000n);
    expect(await listTransfers(t.db, { account: fundsOf(bob.id).key })).toHaveLength(1);
  });

  test("a second pledge replaces the first: the old escrow goes back (and counts towards the new one), a new one is held", async () => {
    const bob = await person(40_000n);
    const ref = issue();
    await back(ref, bob);
    const first = await escrowOfPledge(ref, bob);
    // 40,000 sats in all: 33,333 held, only 6,667 free, yet 38,000 fit because the first goes back.
    expect(await back(ref, bob, { currency: "USD", minor: 2280n }, 38_000n)).toMatchObject({ ok: true, replaced: USD20 });
    const second = await escrowOfPledge(ref, bob);
    expect(second).not.toBe(first);
    expect(await slotState(first)).toEqual([[33_333n, "returned"]]);
    expect(await slotState(second)).toEqual([[38_000n, "held"]]);
    expect(await avail(fundsOf(bob.id))).toBe(2_000n);
    // A replacement that does not fit changes nothing: the second stays held.
    expect(await back(ref, bob, { currency: "BTC", minor: 50_000n }, 50_000n, null)).toEqual({ ok: false, available: 40_000n, missing: 10_000n });
    expect(await slotState(second)).toEqual([[38_000n, "held"]]);
    const b = (await findBounty(t.db, ref.repoId, ref.number))!;
    expect((await listPledges(t.db, b.id)).map((p) => [p.amount.minor, p.backed?.sats])).toEqual([[2280n, 38_000n]]);
    expect(replay(await bountyEvents(t.db, b.id)).pledges.get(`user:${bob.id}`)?.amount.minor).toBe(2280n);
    expect(await problems()).toEqual([]);
  });

  test("withdrawn, cancelled (not planned), or replaced by the same person's treasury pledge: returned", async () => {
    const bob = await person(100_000n);
    const a = issue();
    await back(a, bob);
    const ea = await escrowOfPledge(a, bob);
    await t.db.transaction(async (tx) => withdraw(tx, await lockBounty(tx, a), userFunder(bob).key, cause));
    expect(await slotState(ea)).toEqual([[33_333n, "returned"]]);

    const c = issue();
    await back(c, bob);
    const ec = await escrowOfPledge(c, bob);
    await t.db.transaction(async (tx) => cancelOpenPledges(tx, await lockBounty(tx, c), "the issue was closed as not planned", cause));
    expect(await slotState(ec)).toEqual([[33_333n, "returned"]]);

    const d = issue();
    await back(d, bob);
    const ed = await escrowOfPledge(d, bob);
    await t.db.transaction(async (tx) => pledge(tx, await lockBounty(tx, d), userFunder(bob), USD20, cause));
    expect(await slotState(ed)).toEqual([[33_333n, "returned"]]);
    const b = (await findBounty(t.db, d.repoId, d.number))!;
    expect((await listPledges(t.db, b.id))[0]!.backed).toBeNull();

    expect(await avail(fundsOf(bob.id))).toBe(100_000n);
    expect(await problems()).toEqual([]);
  });

  test("a backed pledge counts against no treasury budget", async () => {
    const bob = await person(100_000n);
    // An account of its own: its budget sees only this test's pledges.
    const ref = issue(`budgeted-${engine}`);
    await back(ref, bob);
    const budget: PledgeTerms = {
      chargedUserId: 1,
      funderBudget: null,
      accountBudget: { limit: { currency: "USD", minor: 1000n }, windowMs: 86_400_000 },
      rates: {},
      now: new Date(),
    };
    const done = await t.db.transaction(async (tx) => pledge(tx, await lockBounty(tx, ref), userFunder({ id: 1, login: "alice" }), { currency: "USD", minor: 1000n }, cause, budget));
    expect(done.over).toBeNull();
  });

  /** Merged and closed as completed, awarded to `recipients` with no hold. */
  async function award(ref: IssueRef, recipients: Array<{ id: number; login: string; bps: number }>, prNumber = 1): Promise<Award[]> {
    return t.db.transaction(async (tx: Queryable) => {
      const claim = await recordClaim(
        tx,
        { installationId: 7, repoId: ref.repoId, issueNumber: ref.number, prRepoId: ref.repoId, prOwner: "kubernetes", prRepo: "website", prNumber, prTitle: "Fix", mergeSha: null, mergedAt: new Date(), recipients },
        null,
      );
      const b = (await setIssueState(tx, ref.repoId, ref.number, "completed"))!;
      return awardBounty(tx, b, recipients, { holdMs: 0, unclaimed: null }, { source: "merge", claim }, cause);
    });
  }
  const credit = (a: Award) => t.db.transaction((tx) => creditAward(tx, { ...a }, awardSats(a.amounts, new Map([["USD", "60000"]])), RATES));

  test("awarded: each winner gets the treasury's part priced and their share of the backed sats, from the escrow, once", async () => {
    const bob = await person(50_000n);
    const ref = issue();
    await t.db.transaction(async (tx) => pledge(tx, await lockBounty(tx, ref), userFunder({ id: 1, login: "alice" }), { currency: "USD", minor: 1000n }, cause));
    await back(ref, bob, { currency: "BTC", minor: 33_333n }, 33_333n, null);
    const escrow = await escrowOfPledge(ref, bob);
    const [w1, w2] = [++nextUser, ++nextUser];
    const awards = await award(ref, [{ id: w1, login: "w1", bps: 5000 }, { id: w2, login: "w2", bps: 5000 }]);
    // $10 at 60,000 is 16,666 sats (8,333 each); the backed 33,333 sats split 16,667 + 16,666.
    expect(awards.map((a) => a.amounts)).toEqual([
      [{ currency: "USD", minor: 500n }, { currency: "BTC", minor: 16_667n }],
      [{ currency: "USD", minor: 500n }, { currency: "BTC", minor: 16_666n }],
    ]);
    expect(awards.map((a) => a.backed!.map((b) => b.sats))).toEqual([[16_667n], [16_666n]]);
    // Awarded but not credited: still held for the backer.
    expect(await slotState(escrow)).toEqual([[33_333n, "held"]]);
    expect(await credit(awards[0]!)).toBe(true);
    expect(await credit(awards[0]!)).toBe(false);
    expect(await avail(earningsOf(w1))).toBe(8_333n + 16_667n);
    expect(await slotState(escrow)).toEqual([[33_333n, "released"]]);
    expect(await credit(awards[1]!)).toBe(true);
    expect(await avail(earningsOf(w2))).toBe(8_333n + 16_666n);
    expect(availableBalance(await accountBalance(t.db, { key: escrow, kind: "escrow", userId: null }))).toBe(0n);
    expect(await avail(fundsOf(bob.id))).toBe(50_000n - 33_333n);
    const stored = await listAwards(t.db, awards[0]!.bountyId);
    expect(stored.map((a) => [a.state, a.sats])).toEqual([["credited", 25_000n], ["credited", 24_999n]]);
    expect(await problems()).toEqual([]);
  });

  test("only backed pledges: credited with no price at all; the treasury pays nothing", async () => {
    const bob = await person(50_000n);
    const ref = issue();
    await back(ref, bob);
    const w = ++nextUser;
    const [a] = await award(ref, [{ id: w, login: "w", bps: 10_000 }]);
    expect(a!.amounts).toEqual([{ currency: "BTC", minor: 33_333n }]);
    const treasuryBefore = await accountBalance(t.db, TREASURY);
    expect(await t.db.transaction((tx) => creditAward(tx, a!, awardSats(a!.amounts, new Map()), {}))).toBe(true);
    expect(await avail(earningsOf(w))).toBe(33_333n);
    expect(await accountBalance(t.db, TREASURY)).toEqual(treasuryBefore);
    expect(await problems()).toEqual([]);
  });

  test("a credit for less than the backed sats is refused, and nothing moves", async () => {
    const bob = await person(50_000n);
    const ref = issue();
    await back(ref, bob);
    const [a] = await award(ref, [{ id: ++nextUser, login: "w", bps: 10_000 }]);
    await expect(t.db.transaction((tx) => creditAward(tx, a!, 33_332n, {}))).rejects.toThrow(/less than the 33333 sats/);
    expect((await listAwards(t.db, a!.bountyId))[0]!.state).toBe("held");
  });

  test("a revert during the hold: the pledge is open again and its escrow still held; withdrawn later, returned", async () => {
    const bob = await person(50_000n);
    const ref = issue();
    await back(ref, bob);
    const escrow = await escrowOfPledge(ref, bob);
    const recipients = [{ id: ++nextUser, login: "w", bps: 10_000 }];
    await t.db.transaction(async (tx) => {
      const claim = await recordClaim(
        tx,
        { installationId: 7, repoId: ref.repoId, issueNumber: ref.number, prRepoId: ref.repoId, prOwner: "kubernetes", prRepo: "website", prNumber: 9, prTitle: "Fix", mergeSha: null, mergedAt: new Date(), recipients },
        null,
      );
      const b = (await setIssueState(tx, ref.repoId, ref.number, "completed"))!;
      await awardBounty(tx, b, recipients, { holdMs: 3_600_000, unclaimed: null }, { source: "merge", claim }, cause);
      expect((await revertClaim(tx, claim, () => ({ award: "reverted", status: "reverted" }), cause)).kind).toBe("cancelled");
    });
    const b = (await findBounty(t.db, ref.repoId, ref.number))!;
    expect((await listPledges(t.db, b.id))[0]!.status).toBe("open");
    expect(await slotState(escrow)).toEqual([[33_333n, "held"]]);
    await t.db.transaction(async (tx) => withdraw(tx, await lockBounty(tx, ref), userFunder(bob).key, cause));
    expect(await slotState(escrow)).toEqual([[33_333n, "returned"]]);
    expect(await avail(fundsOf(bob.id))).toBe(50_000n);
  });

  test("closed as not planned before the credit: the awarded pledge is cancelled and its escrow returned", async () => {
    const bob = await person(50_000n);
    const ref = issue();
    await back(ref, bob);
    const escrow = await escrowOfPledge(ref, bob);
    await award(ref, [{ id: ++nextUser, login: "w", bps: 10_000 }]);
    await t.db.transaction(async (tx) => {
      const b = (await setIssueState(tx, ref.repoId, ref.number, "not_planned"))!;
      await cancelOpenPledges(tx, b, "not planned", cause);
      expect(await cancelHeldAwards(tx, b, "not planned", cause)).toHaveLength(1);
    });
    expect(await slotState(escrow)).toEqual([[33_333n, "returned"]]);
    expect(await avail(fundsOf(bob.id))).toBe(50_000n);
    expect(await problems()).toEqual([]);
  });

  test("a backer who is awarded waits for approval; the co-author is paid; cancelled then, the backer's share goes back to them", async () => {
    const bob = await person(50_000n);
    const ref = issue();
    await back(ref, bob, { currency: "BTC", minor: 30_000n }, 30_000n, null);
    const escrow = await escrowOfPledge(ref, bob);
    const w = ++nextUser;
    const awards = await award(ref, [{ id: w, login: "w", bps: 5000 }, { id: bob.id, login: bob.login, bps: 5000 }]);
    const bobs = awards.find((a) => a.recipientId === bob.id)!;
    expect(bobs).toMatchObject({ approval: "needed", approvalReason: `@${bob.login} pledged on this bounty` });
    expect(await credit(bobs)).toBe(false);
    expect(await credit(awards.find((a) => a.recipientId === w)!)).toBe(true);
    expect(await avail(earningsOf(w))).toBe(15_000n);
    expect(await avail(earningsOf(bob.id))).toBe(0n);
    await t.db.transaction(async (tx) => {
      const b = (await setIssueState(tx, ref.repoId, ref.number, "not_planned"))!;
      expect((await cancelHeldAwards(tx, b, "not planned", cause)).map((a) => a.id)).toEqual([bobs.id]);
    });
    // The escrow is empty: 15,000 to the winner, 15,000 back to the backer's funds.
    expect(availableBalance(await accountBalance(t.db, { key: escrow, kind: "escrow", userId: null }))).toBe(0n);
    expect(await avail(fundsOf(bob.id))).toBe(50_000n - 15_000n);
    expect(await problems()).toEqual([]);
  });
});
