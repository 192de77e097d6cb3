import { satsText } from "../../src/payouts/comments.js";
import { bountyEvents } from "../../src/store/bounties.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { github, repoPath } from "../support/bot.js";
import { ENGINES } from "../support/databases.js";
import { bob, bountyFlows } from "../support/flows.js";
import { usePaidTestBot } from "../support/paid.js";
import type { Who } from "../support/payloads.js";
import { enginesAndBackends, priceOracle, startPriceServer } from "../support/payouts.js";

/**
 * Why money waits, as the card says it, through the app's real seams: webhooks in, GitHub by nock,
 * payout runs against the local chain over HTTP, on every engine. PAYOUT_MIN_SATS is the
 * documented default (10,000 sats).
 */

const HOLD_0 = "payout:\n  hold: 0s\n";

describe.each(enginesAndBackends(ENGINES))("the card says why money waits (%s, %s)", (engine, backend) => {
  const h = usePaidTestBot(engine, {}, backend);
  const flows = bountyFlows({ bot: () => h.bot, db: () => h.db });

  const cardEdits = flows.recordCardEdits;

  /** bob's row of the card's award table. */
  const bobsRow = (card: string | undefined) => card?.split("\n").find((l) => l.startsWith("| @bob"));

  const linkWallet = (who: Who, address: string) => flows.linkWallet(who, address, HOLD_0);

  const land = (n: number) => flows.land(n, bob, HOLD_0);

  async function run() {
    const report = await h.bot.payouts!.runNow();
    await h.bot.settled();
    return report;
  }

  test("a credited award below PAYOUT_MIN_SATS: the card says it is paid once the balance reaches it, never the whole balance", async () => {
    await h.rig.fund(500_000n);
    const bobAddress = randomAddress("p2wpkh");
    await linkWallet(bob, bobAddress);

    const first = await flows.fundedIssue(["1usd"], HOLD_0);
    const firstEdits = cardEdits(first.card, first.n);
    await land(first.n);
    // Past its hold, on a completed issue, with prices fine: it waits for the run, not for a price.
    expect(bobsRow(firstEdits.at(-1))).toBe("| @bob | 100% | $1 | ⏳ priced in the next payout run |");

    const r1 = await run();
    expect(r1).toMatchObject({ credited: 1, queued: 0, priceWaits: [] });
    const [a1] = (await flows.bountyOf(first.n)).awards;
    const s1 = a1!.sats!;
    expect(s1).toBeLessThan(10_000n);
    expect(bobsRow(firstEdits.at(-1))).toBe(
      `| @bob | 100% | $1 | ${satsText(s1)} credited to @bob's balance; paid once your balance reaches 10,000 sats |`,
    );

    // A second award to bob on another issue: both cards state the balance they share.
    const second = await flows.fundedIssue(["2usd"], HOLD_0);
    const secondEdits = cardEdits(second.card, second.n);
    await land(second.n);
    expect(await run()).toMatchObject({ credited: 1, queued: 0 });
    const s2 = (await flows.bountyOf(second.n)).awards[0]!.sats!;
    expect(s1 + s2).toBeLessThan(10_000n);
    expect(bobsRow(secondEdits.at(-1))).toBe(
      `| @bob | 100% | $2 | ${satsText(s2)} credited to @bob's balance; paid once your balance reaches 10,000 sats |`,
    );
    expect(bobsRow(firstEdits.at(-1))).toContain("paid once your balance reaches 10,000 sats |");
    // Neither card shows the whole balance: it may hold earnings from private repositories.
    for (const body of [...firstEdits, ...secondEdits]) expect(body).not.toContain(satsText(s1 + s2));

    for (const body of [...firstEdits, ...secondEdits]) expect(body).not.toMatch(/reliable BTC price/);
    expect(h.rig.chain.chain.mempoolTxids).toEqual([]);
  });

  test("credited to someone without a wallet: the card says so, the ask says the minimum, and linking one shows the balance", async () => {
    await h.rig.fund(500_000n);
    const { n, card } = await flows.fundedIssue(["1usd"], HOLD_0);
    const edits = cardEdits(card, n);
    await land(n);
    const asked: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        asked.push((b as { body: string }).body);
        return { id: 1 };
      });
    expect(await run()).toMatchObject({ credited: 1, queued: 0 });
    const sats = (await flows.bountyOf(n)).awards[0]!.sats!;
    expect(bobsRow(edits.at(-1))).toBe(
      `| @bob | 100% | $1 | ${satsText(sats)} credited to @bob's balance; paid once @bob links a wallet with \`/wallet <bitcoin address>\` |`,
    );
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain("Your balance is below the payout minimum: it is paid once your balance reaches 10,000 sats.");

    await linkWallet(bob, randomAddress("p2wpkh"));
    expect(bobsRow(edits.at(-1))).toBe(
      `| @bob | 100% | $1 | ${satsText(sats)} credited to @bob's balance; paid once your balance reaches 10,000 sats |`,
    );
  });

  test("prices disputed: only then the card says it waits for a reliable BTC price, the audit log says why, and it is paid once they agree", async () => {
    await h.rig.fund(500_000n);
    const a = await startPriceServer({ USD: 60_000 });
    const b = await startPriceServer({ USD: 64_000 });
    try {
      h.prices = priceOracle(`mempool:${a.url},mempool:${b.url}`);
      await linkWallet(bob, randomAddress("p2wpkh"));
      const { n, card } = await flows.fundedIssue(["10usd"], HOLD_0);
      const edits = cardEdits(card, n);
      await land(n);
      expect(bobsRow(edits.at(-1))).not.toMatch(/reliable BTC price/);

      const r1 = await run();
      expect(r1).toMatchObject({ credited: 0, queued: 0 });
      expect(bobsRow(edits.at(-1))).toBe(
        "| @bob | 100% | $10 | ⏳ waiting for a reliable BTC price (the price sources are missing or disagree); tried again in the next payout run |",
      );
      const bounty = (await flows.bountyOf(n)).bounty;
      const waits = (await bountyEvents(h.db, bounty.id)).filter((e) => e.kind === "award_price_wait");
      expect(waits).toHaveLength(1);
      expect(String(waits[0]!.data.reason)).toContain("more than PRICE_MAX_SPREAD 2%");
      await run(); // still disputed: recorded once, not once a run
      expect((await bountyEvents(h.db, bounty.id)).filter((e) => e.kind === "award_price_wait")).toHaveLength(1);

      b.set({ USD: 60_000 });
      github().persist().post(`${repoPath}/issues/${n}/comments`).reply(201, { id: 1 });
      github().persist().post(/\/issues\/\d+\/comments$/).reply(201, { id: 1 });
      const r2 = await run();
      expect(r2).toMatchObject({ credited: 1, queued: 1 });
      expect(r2.broadcast).toHaveLength(1);
      expect(edits.at(-1)).toContain("💸 Paid");
    } finally {
      await a.close();
      await b.close();
    }
  });
});
