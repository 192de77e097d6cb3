import { availableBalance, earningsOf, fundsOf, TREASURY, WALLET } from "../../src/ledger/rules.js";
import { fiatToSats } from "../../src/price/convert.js";
import { escrowSlots } from "../../src/store/escrow.js";
import { accountBalance, listTransfers, transferNow } from "../../src/store/ledger.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { deliver, github, mockConfig, mockPermission, mockUser, repoPath } from "../support/bot.js";
import { ENGINES } from "../support/databases.js";
import { alice, bob, bountyFlows } from "../support/flows.js";
import { ledgerProblems } from "../support/ledger.js";
import { usePaidTestBot } from "../support/paid.js";
import { commentCreated, issueClosed, type Who } from "../support/payloads.js";
import { enginesAndBackends, outputsOf, priceOracle } from "../support/payouts.js";

/**
 * Backed pledges paid: a sponsor (no write access) backs a bounty with deposited sats; the merged
 * work is awarded, and after the hold the payout run credits the winners from the escrow (and the
 * treasury for the funders' part) and pays them on the local chain. Prices: USD 60,000.
 */

const carol: Who = { login: "carol", id: 1003 };
const sponsor: Who = { login: "sponsor", id: 1500 };
const HOLD_0 = "payout:\n  hold: 0s\n";

describe.each(enginesAndBackends(ENGINES))("backed pledges are paid from their escrow (%s, %s)", (engine, backend) => {
  let nextComment = 760000;
  const h = usePaidTestBot(engine, { PAYOUT_MIN_SATS: "1000", PAYOUT_MODE: "auto" }, backend);
  const flows = bountyFlows({ bot: () => h.bot, db: () => h.db });

  async function run() {
    const report = await h.bot.payouts!.runNow();
    await h.bot.settled();
    return report;
  }
  async function openComment(n: number, body: string, user: Who) {
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body, user }));
    await h.bot.settled();
  }
  /** The sponsor deposited `sats` (as the deposit watcher credits it) and backs issue n with `amount`. */
  async function sponsorBacks(n: number, amount: string, sats = 50_000n) {
    await transferNow(h.db, { key: `deposit:${"ab".repeat(32)}:${n}:1`, debit: WALLET, credit: fundsOf(sponsor.id), sats, kind: "deposit" });
    mockConfig(HOLD_0);
    mockPermission(sponsor.login, "read");
    await openComment(n, `/bounty ${amount}`, sponsor);
  }
  const available = async (spec: ReturnType<typeof fundsOf>) => availableBalance(await accountBalance(h.db, spec));
  const escrowOf = async (n: number) => (await flows.bountyOf(n)).pledges.find((p) => p.funderId === sponsor.id)!.backed!.escrow;

  test("a mixed bounty (a funder's USD and backed sats), merged: after the hold the winner gets both parts, once", async () => {
    await h.rig.fund(500_000n);
    const bobAddress = randomAddress("p2wpkh");
    await flows.linkWallet(bob, bobAddress, HOLD_0);
    const { n, card } = await flows.fundedIssue(["5usd"], HOLD_0);
    const edits = flows.recordCardEdits(card, n);
    await sponsorBacks(n, "20000sats");
    expect(edits.at(-1)).toContain("| @sponsor | 20,000 sats, backed from their balance |");
    const escrow = await escrowOf(n);
    expect((await escrowSlots(h.db, escrow)).map((s) => s.state)).toEqual(["held"]);

    const pr = await flows.land(n, bob, HOLD_0);
    const [award] = (await flows.bountyOf(n)).awards;
    expect(award!.amounts).toEqual([{ currency: "USD", minor: 500n }, { currency: "BTC", minor: 20_000n }]);
    const treasuryBefore = (await accountBalance(h.db, TREASURY)).debitsPosted;

    flows.recordComments(n);
    flows.recordComments(pr);
    const r = await run();
    expect(r).toMatchObject({ credited: 1, queued: 1 });
    expect(outputsOf(h.rig, r.broadcast[0]!).get(bobAddress)).toBe(8_333n + 20_000n);
    // The treasury paid the $5 (8,333 sats) and the fee; the 20,000 sats came out of the sponsor's funds.
    const awardFromTreasury = await listTransfers(h.db, { kinds: ["award"], refKey: "award", refValue: award!.id.toString() });
    expect(awardFromTreasury.map((t) => t.sats)).toEqual([8_333n]);
    expect((await accountBalance(h.db, TREASURY)).debitsPosted - treasuryBefore).toBeGreaterThanOrEqual(8_333n);
    expect(await available(fundsOf(sponsor.id))).toBe(30_000n);
    expect((await escrowSlots(h.db, escrow)).map((s) => s.state)).toEqual(["released"]);
    expect(await ledgerProblems(h.db)).toEqual([]);

    // A redelivered close and another run move nothing twice.
    const transfers = (await listTransfers(h.db, { limit: 1000 })).length;
    await deliver(h.bot, "issues", issueClosed({ issue: { number: n, stateReason: "completed" }, sender: alice }), { id: `close-${n}` });
    await h.bot.settled();
    expect(await run()).toMatchObject({ credited: 0, queued: 0 });
    expect((await listTransfers(h.db, { limit: 1000 })).length).toBe(transfers);
    expect(await available(fundsOf(sponsor.id))).toBe(30_000n);
  });

  test("two winners: each gets their share of the funder's USD and of the backed sats; a bounty of backed sats alone needs no price", async () => {
    await h.rig.fund(500_000n);
    const [bobAddress, carolAddress] = [randomAddress("p2wpkh"), randomAddress("p2tr")];
    await flows.linkWallet(bob, bobAddress, HOLD_0);
    await flows.linkWallet(carol, carolAddress, HOLD_0);
    const { n, card } = await flows.fundedIssue(["5usd"], HOLD_0);
    flows.recordCardEdits(card, n);
    await sponsorBacks(n, "20usd");
    const escrow = await escrowOf(n);
    flows.recordComments(n);
    mockConfig(HOLD_0);
    mockPermission("alice", "write");
    mockUser("bob", { id: bob.id });
    mockUser("carol", { id: carol.id });
    await openComment(n, "/award @bob @carol", alice);
    await flows.close(n, "completed");
    await h.bot.settled();

    const r = await run();
    expect(r).toMatchObject({ credited: 2, queued: 2 });
    const usd = fiatToSats(250n, "USD", "60000");
    const out = outputsOf(h.rig, r.broadcast[0]!);
    // $20 at 60,000 is 33,333 sats: 16,667 to the first, 16,666 to the second.
    expect(out.get(bobAddress)).toBe(usd + 16_667n);
    expect(out.get(carolAddress)).toBe(usd + 16_666n);
    expect(await available(fundsOf(sponsor.id))).toBe(50_000n - 33_333n);
    expect((await escrowSlots(h.db, escrow)).map((s) => s.state)).toEqual(["released"]);
    expect(await ledgerProblems(h.db)).toEqual([]);

    // Backed sats alone, with the price source down: still credited and paid.
    const m = flows.newIssue();
    const c2 = 71999;
    github().get(`${repoPath}/issues/${m}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${m}/comments`).reply(201, { id: c2 });
    github().post(`${repoPath}/issues/${m}/labels`, { labels: ["bounty"] }).reply(200, []);
    mockConfig(HOLD_0);
    mockPermission(sponsor.login, "read");
    await openComment(m, "/bounty 10000sats", sponsor);
    flows.recordCardEdits(c2, m);
    flows.recordComments(m);
    const pr = await flows.land(m, bob, HOLD_0);
    flows.recordComments(pr);
    // No price source answers now (nothing listens on port 9).
    h.prices = priceOracle("mempool:http://127.0.0.1:9");
    const r2 = await run();
    expect(r2).toMatchObject({ credited: 1, queued: 1 });
    expect(outputsOf(h.rig, r2.broadcast[0]!).get(bobAddress)).toBe(10_000n);
    expect(await available(earningsOf(bob.id))).toBe(0n);
    expect(await ledgerProblems(h.db)).toEqual([]);
  });

  test("a sponsor who then lands the fix is held for approval, like any pledger", async () => {
    await h.rig.fund(500_000n);
    await flows.linkWallet(sponsor, randomAddress("p2wpkh"), HOLD_0);
    const { n, card } = await flows.fundedIssue(["5usd"], HOLD_0);
    flows.recordCardEdits(card, n);
    await sponsorBacks(n, "20000sats");
    await flows.land(n, sponsor, HOLD_0);
    const [award] = (await flows.bountyOf(n)).awards;
    expect(award).toMatchObject({ recipientLogin: "sponsor", approval: "needed", approvalReason: "@sponsor pledged on this bounty" });
    expect(await run()).toMatchObject({ credited: 0, queued: 0 });
    expect((await escrowSlots(h.db, await escrowOf(n))).map((s) => s.state)).toEqual(["held"]);
  });
});
