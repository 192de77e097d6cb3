import { ENGINES, createTestDb, type TestDb } from "../support/databases.js";
import {
  awardBounty,
  awardByCommand,
  approveAward,
  awardPendingClaim,
  cancelHeldAwards,
  listAllAwards,
  listAwards,
  listAwardViews,
  pendingClaims,
  recordClaim,
  refreshBounties,
  revertClaim,
  type AwardTerms,
  type Claim,
} from "../../src/store/awards.js";
import {
  bountyEvents,
  findBounty,
  getBounty,
  labelFunder,
  listPledges,
  lockBounty,
  pledge,
  replay,
  setIssueState,
  userFunder,
  withdraw,
  type Cause,
  type IssueRef,
} from "../../src/store/bounties.js";
import type { Queryable } from "../../src/store/db.js";
import { awardsDueForPricing, creditAward } from "../../src/store/payouts.js";

const cause: Cause = { actor: { id: 1, login: "alice" }, deliveryId: "d-1" };
const terms: AwardTerms = { holdMs: 3_600_000, unclaimed: null };
const RATES = { USD: { price: "60000", sources: ["fixed"], at: "2026-12-01T00:00:00Z" } };
const alice = { id: 1, login: "alice" };
const carol = { id: 3, login: "carol" };
let nextIssue = 1;

describe.each(ENGINES)("awards on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });

  /** An issue with alice's 10 USD and carol's 1001 sats. */
  async function funded(): Promise<IssueRef> {
    const issue: IssueRef = { installationId: 7, repoId: 500, owner: "kubernetes", repo: "website", number: nextIssue++, title: "Docs" };
    await t.db.transaction(async (tx) => {
      const b = await lockBounty(tx, issue);
      await pledge(tx, b, userFunder(alice), { currency: "USD", minor: 1000n }, cause);
      await pledge(tx, b, userFunder(carol), { currency: "BTC", minor: 1001n }, cause);
    });
    return issue;
  }

  const claimFor = (tx: Queryable, issue: IssueRef, pr: number, recipients = [{ id: 2, login: "bob", bps: 10000 }]) =>
    recordClaim(
      tx,
      {
        installationId: 7,
        repoId: issue.repoId,
        issueNumber: issue.number,
        prRepoId: issue.repoId,
        prOwner: "kubernetes",
        prRepo: "website",
        prNumber: pr,
        prTitle: `PR ${pr}`,
        mergeSha: null,
        mergedAt: new Date(),
        recipients,
      },
      "d-pr",
    );

  test("awarding splits each currency exactly, takes every open pledge, and replays from the log", async () => {
    const issue = await funded();
    const awards = await t.db.transaction(async (tx) => {
      const b = (await findBounty(tx, issue.repoId, issue.number))!;
      const claim = await claimFor(tx, issue, 9, [
        { id: 2, login: "bob", bps: 3334 },
        { id: 3, login: "carol", bps: 3333 },
        { id: 4, login: "dave", bps: 3333 },
      ]);
      return awardBounty(tx, b, claim.recipients, { holdMs: 0, unclaimed: { id: "cc", name: "CC", address: "tb1q" } }, { source: "merge", claim }, cause);
    });
    expect(awards.map((a) => [a.recipientLogin, a.amounts.map((x) => `${x.minor}${x.currency}`)])).toEqual([
      ["bob", ["334USD", "334BTC"]],
      ["carol", ["333USD", "334BTC"]],
      ["dave", ["333USD", "333BTC"]],
    ]);
    expect(awards.every((a) => a.unclaimedCharity?.id === "cc" && a.state === "held")).toBe(true);
    const b = (await findBounty(t.db, issue.repoId, issue.number))!;
    expect(b.status).toBe("awarded");
    expect(b.cardVersion).toBeGreaterThan(b.cardSyncedVersion);
    const pledges = await listPledges(t.db, b.id);
    expect(pledges.map((p) => p.status)).toEqual(["awarded", "awarded"]);
    const rebuilt = replay(await bountyEvents(t.db, b.id));
    expect(rebuilt.status).toBe("awarded");
    expect([...rebuilt.pledges.values()].map((p) => p.status)).toEqual(["awarded", "awarded"]);

    // Again: nothing is open any more, so nothing happens.
    const again = await t.db.transaction(async (tx) => awardBounty(tx, b, [{ id: 9, login: "x", bps: 10000 }], terms, { source: "command" }, cause));
    expect(again).toEqual([]);
    expect(await listAwards(t.db, b.id)).toHaveLength(3);
  });

  test("bad recipient lists are refused before anything changes", async () => {
    const issue = await funded();
    const b = (await findBounty(t.db, issue.repoId, issue.number))!;
    const award = (r: Array<{ id: number; login: string; bps: number }>) =>
      t.db.transaction((tx) => awardBounty(tx, b, r, terms, { source: "command" }, cause));
    await expect(award([])).rejects.toThrow("at least one recipient");
    await expect(award([{ id: 2, login: "bob", bps: 9000 }])).rejects.toThrow("sum to 10000");
    await expect(award([{ id: 2, login: "bob", bps: 5000 }, { id: 2, login: "bob", bps: 5000 }])).rejects.toThrow("twice");
    expect((await listPledges(t.db, b.id)).map((p) => p.status)).toEqual(["open", "open"]);
  });

  test("a pending claim is awarded only once the issue is closed as completed, to the claim of the PR GitHub names as the closer", async () => {
    const issue = await funded();
    await t.db.transaction(async (tx) => {
      await claimFor(tx, issue, 20, [{ id: 2, login: "bob", bps: 10000 }]);
      await claimFor(tx, issue, 21, [{ id: 3, login: "carol", bps: 10000 }]);
      // The same PR again: the first record stands.
      await claimFor(tx, issue, 20, [{ id: 4, login: "dave", bps: 10000 }]);
    });
    expect((await pendingClaims(t.db, issue.repoId, issue.number)).map((c) => [c.prNumber, c.recipients[0]!.login])).toEqual([
      [20, "bob"],
      [21, "carol"],
    ]);
    const closer = { kind: "pull" as const, repoId: 500, number: 21 };
    const open = await t.db.transaction(async (tx) => awardPendingClaim(tx, (await findBounty(tx, issue.repoId, issue.number))!, terms, closer, cause));
    expect(open).toEqual({ awards: [], waiting: null });
    // Two claims and GitHub names neither: nothing is awarded, the status line says why.
    const waiting = await t.db.transaction(async (tx) => {
      const b = (await setIssueState(tx, issue.repoId, issue.number, "completed"))!;
      return awardPendingClaim(tx, b, terms, { kind: "none" }, cause);
    });
    expect(waiting.awards).toEqual([]);
    expect(waiting.waiting?.why).toBe("ambiguous");
    expect((await findBounty(t.db, issue.repoId, issue.number))!.statusReason).toMatch(/^no award yet: #20 and #21 claim it/);
    const { awards } = await t.db.transaction(async (tx) =>
      awardPendingClaim(tx, (await findBounty(tx, issue.repoId, issue.number))!, terms, closer, cause),
    );
    expect(awards.map((a) => a.recipientLogin)).toEqual(["carol"]);
    expect((await pendingClaims(t.db, issue.repoId, issue.number)).map((c) => c.prNumber)).toEqual([20]);
  });

  test("/award replaces held awards, refuses once one is credited, and says when there is nothing", async () => {
    const issue = await funded();
    const b = (await findBounty(t.db, issue.repoId, issue.number))!;
    const byCommand = (r: Array<{ id: number; login: string; bps: number }>) =>
      t.db.transaction(async (tx) => awardByCommand(tx, await getBounty(tx, b.id), r, terms, "replaced by /award from @alice", cause));
    const first = await byCommand([{ id: 2, login: "bob", bps: 10000 }]);
    expect(first.ok && first.replaced).toEqual([]);
    const second = await byCommand([
      { id: 3, login: "carol", bps: 5000 },
      { id: 4, login: "dave", bps: 5000 },
    ]);
    expect(second.ok && second.replaced.map((a) => a.recipientLogin)).toEqual(["bob"]);
    expect((await listAwards(t.db, b.id)).map((a) => [a.recipientLogin, a.state, a.amounts.map((x) => `${x.minor}${x.currency}`)])).toEqual([
      ["bob", "cancelled", ["1000USD", "1001BTC"]],
      ["carol", "held", ["500USD", "501BTC"]],
      ["dave", "held", ["500USD", "500BTC"]],
    ]);
    await t.db.query("UPDATE awards SET state = 'credited', sats = 100 WHERE bounty_id = $1 AND recipient_login = 'dave'", [b.id]);
    const third = await byCommand([{ id: 2, login: "bob", bps: 10000 }]);
    expect(third).toMatchObject({ ok: false, why: "paid" });

    const empty = await funded();
    const eb = (await findBounty(t.db, empty.repoId, empty.number))!;
    await t.db.query("UPDATE pledges SET status = 'withdrawn' WHERE bounty_id = $1", [eb.id]);
    const none = await t.db.transaction(async (tx) => awardByCommand(tx, await getBounty(tx, eb.id), [{ id: 2, login: "bob", bps: 10000 }], terms, "r", cause));
    expect(none).toMatchObject({ ok: false, why: "nothing" });
  });

  test("reverting a claim: cancelled within the hold, left alone past it", async () => {
    const reasons = () => ({ award: "#9 was reverted by #10", status: "award to @bob cancelled: #9 was reverted by #10" });
    const awardTo = async (issue: IssueRef, holdMs: number): Promise<Claim> =>
      t.db.transaction(async (tx) => {
        const claim = await claimFor(tx, issue, 9);
        const b = (await setIssueState(tx, issue.repoId, issue.number, "completed"))!;
        await awardPendingClaim(tx, b, { holdMs, unclaimed: null }, { kind: "none" }, cause);
        return claim;
      });

    const during = await funded();
    const c1 = await awardTo(during, 3_600_000);
    const r1 = await t.db.transaction((tx) => revertClaim(tx, c1, reasons, cause));
    expect(r1.kind).toBe("cancelled");
    const b1 = (await findBounty(t.db, during.repoId, during.number))!;
    expect([b1.status, b1.statusReason]).toEqual(["open", "award to @bob cancelled: #9 was reverted by #10"]);
    expect((await listPledges(t.db, b1.id)).map((p) => p.status)).toEqual(["open", "open"]);
    const rebuilt = replay(await bountyEvents(t.db, b1.id));
    expect(rebuilt.status).toBe("open");
    expect([...rebuilt.pledges.values()].map((p) => p.status)).toEqual(["open", "open"]);

    const after = await funded();
    const c2 = await awardTo(after, 0);
    const r2 = await t.db.transaction((tx) => revertClaim(tx, c2, reasons, cause));
    expect(r2.kind).toBe("late");
    const b2 = (await findBounty(t.db, after.repoId, after.number))!;
    expect(b2.status).toBe("awarded");
    expect((await listAwards(t.db, b2.id)).map((a) => a.state)).toEqual(["held"]);
  });

  test("refreshBounties: the runner's payouts move the bounty to paid, then confirmed, and bump the card", async () => {
    const issue = await funded();
    const b = (await findBounty(t.db, issue.repoId, issue.number))!;
    const [a1, a2] = await t.db.transaction((tx) =>
      awardBounty(
        tx,
        b,
        [
          { id: 2, login: "bob", bps: 5000 },
          { id: 4, login: "dave", bps: 5000 },
        ],
        terms,
        { source: "command" },
        cause,
      ),
    );
    const [tx1] = await t.db.query<{ id: bigint }>(
      `INSERT INTO payout_txs (txid, hex, network, fee_sats, fee_rate_sat_kvb, vsize, payout_sats, inputs, outputs, day_utc, state)
       VALUES ($1, '00', 'regtest', 200, 1000, 200, 2000, '[]', '[]', '2025-01-01', 'broadcast') RETURNING id`,
      ["ab".repeat(32)],
    );
    const payout = async (awardId: bigint, state: string) => {
      const [p] = await t.db.query<{ id: bigint }>(
        `INSERT INTO payouts (payee_kind, user_id, login, address, address_type, network, sats, state, tx_id)
         VALUES ('user', 2, 'bob', 'bcrt1q', 'p2wpkh', 'regtest', 1000, $1, $2) RETURNING id`,
        [state, state === "queued" ? null : tx1!.id],
      );
      await t.db.query("UPDATE awards SET state = 'credited', sats = 1000, payout_id = $2 WHERE id = $1", [awardId, p!.id]);
      return BigInt(p!.id);
    };
    const p1 = await payout(a1!.id, "broadcast");
    const version = (await getBounty(t.db, b.id)).cardVersion;
    expect(await t.db.transaction((tx) => refreshBounties(tx, { payoutIds: [p1] }, cause))).toEqual([b.id]);
    expect((await getBounty(t.db, b.id)).status).toBe("awarded"); // dave's share is not out yet
    expect((await getBounty(t.db, b.id)).cardVersion).toBeGreaterThan(version);

    const p2 = await payout(a2!.id, "broadcast");
    await t.db.transaction((tx) => refreshBounties(tx, { payoutIds: [p2] }, cause));
    expect((await getBounty(t.db, b.id)).status).toBe("paid");
    const views = await listAwardViews(t.db, b.id);
    expect(views.map((v) => [v.payout?.state, v.payout?.txid])).toEqual([
      ["broadcast", "ab".repeat(32)],
      ["broadcast", "ab".repeat(32)],
    ]);

    await t.db.query("UPDATE payouts SET state = 'confirmed' WHERE id = ANY($1::bigint[])", [[p1.toString(), p2.toString()]]);
    await t.db.transaction((tx) => refreshBounties(tx, { awardIds: [a1!.id] }, cause));
    expect((await getBounty(t.db, b.id)).status).toBe("confirmed");
    expect(replay(await bountyEvents(t.db, b.id)).status).toBe("confirmed");
  });
  describe("self-dealing", () => {
    const dave = { id: 4, login: "dave" };
    const erin = { id: 5, login: "erin" };
    const dueOf = async (bountyId: bigint) =>
      (await awardsDueForPricing(t.db, new Date(Date.now() + 60_000))).filter((a) => a.bountyId === bountyId).map((a) => a.recipientLogin);

    test("a merge award to someone whose money is in the bounty needs an operator's approval; a withdrawn pledge does not count", async () => {
      const issue = await funded(); // alice's USD and carol's sats
      await t.db.transaction(async (tx) => {
        const b = await lockBounty(tx, issue);
        // dave adds a label that pledges; erin pledges and withdraws.
        await pledge(tx, b, labelFunder("bounty/50", "bounty-bot[bot]"), { currency: "USD", minor: 5000n }, { actor: dave, deliveryId: "d-l" });
        await pledge(tx, b, userFunder(erin), { currency: "EUR", minor: 300n }, { actor: erin, deliveryId: "d-e" });
        await withdraw(tx, b, userFunder(erin).key, { actor: erin, deliveryId: "d-e2" });
      });
      const awards = await t.db.transaction(async (tx) => {
        const claim = await claimFor(tx, issue, 31, [
          { id: 2, login: "bob", bps: 2500 },
          { id: 3, login: "carol", bps: 2500 },
          { id: 4, login: "dave", bps: 2500 },
          { id: 5, login: "erin", bps: 2500 },
        ]);
        const b = (await setIssueState(tx, issue.repoId, issue.number, "completed"))!;
        return awardBounty(tx, b, claim.recipients, { holdMs: 0, unclaimed: null }, { source: "merge", claim }, cause);
      });
      expect(awards.map((a) => [a.recipientLogin, a.approval, a.approvalReason])).toEqual([
        ["bob", null, null],
        ["carol", "needed", "@carol pledged on this bounty"],
        ["dave", "needed", "@dave added the label `bounty/50` that pledged on this bounty"],
        ["erin", null, null],
      ]);
      const b = (await findBounty(t.db, issue.repoId, issue.number))!;
      const events = await bountyEvents(t.db, b.id);
      expect(events.filter((e) => e.kind === "award_needs_approval").map((e) => e.data.recipient_login)).toEqual(["carol", "dave"]);
      // Past the hold on a completed issue, only what needs no approval is priced.
      expect(await dueOf(b.id)).toEqual(["bob", "erin"]);
      expect((await listAllAwards(t.db, { held: true })).filter((a) => a.bountyId === b.id).map((a) => [a.recipientLogin, a.owner, a.repo, a.issueNumber])).toEqual([
        ["carol", "kubernetes", "website", issue.number],
        ["dave", "kubernetes", "website", issue.number],
      ]);
      // The database itself refuses to credit an award still waiting for approval.
      await expect(t.db.query("UPDATE awards SET state = 'credited', sats = 10 WHERE id = $1", [awards[1]!.id])).rejects.toThrow(
        /awards_approved_before_credit/,
      );
    });

    test("the awarding funder as recipient needs approval too (the command refuses it; the store holds it all the same)", async () => {
      const issue = await funded();
      const b = (await findBounty(t.db, issue.repoId, issue.number))!;
      const r = await t.db.transaction(async (tx) =>
        awardByCommand(tx, await getBounty(tx, b.id), [{ ...erin, bps: 10000 }], terms, "r", { actor: erin, deliveryId: "d-x" }),
      );
      expect(r.ok && r.awards.map((a) => [a.approval, a.approvalReason])).toEqual([["needed", "@erin made this award"]]);
    });

    test("nothing is priced before the issue is closed as completed; approve releases a held award once, recording who", async () => {
      const issue = await funded();
      const b = (await findBounty(t.db, issue.repoId, issue.number))!;
      const r = await t.db.transaction(async (tx) =>
        awardByCommand(tx, await getBounty(tx, b.id), [{ id: 2, login: "bob", bps: 5000 }, { ...carol, bps: 5000 }], { holdMs: 0, unclaimed: null }, "r", cause),
      );
      const [bobs, carols] = r.ok ? r.awards : [];
      expect(await dueOf(b.id)).toEqual([]); // the issue is open
      await t.db.transaction((tx) => setIssueState(tx, issue.repoId, issue.number, "completed"));
      expect(await dueOf(b.id)).toEqual(["bob"]);

      const version = (await getBounty(t.db, b.id)).cardVersion;
      const ok = await approveAward(t.db, carols!.id, "ann");
      expect(ok).toMatchObject({ ok: true, award: { approval: "approved", approvedBy: "ann", state: "held" } });
      expect((await getBounty(t.db, b.id)).cardVersion).toBeGreaterThan(version);
      expect(await dueOf(b.id)).toEqual(["bob", "carol"]);
      const approved = (await bountyEvents(t.db, b.id)).filter((e) => e.kind === "award_approved");
      expect(approved.map((e) => [e.actorLogin, e.data.award_id])).toEqual([["ann", carols!.id.toString()]]);

      expect(await approveAward(t.db, carols!.id, "bert")).toMatchObject({ ok: false, why: "already approved" });
      expect(await approveAward(t.db, bobs!.id, "ann")).toMatchObject({ ok: false, why: "not held" });
      expect(await approveAward(t.db, 987654321n, "ann")).toMatchObject({ ok: false, why: "unknown", award: null });
      expect((await listAwards(t.db, b.id)).map((a) => [a.recipientLogin, a.approval, a.approvedBy])).toEqual([
        ["bob", null, null],
        ["carol", "approved", "ann"],
      ]);
    });

    test("an award due when read is not credited if its issue was reopened, or it needs approval, before the credit commits", async () => {
      const issue = await funded();
      const b = (await findBounty(t.db, issue.repoId, issue.number))!;
      await t.db.transaction((tx) => setIssueState(tx, issue.repoId, issue.number, "completed"));
      const r = await t.db.transaction(async (tx) =>
        awardByCommand(tx, await getBounty(tx, b.id), [{ id: 2, login: "bob", bps: 10000 }], { holdMs: 0, unclaimed: null }, "r", cause),
      );
      expect(r.ok).toBe(true);
      const [due] = (await awardsDueForPricing(t.db, new Date(Date.now() + 1000))).filter((a) => a.bountyId === b.id);
      expect(due?.recipientLogin).toBe("bob");
      // The run priced it; meanwhile the issue was reopened.
      await t.db.transaction((tx) => setIssueState(tx, issue.repoId, issue.number, "open"));
      expect(await t.db.transaction((tx) => creditAward(tx, due!, 1000n, RATES))).toBe(false);
      expect((await listAwards(t.db, b.id)).map((a) => a.state)).toEqual(["held"]);
      // Closed again: now it is credited, once.
      await t.db.transaction((tx) => setIssueState(tx, issue.repoId, issue.number, "completed"));
      expect(await t.db.transaction((tx) => creditAward(tx, due!, 1000n, RATES))).toBe(true);
      expect(await t.db.transaction((tx) => creditAward(tx, due!, 1000n, RATES))).toBe(false);
    });

    test("a cancelled award is not approved; closing as not planned cancels what is not credited, and the pledges only when nothing is left", async () => {
      const whole = await funded();
      const wb = (await findBounty(t.db, whole.repoId, whole.number))!;
      const w = await t.db.transaction(async (tx) => awardByCommand(tx, await getBounty(tx, wb.id), [{ ...carol, bps: 10000 }], terms, "r", cause));
      const cancelled = await t.db.transaction(async (tx) => {
        const b = (await setIssueState(tx, whole.repoId, whole.number, "not_planned"))!;
        return cancelHeldAwards(tx, b, "the issue was closed as not planned", cause);
      });
      expect(cancelled.map((a) => a.recipientLogin)).toEqual(["carol"]);
      expect(await approveAward(t.db, (w.ok && w.awards[0]!.id) || 0n, "ann")).toMatchObject({ ok: false, why: "cancelled" });
      const after = await getBounty(t.db, wb.id);
      expect([after.status, after.statusReason]).toEqual(["cancelled", "the issue was closed as not planned"]);
      expect((await listPledges(t.db, wb.id)).map((p) => p.status)).toEqual(["cancelled", "cancelled"]);
      const rebuilt = replay(await bountyEvents(t.db, wb.id));
      expect(rebuilt.status).toBe("cancelled");
      expect([...rebuilt.pledges.values()].map((p) => p.status)).toEqual(["cancelled", "cancelled"]);

      // A split whose other share is already credited: that money stays, so do the pledges.
      const split = await funded();
      const sb = (await findBounty(t.db, split.repoId, split.number))!;
      await t.db.transaction(async (tx) =>
        awardByCommand(tx, await getBounty(tx, sb.id), [{ id: 2, login: "bob", bps: 5000 }, { ...dave, bps: 5000 }], terms, "r", cause),
      );
      await t.db.query("UPDATE awards SET state = 'credited', sats = 100 WHERE bounty_id = $1 AND recipient_login = 'bob'", [sb.id]);
      await t.db.transaction(async (tx) => {
        const b = (await setIssueState(tx, split.repoId, split.number, "not_planned"))!;
        return cancelHeldAwards(tx, b, "the issue was closed as not planned", cause);
      });
      expect((await listAwards(t.db, sb.id)).map((a) => [a.recipientLogin, a.state])).toEqual([
        ["bob", "credited"],
        ["dave", "cancelled"],
      ]);
      expect((await getBounty(t.db, sb.id)).status).toBe("awarded");
      expect((await listPledges(t.db, sb.id)).map((p) => p.status)).toEqual(["awarded", "awarded"]);
      expect(replay(await bountyEvents(t.db, sb.id)).status).toBe("awarded");
    });
  });
});
