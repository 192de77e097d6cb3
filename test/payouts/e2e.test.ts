import { listPayouts } from "../../src/store/payouts.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { deliver, github, mockConfig, mockPermission, mockUser } from "../support/bot.js";
import { ENGINES } from "../support/databases.js";
import { alice, bob, bountyFlows } from "../support/flows.js";
import { usePaidTestBot } from "../support/paid.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { runPayouts } from "../../src/payouts/run.js";
import { enginesAndBackends, PAYOUT_SETTINGS, priceOracle, silent, startPriceServer, outputsOf } from "../support/payouts.js";

/**
 * The whole story through the app's real seams: signed webhooks in, GitHub answered by nock, the
 * payout run against the local chain over HTTP, the database on every engine.
 */

const carol: Who = { login: "carol", id: 1003 };
const HOLD_0 = "payout:\n  hold: 0s\n";

describe.each(enginesAndBackends(ENGINES, "exactly-once"))("merged work is paid (%s, %s)", (engine, backend) => {
  let nextComment = 990000;
  const h = usePaidTestBot(engine, { PAYOUT_MIN_SATS: "1000", EXPLORER_URL: "https://mempool.example/tx/" }, backend);

  const flows = bountyFlows({ bot: () => h.bot, db: () => h.db });

  const cardEdits = flows.recordCardEdits;

  const comments = flows.recordComments;

  const linkWallet = (who: Who, address: string) => flows.linkWallet(who, address, HOLD_0);

  const land = (n: number, author: Who = bob, yaml = HOLD_0) => flows.land(n, author, yaml);

  async function run() {
    const report = await h.bot.payouts!.runNow();
    await h.bot.settled();
    return report;
  }

  const outputs = (txid: string) => outputsOf(h.rig, txid);

  test("a merged PR closing a funded issue: paid on chain once, announced on the issue and the PR, the card follows", async () => {
    await h.rig.fund(500_000n);
    const bobAddress = randomAddress("p2wpkh");
    await linkWallet(bob, bobAddress);
    const { n, card } = await flows.fundedIssue(["5usd"], HOLD_0);
    const edits = cardEdits(card, n);
    const pr = await land(n);
    expect(edits.at(-1)).toContain("🏆 Awarded");

    const onIssue = comments(n);
    const onPr = comments(pr);
    const r = await run();
    expect(r).toMatchObject({ credited: 1, queued: 1, waiting: null });
    const txid = r.broadcast[0]!;
    expect(outputs(txid).get(bobAddress)).toBe(8_333n);
    for (const body of [onIssue, onPr]) {
      expect(body).toHaveLength(1);
      expect(body[0]).toContain("8,333 sats to @bob ($5 at USD 60,000.00/BTC)");
      expect(body[0]).toContain(`[\`${txid}\`](https://mempool.example/tx/${txid})`);
    }
    expect(edits.at(-1)).toContain("💸 Paid");

    h.rig.chain.mine(1);
    const r2 = await run();
    expect(r2.confirmed).toEqual([txid]);
    expect(edits.at(-1)).toContain("✅ Confirmed");

    // Redelivered webhooks and more runs pay nothing more.
    await flows.merge(pr, `Fixes #${n}`, bob, {}, `merge-${pr}`);
    await flows.close(n, "completed", `close-${n}`);
    await h.bot.settled();
    const again = await run();
    expect(again).toMatchObject({ credited: 0, queued: 0, signed: [] });
    expect(onIssue).toHaveLength(1);
  });

  test("/award @bob 70 @carol 30: one transaction pays both shares", async () => {
    await h.rig.fund(500_000n);
    const [bobAddress, carolAddress] = [randomAddress("p2wpkh"), randomAddress("p2tr")];
    await linkWallet(bob, bobAddress);
    await linkWallet(carol, carolAddress);
    const { n, card } = await flows.fundedIssue(["20000sats"], HOLD_0);
    const edits = cardEdits(card, n);
    const replies = comments(n);
    mockConfig(HOLD_0);
    mockPermission("alice", "write");
    mockUser("bob", { id: bob.id });
    mockUser("carol", { id: carol.id });
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body: "/award @bob 70 @carol 30", user: alice }));
    await h.bot.settled();
    expect(replies[0]).toContain("awarded to @bob (70%");
    await flows.close(n, "completed"); // an /award is payable once the issue is closed as completed
    await h.bot.settled();

    const r = await run();
    const outs = outputs(r.broadcast[0]!);
    expect([outs.get(bobAddress), outs.get(carolAddress)]).toEqual([14_000n, 6_000n]);
    expect(replies.filter((b) => b.includes("Bounty paid"))).toHaveLength(2);
    expect(edits.at(-1)).toContain("💸 Paid");
  });

  test("no wallet: asked once on the issue; after /wallet the next run pays", async () => {
    await h.rig.fund(500_000n);
    const { n, card } = await flows.fundedIssue(["5usd"], HOLD_0);
    cardEdits(card, n);
    await land(n, carol);
    const onIssue = comments(n);
    expect(await run()).toMatchObject({ credited: 1, queued: 0 });
    await run();
    expect(onIssue).toHaveLength(1);
    expect(onIssue[0]).toContain("@carol, 8,333 sats from this bounty are waiting for you");

    const carolAddress = randomAddress("p2wpkh");
    await linkWallet(carol, carolAddress);
    const r = await run();
    expect(outputs(r.broadcast[0]!).get(carolAddress)).toBe(8_333n);
    expect(onIssue.at(-1)).toContain("8,333 sats to @carol");
  });

  test("no wallet within the unclaimed period: the configured charity gets it, as the card said from the start", async () => {
    await h.rig.fund(500_000n);
    const charityAddress = randomAddress("p2wpkh");
    const yaml = `${HOLD_0}  unclaimed: coin-center\ncharities:\n  coin-center:\n    name: Coin Center\n    address: ${charityAddress}\n`;
    const { n, card } = await flows.fundedIssue(["5usd"], yaml);
    const edits = cardEdits(card, n);
    await land(n, carol, yaml);
    expect(edits.at(-1)).toContain("Coin Center");
    const onIssue = comments(n);
    await run();
    expect(onIssue[0]).toContain("within 30 days, the amount goes to **Coin Center**");

    const r = await h.bot.payouts!.runNow(); // same day: still waiting
    expect(r.queued).toBe(0);
    const later = await startLater(31);
    expect(outputs(later.broadcast[0]!).get(charityAddress)).toBe(8_333n);
    expect((await listPayouts(h.db))[0]).toMatchObject({ kind: "charity", charityName: "Coin Center", login: "carol" });
  });

  test("price sources disagreeing: the award waits and the card says so; once they agree it is paid", async () => {
    await h.rig.fund(500_000n);
    const a = await startPriceServer({ USD: 60_000 });
    const b = await startPriceServer({ USD: 64_000 });
    try {
      h.prices = priceOracle(`mempool:${a.url},mempool:${b.url}`);
      const bobAddress = randomAddress("p2wpkh");
      await linkWallet(bob, bobAddress);
      const { n, card } = await flows.fundedIssue(["5usd"], HOLD_0);
      const edits = cardEdits(card, n);
      const pr = await land(n);
      const r1 = await run();
      expect(r1).toMatchObject({ credited: 0, queued: 0 });
      expect(r1.priceWaits[0]).toContain("more than PRICE_MAX_SPREAD 2%");
      expect(edits.at(-1)).toContain("waiting for a reliable BTC price");

      b.set({ USD: 60_000 });
      comments(n);
      comments(pr);
      const r2 = await run();
      expect(outputs(r2.broadcast[0]!).get(bobAddress)).toBe(8_333n);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("an empty wallet: the payout stays queued and says why; once funded it is paid", async () => {
    const bobAddress = randomAddress("p2wpkh");
    await linkWallet(bob, bobAddress);
    const { n, card } = await flows.fundedIssue(["5usd"], HOLD_0);
    cardEdits(card, n);
    const pr = await land(n);
    const r1 = await run();
    expect(r1.waiting).toContain("cannot fund");
    expect((await listPayouts(h.db))[0]).toMatchObject({ state: "queued" });

    await h.rig.fund(100_000n);
    comments(n);
    comments(pr);
    const r2 = await run();
    expect(outputs(r2.broadcast[0]!).get(bobAddress)).toBe(8_333n);
  });

  /** A payout run as if `days` had passed. */
  async function startLater(days: number) {
    github().persist().post(/\/repos\/.*\/issues\/\d+\/comments/).reply(201, { id: 1 });
    const report = await runPayouts({
      db: h.db,
      wallet: h.rig.wallet,
      prices: h.prices,
      settings: { ...PAYOUT_SETTINGS, minSats: 1000n },
      log: silent,
      now: () => new Date(Date.now() + days * 86_400_000),
    });
    await h.bot.settled();
    return report;
  }
});
