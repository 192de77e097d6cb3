import { ENGINES, createTestDb, type TestDb } from "../support/databases.js";
import {
  awardBounty,
  awardByCommand,
  awardPendingClaim,
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
  listPledges,
  lockBounty,
  pledge,
  replay,
  setIssueState,
  userFunder,
  type Cause,
  type IssueRef,
} from "../../src/store/ledger.js";
import type { Queryable } from "../../src/store/db.js";

const cause: Cause = { actor: { id: 1, login: "alice" }, deliveryId: "d-1" };
const terms: AwardTerms = { holdMs: 3_600_000, unclaimed: null };
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

  test("a pending claim is awarded only once the issue is closed as completed, the earliest merge first", async () => {
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
    const open = await t.db.transaction(async (tx) => awardPendingClaim(tx, (await findBounty(tx, issue.repoId, issue.number))!, terms, cause));
    expect(open).toEqual([]);
    const awards = await t.db.transaction(async (tx) => {
      const b = (await setIssueState(tx, issue.repoId, issue.number, "completed"))!;
      return awardPendingClaim(tx, b, terms, cause);
    });
    expect(awards.map((a) => a.recipientLogin)).toEqual(["bob"]);
    expect((await pendingClaims(t.db, issue.repoId, issue.number)).map((c) => c.prNumber)).toEqual([21]);
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
        await awardPendingClaim(tx, b, { holdMs, unclaimed: null }, cause);
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
          { id: 3, login: "carol", bps: 5000 },
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
    expect((await getBounty(t.db, b.id)).status).toBe("awarded"); // carol's share is not out yet
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
});
