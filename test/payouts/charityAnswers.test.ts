import { charityOf, fundsOf, postedBalance, availableBalance, WALLET } from "../../src/ledger/rules.js";
import { accountBalance, transferNow } from "../../src/store/ledger.js";
import { checkLedgerTotals } from "../../src/store/ledgerCheck.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { deliver, github, mockConfig, mockPermission, mockUser, repoPath } from "../support/bot.js";
import { ENGINES } from "../support/databases.js";
import { bob } from "../support/flows.js";
import { usePaidTestBot } from "../support/paid.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { enginesAndBackends, outputsOf } from "../support/payouts.js";

/**
 * Answers donated with `/price … donate <charity>` are credited to the charity's own account; the
 * payout run pays that balance to the charity's address as the answers recorded it, so the money
 * does not sit in the wallet for ever. Where the address is not known for sure (none recorded, or
 * two repositories naming different charities by one id) nothing is paid and the balance stays.
 */
const MARKER = "<!-- bounty-bot:card:question:";
const dave: Who = { login: "dave", id: 1004 };
const config = (address: string) => `payout:\n  hold: 0s\ncharities: { coin-center: { name: Coin Center, address: ${address} } }\n`;

describe.each(enginesAndBackends(ENGINES))("answers donated to a charity are paid out (%s, %s)", (engine, backend) => {
  const h = usePaidTestBot(engine, { PAYOUT_MIN_SATS: "1000", PAYOUT_MODE: "auto" }, backend);
  let nextComment = 9_500_000;
  let nextIssue = 950;

  async function say(issue: number, user: Who, body: string, cfg: string | null): Promise<void> {
    if (cfg) mockConfig(cfg);
    const commentId = nextComment++;
    expect((await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: issue }, commentId, body, user }))).status).toBe(200);
    await h.bot.settled();
  }
  const thumbsUp = () => github().post(`${repoPath}/issues/comments/${nextComment}/reactions`, { content: "+1" }).reply(201, { id: 1, content: "+1" });

  /** bob prices his answers at 3,000 sats donated to coin-center (as `cfg` names it); dave asks and bob answers. */
  async function donatedAnswer(cfg: string): Promise<void> {
    const issue = nextIssue++;
    const r = await transferNow(h.db, { key: `deposit:${"ef".repeat(32)}:${issue}:0`, debit: WALLET, credit: fundsOf(dave.id), sats: 10_000n, kind: "deposit" });
    expect(r.ok).toBe(true);
    thumbsUp();
    await say(issue, bob, "/price 3000sats donate coin-center", cfg);
    mockUser("bob", { id: bob.id });
    mockPermission("dave", "read");
    thumbsUp();
    github().get(`${repoPath}/issues/${issue}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${issue}/comments`, (b: { body: string }) => b.body.startsWith(MARKER)).reply(201, { id: 78_000 + issue });
    await say(issue, dave, "/ask @bob where do the release notes come from?", cfg);
    github().patch(`${repoPath}/issues/comments/${78_000 + issue}`).reply(200, {});
    await say(issue, bob, "From the release-note blocks of merged PRs, collected by krel.", null);
  }
  const charity = async () => accountBalance(h.db, charityOf("coin-center"));

  test("the charity's balance is paid to its address once; the next run pays nothing more", async () => {
    await h.rig.fund(200_000n);
    const address = randomAddress("p2wpkh");
    await donatedAnswer(config(address));
    await donatedAnswer(config(address));
    expect(postedBalance(await charity())).toBe(6_000n);

    const r = await h.bot.payouts!.runNow();
    await h.bot.settled();
    expect(r.broadcast).toHaveLength(1);
    expect(outputsOf(h.rig, r.broadcast[0]!).get(address)).toBe(6_000n);
    expect(postedBalance(await charity())).toBe(0n);
    const [p] = await h.db.query<{ payee_kind: string; charity_id: string; charity_name: string; user_id: bigint | null }>(
      "SELECT payee_kind, charity_id, charity_name, user_id FROM payouts",
    );
    expect(p).toEqual({ payee_kind: "charity", charity_id: "coin-center", charity_name: "Coin Center", user_id: null });
    expect(await h.bot.payouts!.runNow()).toMatchObject({ queued: 0, broadcast: [] });
    expect((await checkLedgerTotals(h.db)).problems).toEqual([]);
  });

  test("two addresses recorded for one charity id, or none: nothing is paid and the balance stays in the charity's account", async () => {
    await h.rig.fund(200_000n);
    await donatedAnswer(config(randomAddress("p2wpkh")));
    await donatedAnswer(config(randomAddress("p2wpkh")));
    const r = await h.bot.payouts!.runNow();
    expect(r.broadcast).toEqual([]);
    expect(availableBalance(await charity())).toBe(6_000n);
    expect(await h.db.query("SELECT 1 FROM payouts")).toEqual([]);
    // An answer recorded before addresses were kept (none known): still nothing.
    await h.db.query("UPDATE question_answers SET charity_address = NULL, charity_name = NULL");
    expect((await h.bot.payouts!.runNow()).broadcast).toEqual([]);
    expect(availableBalance(await charity())).toBe(6_000n);
    expect((await checkLedgerTotals(h.db)).problems).toEqual([]);
  });
});
