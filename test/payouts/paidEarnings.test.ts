import { earningsOf, fundsOf, TREASURY, WALLET } from "../../src/ledger/rules.js";
import { createToken } from "../api/support.js";
import { transferNow } from "../../src/store/ledger.js";
import { earningsPaidComments } from "../../src/payouts/comments.js";
import { checkLedgerTotals } from "../../src/store/ledgerCheck.js";
import { recordReward } from "../../src/store/rewards.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { deliver, github, mockConfig, mockPermission, mockUser, repoPath } from "../support/bot.js";
import { ENGINES } from "../support/databases.js";
import { bob, bountyFlows } from "../support/flows.js";
import { usePaidTestBot } from "../support/paid.js";
import { commentCreated, REPO, type Who } from "../support/payloads.js";
import { enginesAndBackends, outputsOf } from "../support/payouts.js";

/**
 * A payout of earnings that are not awards (an answer, a tip, an API reward) says so where the
 * money came from: the question's issue, the tip's issue, the reward's notify thread; once per
 * payout and place, with the transaction. A reward without notify has no place: no comment.
 */
const CONFIG = "payout:\n  hold: 0s\nfunders: { users: [carol] }\n";
const MARKER = "<!-- bounty-bot:card:question:";
const carol: Who = { login: "carol", id: 1003 }; // a funder who tips
const dave: Who = { login: "dave", id: 1004 }; // asks bob a question with his own funds

describe.each(enginesAndBackends(ENGINES))("paid comments for earnings beyond awards (%s, %s)", (engine, backend) => {
  const h = usePaidTestBot(engine, { PAYOUT_MIN_SATS: "1000", PAYOUT_MODE: "auto" }, backend);
  const flows = bountyFlows({ bot: () => h.bot, db: () => h.db });
  let nextComment = 9_300_000;
  let nextIssue = 930;

  async function say(issue: number, user: Who, body: string, config: boolean = true): Promise<number> {
    if (config) mockConfig(CONFIG);
    const commentId = nextComment++;
    expect((await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: issue }, commentId, body, user }))).status).toBe(200);
    await h.bot.settled();
    return commentId;
  }
  const thumbsUp = () => github().post(`${repoPath}/issues/comments/${nextComment}/reactions`, { content: "+1" }).reply(201, { id: 1, content: "+1" });
  /** Every new comment (not a card) on an issue from now on. */
  function comments(issue: number): string[] {
    const bodies: string[] = [];
    github()
      .persist()
      .post(`${repoPath}/issues/${issue}/comments`, (b: { body: string }) => !b.body.startsWith(MARKER))
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: 1 };
      });
    return bodies;
  }

  /** dave asks bob (price 3,000 sats) on a new issue and bob answers: 3,000 sats in bob's earnings. */
  async function answered(): Promise<number> {
    const issue = nextIssue++;
    const r = await transferNow(h.db, { key: `deposit:${"cd".repeat(32)}:${issue}:0`, debit: WALLET, credit: fundsOf(dave.id), sats: 10_000n, kind: "deposit" });
    expect(r.ok).toBe(true);
    thumbsUp();
    await say(issue, bob, "/price 3000sats");
    mockUser("bob", { id: bob.id });
    mockPermission("dave", "read");
    thumbsUp();
    github().get(`${repoPath}/issues/${issue}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${issue}/comments`, (b: { body: string }) => b.body.startsWith(MARKER)).reply(201, { id: 77_000 + issue });
    await say(issue, dave, "/ask @bob how are the docs previews built?");
    github().patch(`${repoPath}/issues/comments/${77_000 + issue}`).reply(200, {});
    await say(issue, bob, "Netlify builds them from the PR head; see netlify.toml for the settings.", false);
    return issue;
  }

  /** carol (a funder) tips bob 2,000 sats on a new issue; the release sweep moves it to his earnings. */
  async function tipped(): Promise<{ issue: number; said: string[] }> {
    const issue = nextIssue++;
    mockUser("bob", { id: bob.id });
    const said = comments(issue);
    thumbsUp();
    await say(issue, carol, "/tip @bob 2000sats thanks for the review");
    expect(said).toHaveLength(1);
    said.length = 0;
    await h.bot.sweeper.runAll(new Date(Date.now() + 2 * 3600_000));
    return { issue, said };
  }

  /** A CI reward to bob from a token's grant, as the rewards API records it: with a notify thread (its comment queued), or none. */
  async function rewarded(sats: bigint, reason: string, notify: number | null): Promise<void> {
    const { name } = await createToken(h.db, ["--budget", "100000sats/1d"]);
    const [t] = await h.db.query<{ id: bigint }>("SELECT id FROM api_tokens WHERE name = $1", [name]);
    const where = notify === null ? undefined : { installationId: REPO.installationId, owner: REPO.owner, repo: REPO.name, issueNumber: notify };
    await recordReward(
      h.db,
      {
        tokenId: BigInt(t!.id), keyHash: reason, requestHash: reason, recipientId: bob.id, recipientLogin: "bob", sats, currency: "BTC", minor: sats,
        rate: null, reason, url: null, notify: where ? `${REPO.owner}/${REPO.name}#${notify}` : null,
      },
      where ? { reply: { where, body: () => `@bob rewarded: ${reason}` } } : {},
    );
    await h.bot.settled();
  }

  test("an answer, a tip and a notified reward each get one paid comment where they came from; a reward without notify gets none", async () => {
    await h.rig.fund(200_000n);
    const address = randomAddress("p2wpkh");
    await flows.linkWallet(bob, address, CONFIG);
    const question = await answered();
    const { said: onTip } = await tipped();
    const ci = nextIssue++;
    const onQuestion = comments(question);
    const onCi = comments(ci);
    await rewarded(1_500n, "fixed the flaky e2e test", ci);
    expect(onCi).toEqual(["@bob rewarded: fixed the flaky e2e test"]);
    onCi.length = 0;
    await rewarded(700n, "kept the build green", null);

    const r = await h.bot.payouts!.runNow();
    await h.bot.settled();
    expect(r.queued).toBe(1);
    const txid = r.broadcast[0]!;
    expect(outputsOf(h.rig, txid).get(address)).toBe(3_000n + 2_000n + 1_500n + 700n);

    expect(onQuestion).toHaveLength(1);
    expect(onQuestion[0]).toContain("💸 **Paid:** 3,000 sats to @bob for answering the question “how are the docs previews built?”.");
    expect(onTip).toEqual([expect.stringContaining("💸 **Paid:** 2,000 sats to @bob for a tip from @carol (“thanks for the review”).")]);
    expect(onCi).toEqual([expect.stringContaining("💸 **Paid:** 1,500 sats to @bob for “fixed the flaky e2e test”.")]);
    for (const body of [...onQuestion, ...onTip, ...onCi]) {
      expect(body).toContain(`Transaction \`${txid}\`, output `);
      expect(body).toContain(`to \`${address}\`.`);
      expect(body).toContain("That output pays 7,200 sats in all: these earnings together with the rest of the same balance.");
      expect(body).toMatch(/The network fee \([\d,]+ sats for 1 payout in this transaction\) was paid by the bounty wallet/);
    }
    // The next run pays nothing and says nothing again.
    expect(await h.bot.payouts!.runNow()).toMatchObject({ queued: 0, broadcast: [] });
    await h.bot.settled();
    expect([onQuestion.length, onTip.length, onCi.length]).toEqual([1, 1, 1]);
    const keys = await h.db.query<{ dedupe_key: string }>("SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE 'paid:earnings:%' ORDER BY dedupe_key");
    expect(keys).toHaveLength(3);
    expect((await checkLedgerTotals(h.db)).problems).toEqual([]);
  });

  test("earnings paid by an earlier payout are not named again; only what came since", async () => {
    await h.rig.fund(200_000n);
    const address = randomAddress("p2wpkh");
    await flows.linkWallet(bob, address, CONFIG);
    const { said: onTip } = await tipped();
    const first = await h.bot.payouts!.runNow();
    await h.bot.settled();
    expect(onTip).toEqual([expect.stringContaining("💸 **Paid:** 2,000 sats to @bob for a tip from @carol")]);
    expect(onTip[0]).not.toContain("in all");
    expect(onTip[0]).toContain(`Transaction \`${first.broadcast[0]}\``);

    const question = await answered();
    const onQuestion = comments(question);
    const second = await h.bot.payouts!.runNow();
    await h.bot.settled();
    expect(second.broadcast).toHaveLength(1);
    expect(outputsOf(h.rig, second.broadcast[0]!).get(address)).toBe(3_000n);
    expect(onQuestion).toEqual([expect.stringContaining("💸 **Paid:** 3,000 sats to @bob for answering the question")]);
    expect(onTip).toHaveLength(1);
  });

  test("a person's earnings partly spent before the payout: only what it paid is named", async () => {
    await h.rig.fund(200_000n);
    const address = randomAddress("p2wpkh");
    await flows.linkWallet(bob, address, CONFIG);
    const { said: onTip } = await tipped();
    // bob spends 500 of the tip's sats (a reservation from his earnings, as an escrow would make).
    expect((await transferNow(h.db, { key: "spent:bob:test", debit: earningsOf(bob.id), credit: TREASURY, sats: 500n, kind: "correction" })).ok).toBe(true);
    const r = await h.bot.payouts!.runNow();
    await h.bot.settled();
    expect(outputsOf(h.rig, r.broadcast[0]!).get(address)).toBe(1_500n);
    expect(onTip).toEqual([expect.stringContaining("💸 **Paid:** 1,500 sats to @bob for a tip from @carol (“thanks for the review”) (1,500 sats of the 2,000 sats it earned).")]);
  });
});

describe("earningsPaidComments", () => {
  const payout = { id: 5n, sats: 9_000n, kind: "charity" as const, charityName: "Coin Center", address: "bcrt1qcharity", vout: 2 };
  const where = { installationId: 1, owner: "o", repo: "r", issueNumber: 3 };
  const tip = (tipper: string, sats: bigint, id: bigint) => ({ transferId: id, sats, source: { kind: "tip" as const, tipper, reason: null }, where });

  test("one comment per payout and place, listing each person's credits; a charity is paid on their behalf", () => {
    const out = earningsPaidComments(
      [
        { payout, userId: 1, login: "ann", extraSats: 3_000n, credits: [tip("carol", 1_000n, 1n), tip("dave", 2_000n, 2n)] },
        { payout, userId: 2, login: "ben", extraSats: 500n, credits: [tip("carol", 500n, 3n), { ...tip("x", 1n, 4n), where: null }] },
      ],
      { txid: "ab".repeat(32), feeSats: 300n, payouts: 2 },
      "https://mempool.space/tx/",
    );
    expect(out).toEqual([
      {
        key: `paid:earnings:5:${"ab".repeat(32)}:1:o/r#3`,
        where,
        body: [
          "💸 **Paid:** 3,500 sats to **Coin Center**:",
          "",
          "- 1,000 sats on behalf of @ann for a tip from @carol",
          "- 2,000 sats on behalf of @ann for a tip from @dave",
          "- 500 sats on behalf of @ben for a tip from @carol",
          "",
          `Transaction [\`${"ab".repeat(32)}\`](https://mempool.space/tx/${"ab".repeat(32)}), output 2 to \`bcrt1qcharity\`.`,
          "",
          "That output pays 9,000 sats in all: these earnings together with the rest of the same balance.",
          "",
          "<sub>The network fee (300 sats for 2 payouts in this transaction) was paid by the bounty wallet, not taken from the payment.</sub>",
        ].join("\n"),
      },
    ]);
  });

  test("nothing is named beyond what the payout took from a person; a place-less credit gets no comment", () => {
    const out = earningsPaidComments(
      [{ payout: { ...payout, kind: "user", charityName: null, sats: 1_000n }, userId: 1, login: "ann", extraSats: 1_000n, credits: [{ ...tip("x", 600n, 1n), where: null }, tip("carol", 2_000n, 2n)] }],
      { txid: "cd".repeat(32), feeSats: 200n, payouts: 1 },
      null,
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.body.split("\n")[0]).toBe("💸 **Paid:** 400 sats to @ann for a tip from @carol (400 sats of the 2,000 sats it earned).");
    expect(out[0]!.body).toContain("That output pays 1,000 sats in all");
  });
});
