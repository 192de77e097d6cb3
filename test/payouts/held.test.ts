import { runCli } from "../../src/cli/index.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { deliver, mockConfig, mockPermission, mockUser } from "../support/bot.js";
import { ENGINES } from "../support/databases.js";
import { alice, bob, bountyFlows } from "../support/flows.js";
import { usePaidTestBot } from "../support/paid.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { enginesAndBackends, silent, outputsOf } from "../support/payouts.js";

/**
 * Self-dealing and open issues, through the app's real seams: signed webhooks in, GitHub answered
 * by nock, the payout run against the local chain over HTTP, the operator's command line in
 * process, the database on every engine. PAYOUT_MODE is auto throughout: the holds here are not
 * the operator's payout approval but the award's own.
 */

const carol: Who = { login: "carol", id: 1003 };
const HOLD_0 = "payout:\n  hold: 0s\n";

describe.each(enginesAndBackends(ENGINES))("held awards are not paid until they may be (%s, %s)", (engine, backend) => {
  let nextComment = 880000;
  const h = usePaidTestBot(engine, { PAYOUT_MIN_SATS: "1000", PAYOUT_MODE: "auto", EXPLORER_URL: "https://mempool.example/tx/" }, backend);

  const flows = bountyFlows({ bot: () => h.bot, db: () => h.db });

  const cardEdits = flows.recordCardEdits;

  const comments = flows.recordComments;

  const linkWallet = (who: Who, address: string) => flows.linkWallet(who, address, HOLD_0);

  /** A comment on the issue while it is open. */
  async function openComment(n: number, body: string, user: Who) {
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body, user }));
    await h.bot.settled();
  }

  async function run() {
    const report = await h.bot.payouts!.runNow();
    await h.bot.settled();
    return report;
  }

  async function cli(argv: string[]) {
    let out = "";
    let err = "";
    const code = await runCli(argv, {
      env: { USER: "operator-ann", BITCOIN_NETWORK: "regtest" },
      db: h.db,
      log: silent,
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
    });
    return { code, out, err };
  }

  const outputs = (txid: string) => outputsOf(h.rig, txid);

  test("a merged PR by someone who pledged on the bounty: held whatever PAYOUT_MODE says, paid on chain once an operator approves", async () => {
    await h.rig.fund(500_000n);
    const bobAddress = randomAddress("p2wpkh");
    await linkWallet(bob, bobAddress);
    const { n, card } = await flows.fundedIssue(["5usd"], HOLD_0);
    const edits = cardEdits(card, n);
    // bob, who has write access, pledges on the issue he then fixes himself.
    mockConfig(HOLD_0);
    mockPermission("bob", "write");
    await openComment(n, "/bounty 1usd", bob);

    const pr = await flows.land(n, bob, HOLD_0);
    const [award] = (await flows.bountyOf(n)).awards;
    expect(award).toMatchObject({ recipientLogin: "bob", state: "held", approval: "needed", approvalReason: "@bob pledged on this bounty" });
    expect(edits.at(-1)).toContain("| @bob | 100% | $6 | ⏸️ held for operator approval: @bob pledged on this bounty |");

    // PAYOUT_MODE=auto, the hold is 0s, the issue is closed as completed: still nothing is priced or paid.
    expect(await run()).toMatchObject({ credited: 0, queued: 0, signed: [], broadcast: [] });
    expect((await flows.bountyOf(n)).awards[0]!.state).toBe("held");

    const listed = await cli(["awards", "list", "--held"]);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(new RegExp(`^${award!.id} +kubernetes/website#${n} +@bob \\(${bob.id}\\) +100% +\\$6 +held +needs approval: @bob pledged on this bounty$`, "m"));
    const approved = await cli(["awards", "approve", String(award!.id), "--by", "lead-lee"]);
    expect(approved).toMatchObject({ code: 0, err: "" });
    await h.bot.cards.sweep(); // the CLI is another process: the app's card sweeper shows the approval
    await h.bot.settled();
    expect(edits.at(-1)).toContain("| @bob | 100% | $6 | ⏳ priced in the next payout run |");

    const onIssue = comments(n);
    comments(pr);
    const r = await run();
    expect(r).toMatchObject({ credited: 1, queued: 1 });
    expect(outputs(r.broadcast[0]!).get(bobAddress)).toBe(10_000n);
    expect(onIssue[0]).toContain("10,000 sats to @bob");
    expect(edits.at(-1)).toContain("💸 Paid");
  });

  test("/award on an open issue: shown at once, paid only after the issue is closed as completed", async () => {
    await h.rig.fund(500_000n);
    const carolAddress = randomAddress("p2tr");
    await linkWallet(carol, carolAddress);
    const { n, card } = await flows.fundedIssue(["5usd"], HOLD_0);
    const edits = cardEdits(card, n);
    const replies = comments(n);
    mockConfig(HOLD_0);
    mockPermission("alice", "write");
    mockUser("carol", { id: carol.id });
    await openComment(n, "/award @carol", alice);
    expect(replies[0]).toContain("awarded to @carol (100%, $5). Nothing is paid until this issue is closed as completed");
    expect(edits.at(-1)).toContain("| @carol | 100% | $5 | ⏳ paid once the issue is closed as completed |");

    expect(await run()).toMatchObject({ credited: 0, queued: 0, broadcast: [] });

    await flows.close(n, "completed"); // no claim: nothing to ask GitHub
    await h.bot.settled();
    const r = await run();
    expect(r).toMatchObject({ credited: 1, queued: 1 });
    expect(outputs(r.broadcast[0]!).get(carolAddress)).toBe(8_333n);
  });
});
