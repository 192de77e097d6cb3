import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { bountyEvents, replay } from "../../src/store/bounties.js";
import { deliver, github, mockClosingIssues, mockIssueCloser, mockPermission, mockUser, repoPath } from "../support/bot.js";
import { alice, bob, bountyFlows } from "../support/flows.js";
import { REPO, commentCreated, type Who } from "../support/payloads.js";

const carol: Who = { login: "carol", id: 1003 };
const dave: Who = { login: "dave", id: 1004 };

describe.each(ENGINES)("/award on %s", (engine) => {
  const h = useTestBot(engine);

  const { config, expectCardEdit, captureReplies, fundedIssue, merge, close, comment, bountyOf, credit, newIssue, newPull } =
    bountyFlows({ bot: () => h.bot, db: () => h.db });

  let nextComment = 180000;
  /** A comment on the issue while it is still open. */
  const openComment = (n: number, body: string, user: Who = alice) =>
    deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body, user }));

  /** Someone else with write access pledges on the (open) issue too. */
  async function pledgeAs(who: Who, n: number, card: number, amount: string) {
    config();
    mockPermission(who.login, "write");
    expectCardEdit(card, n, "none");
    await openComment(n, `/bounty ${amount}`, who);
    await h.bot.settled();
  }

  test("on open pledges it awards now, with the hold from now, and replies quoting the line", async () => {
    const { n, card } = await fundedIssue(["8usd"]);
    await close(n, "completed");
    await h.bot.settled();
    config();
    mockPermission("alice", "write");
    mockUser("carol", { id: carol.id });
    github().get("/users/Dave").reply(200, { login: "dave", id: dave.id, type: "User" }); // GitHub answers with the login's own case
    const replies = captureReplies(n);
    const edits = expectCardEdit(card, n);
    await comment(n, "Thanks both!\n/award @carol 75 @Dave 25%");
    await h.bot.settled();
    expect(replies[0]).toMatch(/^> \/award @carol 75 @Dave 25%\n\n@alice: awarded to @carol \(75%, \$6\) and @dave \(25%, \$2\)\. It is paid after .* UTC\.$/);
    const { bounty, awards } = await bountyOf(n);
    expect(bounty.status).toBe("awarded");
    expect(awards.map((a) => [a.recipientId, a.recipientLogin, a.shareBps, a.source, a.claimId])).toEqual([
      [carol.id, "carol", 7500, "command", null],
      [dave.id, "dave", 2500, "command", null],
    ]);
    expect(edits[0]).toContain("| @carol | 75% | $6 |");
  });

  test("replaces a merge award still in its hold; the old one shows why it was cancelled", async () => {
    const { n, card } = await fundedIssue(["10usd"]);
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    config();
    mockIssueCloser(n, pr);
    expectCardEdit(card, n);
    await close(n, "completed");
    await h.bot.settled();

    config();
    mockPermission("alice", "write");
    mockUser("bob", { id: bob.id });
    mockUser("carol", { id: carol.id });
    const replies = captureReplies(n);
    const edits = expectCardEdit(card, n, "none");
    await comment(n, "/award @bob @carol");
    await h.bot.settled();
    expect(replies[0]).toContain("awarded to @bob (50%, $5) and @carol (50%, $5). This replaces the award to @bob.");
    const { bounty, pledges, awards } = await bountyOf(n);
    expect(bounty.status).toBe("awarded");
    expect(pledges.map((p) => p.status)).toEqual(["awarded"]);
    expect(awards.map((a) => [a.recipientLogin, a.state, a.cancelReason, a.source])).toEqual([
      ["bob", "cancelled", "replaced by /award from @alice", "merge"],
      ["bob", "held", null, "command"],
      ["carol", "held", null, "command"],
    ]);
    expect(edits[0]).toContain("| ~~@bob~~ | 100% | $10 | cancelled: replaced by /award from @alice |");
    // A later revert of the merged PR does not touch the funder's award.
    await merge(newPull(), `Reverts ${REPO.owner}/${REPO.name}#${pr}`, alice);
    await h.bot.settled();
    expect((await bountyOf(n)).awards.filter((a) => a.state === "held")).toHaveLength(2);
  });

  test("once an award is credited, it can no longer be changed", async () => {
    const { n, card } = await fundedIssue();
    config();
    mockPermission("alice", "write");
    mockUser("bob", { id: bob.id });
    captureReplies(n);
    expectCardEdit(card, n);
    await comment(n, "/award @bob");
    await h.bot.settled();
    await credit(n); // the payout runner's part
    config();
    mockPermission("alice", "write");
    mockUser("carol", { id: carol.id });
    const replies = captureReplies(n);
    await comment(n, "/award @carol");
    await h.bot.settled();
    expect(replies[0]).toContain("@alice: this bounty's award to @bob is already credited or paid, so it can no longer be changed.");
    expect((await bountyOf(n)).awards.map((a) => [a.recipientLogin, a.state])).toEqual([["bob", "credited"]]);
  });

  test.each([
    ["/award @carol 60 @dave 30", "percentages add up to 90, not 100", [] as string[]],
    ["/award @carol 60 @dave", "give every user a percentage, or none for equal shares", []],
    ["/award", "name at least one user", []],
    ["/award @nobody-here", "@nobody-here is not a GitHub user, so I awarded nothing.", ["nobody-here"]],
    ["/award @dependabot", "is not a person's account (Bot)", ["dependabot"]],
  ])("%s is refused with a clear reply and changes nothing", async (line, why, lookups) => {
    const { n } = await fundedIssue();
    config();
    if (lookups.length) mockPermission("alice", "write");
    for (const login of lookups) mockUser(login, login === "dependabot" ? { id: 27347476, type: "Bot" } : null);
    const replies = captureReplies(n);
    await comment(n, line);
    await h.bot.settled();
    expect(replies[0]).toContain(`> ${line}`);
    expect(replies[0]).toContain(why);
    const { bounty, awards } = await bountyOf(n);
    expect(bounty.status).toBe("open");
    expect(awards).toEqual([]);
  });

  test("someone who may not fund is told who may, and nothing changes", async () => {
    const { n } = await fundedIssue();
    config();
    github().get(`${repoPath}/collaborators/bob/permission`).reply(200, { permission: "read", role_name: "read" });
    const replies = captureReplies(n);
    await comment(n, "/award @bob", bob);
    await h.bot.settled();
    expect(replies[0]).toContain("@bob: only people with write access to kubernetes/website may award a bounty here.");
    expect((await bountyOf(n)).awards).toEqual([]);
  });

  test("on an issue without a bounty, or with nothing left to award, it says so", async () => {
    const n = newIssue();
    config();
    mockPermission("alice", "write");
    mockUser("bob", { id: bob.id });
    const replies = captureReplies(n);
    await comment(n, "/award @bob");
    await h.bot.settled();
    expect(replies[0]).toContain("this issue has no bounty, so there is nothing to award.");
  });
  test.each([
    ["/award @alice", [["alice", alice.id]]],
    ["/award @bob 50 @Alice 50", [["bob", bob.id], ["Alice", alice.id]]],
  ] as Array<[string, Array<[string, number]>]>)(
    "%s: nobody can award themselves, not even a share; nothing is recorded",
    async (line, lookups) => {
      const { n } = await fundedIssue(["8usd"]);
      config();
      mockPermission("alice", "write");
      // GitHub answers with the account's own login: the id says it is the author.
      for (const [login, id] of lookups) github().get(`/users/${login}`).reply(200, { login: login.toLowerCase(), id, type: "User" });
      const replies = captureReplies(n);
      await comment(n, line);
      await h.bot.settled();
      expect(replies[0]).toContain(`> ${line}`);
      expect(replies[0]).toContain("@alice: you cannot award a bounty to yourself, not even a share of it, so I awarded nothing.");
      const { bounty, pledges, awards } = await bountyOf(n);
      expect(bounty.status).toBe("open");
      expect(pledges.map((p) => p.status)).toEqual(["open"]);
      expect(awards).toEqual([]);
    },
  );

  test("a recipient who pledged on the bounty: the award is recorded but held for an operator, as the reply and the card say", async () => {
    const { n, card } = await fundedIssue(["8usd"]);
    await pledgeAs(carol, n, card, "2usd");
    await close(n, "completed");
    await h.bot.settled();

    config();
    mockPermission("alice", "write");
    mockUser("carol", { id: carol.id });
    mockUser("bob", { id: bob.id });
    const replies = captureReplies(n);
    const edits = expectCardEdit(card, n);
    await comment(n, "/award @carol @bob");
    await h.bot.settled();
    expect(replies[0]).toContain("awarded to @carol (50%, $5) and @bob (50%, $5).");
    expect(replies[0]).toContain("@carol's share is held for an operator's approval: @carol pledged on this bounty.");
    const { bounty, awards } = await bountyOf(n);
    expect(bounty.status).toBe("awarded");
    expect(awards.map((a) => [a.recipientLogin, a.state, a.approval, a.approvalReason])).toEqual([
      ["carol", "held", "needed", "@carol pledged on this bounty"],
      ["bob", "held", null, null],
    ]);
    expect(edits[0]).toMatch(/\| @carol \| 50% \| \$5 \| ⏸️ held for operator approval: @carol pledged on this bounty; ⏳ paid after .* UTC \|/);
    expect(edits[0]).toMatch(/\| @bob \| 50% \| \$5 \| ⏳ paid after .* UTC \|/);
    const held = (await bountyEvents(h.db, bounty.id)).filter((e) => e.kind === "award_needs_approval");
    expect(held.map((e) => [e.actorLogin, e.data.recipient_login, e.data.reason])).toEqual([["alice", "carol", "@carol pledged on this bounty"]]);
  });

  test("/award on an open issue: recorded and shown, payable only once closed as completed; closed as not planned, it is cancelled", async () => {
    const { n, card } = await fundedIssue(["8usd"]);
    config();
    mockPermission("alice", "write");
    mockUser("bob", { id: bob.id });
    const replies = captureReplies(n);
    const edits = expectCardEdit(card, n);
    await openComment(n, "/award @bob");
    await h.bot.settled();
    expect(replies[0]).toMatch(/awarded to @bob \(100%, \$8\)\. Nothing is paid until this issue is closed as completed \(and not before .* UTC\)\./);
    expect(edits[0]).toMatch(/\| @bob \| 100% \| \$8 \| ⏳ paid once the issue is closed as completed, not before .* UTC \|/);
    expect((await bountyOf(n)).awards.map((a) => a.state)).toEqual(["held"]);

    const closed = expectCardEdit(card, n, "none");
    await close(n, "not_planned");
    await h.bot.settled();
    const { bounty, pledges, awards } = await bountyOf(n);
    expect(awards.map((a) => [a.recipientLogin, a.state, a.cancelReason])).toEqual([["bob", "cancelled", "the issue was closed as not planned"]]);
    expect(pledges.map((p) => p.status)).toEqual(["cancelled"]);
    expect([bounty.status, bounty.statusReason]).toEqual(["cancelled", "the issue was closed as not planned"]);
    expect(closed[0]).toContain("| ~~@bob~~ | 100% | $8 | cancelled: the issue was closed as not planned |");
    const rebuilt = replay(await bountyEvents(h.db, bounty.id));
    expect(rebuilt.status).toBe("cancelled");
    expect([...rebuilt.pledges.values()].map((p) => p.status)).toEqual(["cancelled"]);
  });
});
