import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import {
  deliver,
  github,
  mockClosingIssues,
  mockIssueCloser,
  mockPermission,
  mockPullCommits,
  mockUser,
  mockUserById,
  repoPath,
} from "../support/bot.js";
import { alice, bob, bountyFlows } from "../support/flows.js";
import { REPO, commentCreated, issueReopened, pullClosed, type Who } from "../support/payloads.js";
import { bountyEvents, replay } from "../../src/store/bounties.js";

const carol: Who = { login: "carol", id: 1003 };
const dave: Who = { login: "dave", id: 1004 };
const erin: Who = { login: "erin", id: 1005 };
const dependabot: Who = { login: "dependabot[bot]", id: 49699333, type: "Bot" };
const CHARITY = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
const HOUR = 3_600_000;
let nextComment = 180000;

describe.each(ENGINES)("merged pull requests and awards on %s", (engine) => {
  const h = useTestBot(engine);

  const { config, expectCardEdit, captureReplies, fundedIssue, merge, close, bountyOf, claimsOf, credit, newIssue, newPull } =
    bountyFlows({ bot: () => h.bot, db: () => h.db });

  test("PR merged first, then the issue closed as completed: the author is awarded, held for 24h", async () => {
    const { n, card } = await fundedIssue();
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    expect((await claimsOf(n)).map((c) => [c.pr_number, c.state])).toEqual([[pr, "pending"]]);
    expect((await bountyOf(n)).awards).toEqual([]);

    config();
    mockIssueCloser(n, pr);
    const edits = expectCardEdit(card, n);
    const before = Date.now();
    await close(n, "completed");
    await h.bot.settled();

    const { bounty, pledges, awards } = await bountyOf(n);
    expect(bounty.status).toBe("awarded");
    expect(bounty.issueState).toBe("completed");
    expect(pledges.map((p) => p.status)).toEqual(["awarded"]);
    expect(awards).toHaveLength(1);
    expect(awards[0]).toMatchObject({
      recipientId: bob.id,
      recipientLogin: "bob",
      shareBps: 10000,
      amounts: [{ currency: "USD", minor: 500n }],
      source: "merge",
      pr: { owner: REPO.owner, repo: REPO.name, number: pr },
      state: "held",
      unclaimedCharity: null,
    });
    const hold = awards[0]!.holdUntil.getTime() - before;
    expect(hold).toBeGreaterThan(24 * HOUR - 60_000);
    expect(hold).toBeLessThan(24 * HOUR + 60_000);
    expect((await claimsOf(n))[0]!.state).toBe("awarded");
    expect(edits[0]).toContain("🏆 Awarded");
    expect(edits[0]).toMatch(/\| @bob \| 100% \| \$5 \| ⏳ paid after \d{4}-\d\d-\d\d \d\d:\d\d UTC \|/);
    expect(edits[0]).not.toContain("How to claim");

    const events = await bountyEvents(h.db, bounty.id);
    const awarded = events.find((e) => e.kind === "awarded")!;
    expect(awarded.data).toMatchObject({ source: "merge", funders: ["user:1001"], totals: [{ currency: "USD", minor: "500" }] });
    const rebuilt = replay(events);
    expect(rebuilt.status).toBe("awarded");
    expect(rebuilt.pledges.get("user:1001")?.status).toBe("awarded");
  });

  test("issue closed first, then the PR merged: awarded at once, on the repository's payout terms", async () => {
    const yaml = `charities:\n  coin-center: {name: Coin Center, address: ${CHARITY}}\npayout:\n  hold: 48h\n  unclaimed: coin-center\n`;
    const { n, card } = await fundedIssue(["5usd", "20eur"], yaml);
    await close(n, "completed"); // no claim yet: no GitHub call at all
    await h.bot.settled();
    expect((await bountyOf(n)).bounty.issueState).toBe("completed");

    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config(yaml);
    mockIssueCloser(n, pr);
    const edits = expectCardEdit(card, n);
    const before = Date.now();
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();

    const { bounty, awards } = await bountyOf(n);
    expect(bounty.status).toBe("awarded");
    expect(awards.map((a) => [a.recipientLogin, a.amounts])).toEqual([
      ["bob", [{ currency: "EUR", minor: 2000n }]],
    ]);
    // alice's second pledge replaced her first: 20 EUR is the bounty.
    const hold = awards[0]!.holdUntil.getTime() - before;
    expect(hold).toBeGreaterThan(48 * HOUR - 60_000);
    expect(hold).toBeLessThan(48 * HOUR + 60_000);
    expect(awards[0]!.unclaimedCharity).toEqual({ id: "coin-center", name: "Coin Center", address: CHARITY });
    expect(edits[0]).toContain("a recipient's share goes to **Coin Center** instead");
  });

  test("redeliveries change nothing: same delivery id, or the same events again under new ids", async () => {
    const { n, card } = await fundedIssue();
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    const first = await merge(pr, `Closes #${n}`);
    await h.bot.settled();
    config();
    mockIssueCloser(n, pr);
    expectCardEdit(card, n);
    const closed = await close(n, "completed");
    await h.bot.settled();
    const b = (await bountyOf(n)).bounty;
    const eventsBefore = (await bountyEvents(h.db, b.id)).length;

    // GitHub's "Redeliver" keeps the id: dropped at the door.
    await merge(pr, `Closes #${n}`, bob, {}, first.id);
    await close(n, "completed", closed.id);
    await h.bot.settled();
    // The same happenings delivered again under new ids: the merge was claimed once already, so
    // GitHub is not even asked again, and nothing more is recorded.
    await merge(pr, `Closes #${n}`);
    await close(n, "completed");
    await h.bot.settled();

    const after = await bountyOf(n);
    expect(after.awards).toHaveLength(1);
    expect(after.bounty.status).toBe("awarded");
    expect((await bountyEvents(h.db, b.id)).length).toBe(eventsBefore);
    expect(await claimsOf(n)).toHaveLength(1);
  });

  test("with claim.coauthors, the author and each resolvable co-author share equally; others are skipped", async () => {
    const yaml = "claim:\n  coauthors: true\n";
    const { n, card } = await fundedIssue(["10usd"], yaml);
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config(yaml);
    mockPullCommits(pr, [
      {
        message:
          "Fix the docs\n\nCo-authored-by: Carol <1003+carol@users.noreply.github.com>\n" +
          "Co-authored-by: Dave <dave@users.noreply.github.com>\nCo-authored-by: Bob again <1002+bob@users.noreply.github.com>",
        email: "bob@example.com",
        user: { login: "bob", id: bob.id },
      },
      {
        message:
          "More\n\nCo-authored-by: Erin <erin@example.org>\nCo-authored-by: Stranger <stranger@example.net>\n" +
          "Co-authored-by: dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
        email: "bob@example.com",
        user: { login: "bob", id: bob.id },
      },
      // GitHub matched erin@example.org to erin's account: that is reliable.
      { message: "Erin's part", email: "erin@example.org", user: { login: "erin", id: erin.id } },
    ]);
    mockUser("dave", { id: dave.id });
    mockUserById(carol.id, carol);
    mockUserById(bob.id, bob);
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    expect((await claimsOf(n))[0]!.recipients).toEqual([
      { id: bob.id, login: "bob", bps: 2500 },
      { id: carol.id, login: "carol", bps: 2500 },
      { id: dave.id, login: "dave", bps: 2500 },
      { id: erin.id, login: "erin", bps: 2500 },
    ]);

    config(yaml);
    mockIssueCloser(n, pr);
    const edits = expectCardEdit(card, n);
    await close(n, "completed");
    await h.bot.settled();
    const { awards } = await bountyOf(n);
    expect(awards.map((a) => [a.recipientLogin, a.shareBps, a.amounts[0]!.minor])).toEqual([
      ["bob", 2500, 250n],
      ["carol", 2500, 250n],
      ["dave", 2500, 250n],
      ["erin", 2500, 250n],
    ]);
    expect(edits[0]).toContain("| @carol | 25% | $2.50 |");
  });

  test("shares that do not divide evenly: each currency's total still adds up exactly", async () => {
    const yaml = "claim:\n  coauthors: true\n";
    const { n, card } = await fundedIssue(["1usd"], yaml);
    // A second funder, in sats.
    config(yaml);
    mockPermission("carol", "write");
    expectCardEdit(card, n, "none");
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body: "/bounty 10000sats", user: carol }));
    await h.bot.settled();

    await close(n, "completed");
    await h.bot.settled();
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config(yaml);
    mockPullCommits(pr, [
      { message: "x\n\nCo-authored-by: C <1003+carol@users.noreply.github.com>\nCo-authored-by: D <1004+dave@users.noreply.github.com>" },
    ]);
    mockUserById(carol.id, carol);
    mockUserById(dave.id, dave);
    mockIssueCloser(n, pr);
    expectCardEdit(card, n);
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    const { awards } = await bountyOf(n);
    expect(awards.map((a) => [a.recipientLogin, a.shareBps, a.amounts.map((x) => `${x.minor}${x.currency}`)])).toEqual([
      ["bob", 3334, ["34USD", "3334BTC"]],
      ["carol", 3333, ["33USD", "3333BTC"]],
      ["dave", 3333, ["33USD", "3333BTC"]],
    ]);
  });

  test("closed as not planned: the pending claim is never awarded", async () => {
    const { n, card } = await fundedIssue();
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    const edits = expectCardEdit(card, n);
    await close(n, "not_planned");
    await h.bot.settled();
    const { bounty, pledges, awards } = await bountyOf(n);
    expect(bounty.status).toBe("cancelled");
    expect(bounty.issueState).toBe("not_planned");
    expect(pledges.map((p) => p.status)).toEqual(["cancelled"]);
    expect(awards).toEqual([]);
    expect(edits[0]).toContain("closed as not planned");
  });

  test("reopened and closed as completed later: awarded then", async () => {
    const { n, card } = await fundedIssue();
    await close(n, "completed");
    await h.bot.settled();
    await deliver(h.bot, "issues", issueReopened({ issue: { number: n }, sender: alice }));
    await h.bot.settled();
    expect((await bountyOf(n)).bounty.issueState).toBe("open");
    // A PR merged while the issue is open only claims it.
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    expect((await bountyOf(n)).awards).toEqual([]);
    config();
    mockIssueCloser(n, pr);
    expectCardEdit(card, n);
    await close(n, "completed");
    await h.bot.settled();
    expect((await bountyOf(n)).awards.map((a) => a.recipientLogin)).toEqual(["bob"]);
  });

  test("a PR that closes nothing records nothing; an unmerged PR is not even looked at", async () => {
    const pr = newPull();
    mockClosingIssues(pr, []);
    await merge(pr, "Refactors the docs build. Related to #12, see #13.");
    await deliver(h.bot, "pull_request", pullClosed({ pr: { number: newPull(), body: "Fixes #12", author: bob, merged: false }, sender: bob }));
    await h.bot.settled();
    const [row] = await h.db.query<{ n: bigint }>("SELECT count(*) AS n FROM claims WHERE pr_number = $1", [pr]);
    expect(Number(row!.n)).toBe(0);
  });

  test("closing keywords count when GraphQL cannot answer, only into the default branch, and never for another account", async () => {
    const { n } = await fundedIssue();
    const other = newIssue();
    // GraphQL answers with errors: the description's keywords are used; another account's repository is ignored.
    const pr = newPull();
    github()
      .post("/graphql")
      .reply(200, { data: null, errors: [{ type: "NOT_SUPPORTED", message: "not here" }] });
    config();
    await merge(pr, `Fixes #${n}\nFixes someone-else/website#${other}\nFixes https://github.com/kubernetes/website/issues/${other}`);
    await h.bot.settled();
    expect((await claimsOf(n)).map((c) => c.pr_number)).toEqual([pr]);
    expect((await claimsOf(other)).map((c) => c.pr_number)).toEqual([pr]);
    const [claimed] = await h.db.query<{ n: bigint }>("SELECT count(*) AS n FROM claims WHERE pr_number = $1", [pr]);
    expect(Number(claimed!.n)).toBe(2); // not someone-else/website's issue

    // Into a release branch, GitHub closes nothing by keyword, and neither do we.
    const pr2 = newPull();
    mockClosingIssues(pr2, []);
    await merge(pr2, `Fixes #${n}`, bob, { baseRef: "release-1.31" });
    await h.bot.settled();
    expect((await claimsOf(n)).map((c) => c.pr_number)).toEqual([pr]);

    // GraphQL's cross-repository references count only for the same account.
    const pr3 = newPull();
    mockClosingIssues(pr3, [{ number: 5, owner: "someone-else", repo: "website", repoId: 999 }]);
    await merge(pr3, null);
    await h.bot.settled();
    const [none] = await h.db.query<{ n: bigint }>("SELECT count(*) AS n FROM claims WHERE pr_number = $1", [pr3]);
    expect(Number(none!.n)).toBe(0);
  });

  test("a bot's PR claims nothing; where a bounty waits, the issue is told how to award it", async () => {
    const { n } = await fundedIssue();
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    const replies = captureReplies(n);
    await merge(pr, `Fixes #${n}`, dependabot);
    await h.bot.settled();
    expect(await claimsOf(n)).toEqual([]);
    expect(replies[0]).toContain(`#${pr} was merged and closes this issue, but its author @dependabot[bot] is a bot`);
    expect(replies[0]).toContain("/award @login");
  });

  test("a revert merged during the hold cancels the award: pledges and bounty open again, the card says why", async () => {
    const { n, card } = await fundedIssue();
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    await merge(pr, `Fixes #${n}`, bob, { title: "Fix the docs" });
    await h.bot.settled();
    config();
    mockIssueCloser(n, pr);
    expectCardEdit(card, n);
    await close(n, "completed");
    await h.bot.settled();

    const revert = newPull();
    const edits = expectCardEdit(card, n, "add");
    await merge(revert, `Reverts ${REPO.owner}/${REPO.name}#${pr}`, alice, { title: 'Revert "Fix the docs"' });
    await h.bot.settled();

    const { bounty, pledges, awards } = await bountyOf(n);
    expect(bounty.status).toBe("open");
    expect(bounty.statusReason).toBe(`award to @bob cancelled: #${pr} was reverted by #${revert}`);
    expect(pledges.map((p) => p.status)).toEqual(["open"]);
    expect(awards.map((a) => [a.state, a.cancelReason])).toEqual([["cancelled", `#${pr} was reverted by #${revert}`]]);
    expect((await claimsOf(n))[0]!.state).toBe("reverted");
    expect(edits[0]).toContain(`🟢 Open — award to @bob cancelled: #${pr} was reverted by #${revert}`);
    expect(edits[0]).toContain(`| ~~@bob~~ | 100% | $5 | cancelled: #${pr} was reverted by #${revert} |`);
    expect(edits[0]).toContain("How to claim");
    const rebuilt = replay(await bountyEvents(h.db, bounty.id));
    expect(rebuilt.status).toBe("open");
    expect(rebuilt.pledges.get("user:1001")?.status).toBe("open");

    // The same revert again awards and cancels nothing more.
    await merge(revert, `Reverts ${REPO.owner}/${REPO.name}#${pr}`, alice, { title: 'Revert "Fix the docs"' });
    await h.bot.settled();
    expect((await bountyOf(n)).awards.map((a) => a.state)).toEqual(["cancelled"]);
  });

  test("a revert named only by its title finds the PR; a revert of a PR not yet awarded stops its claim", async () => {
    const { n } = await fundedIssue();
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    await merge(pr, `Fixes #${n}`, bob, { title: "Tidy the glossary" });
    await h.bot.settled();
    await merge(newPull(), "This reverts commit 0123abcd.", alice, { title: 'Revert "Tidy the glossary"' });
    await h.bot.settled();
    expect((await claimsOf(n))[0]!.state).toBe("reverted");
    // Closing the issue now awards nothing: the only claim was reverted.
    await close(n, "completed");
    await h.bot.settled();
    expect((await bountyOf(n)).awards).toEqual([]);
    expect((await bountyOf(n)).bounty.status).toBe("open");
  });

  test("a revert after the hold cancels nothing and tells the issue a maintainer may need to act", async () => {
    const yaml = "payout:\n  hold: 0s\n";
    const { n, card } = await fundedIssue(["5usd"], yaml);
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config(yaml);
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    config(yaml);
    mockIssueCloser(n, pr);
    expectCardEdit(card, n);
    await close(n, "completed");
    await h.bot.settled();
    await credit(n); // the payout runner's part

    const replies = captureReplies(n);
    const revert = newPull();
    await merge(revert, `Reverts #${pr}`, alice, { title: "Revert the fix" });
    await h.bot.settled();
    expect(replies[0]).toBe(
      `#${pr} was reverted by #${revert}, but the award to @bob is already credited to their balance, so I did not ` +
        "cancel it: the money may already be out. A maintainer may need to act.",
    );
    const { bounty, awards } = await bountyOf(n);
    expect(bounty.status).toBe("awarded");
    expect(awards.map((a) => a.state)).toEqual(["credited"]);
  });

  // ---------------------------------------------------------------------------------------------
  // Who gets paid: the PR that closed the issue, references GitHub honours, real co-authors.

  /** alice funds an existing issue: its card is created. */
  async function fund(n: number, card: number): Promise<void> {
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${n}/comments`).reply(201, { id: card });
    github().post(`${repoPath}/issues/${n}/labels`, { labels: ["bounty"] }).reply(200, []);
    config();
    mockPermission("alice", "write");
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body: "/bounty 5usd", user: alice }));
    await h.bot.settled();
  }

  /** A merged PR's webhook with its merge time given. */
  async function mergeAt(pr: number, body: string, author: Who, mergedAt: Date): Promise<void> {
    const payload = pullClosed({ pr: { number: pr, body, author }, sender: alice });
    payload.pull_request.merged_at = mergedAt.toISOString();
    await deliver(h.bot, "pull_request", payload);
    await h.bot.settled();
  }

  test("the PR GitHub names as the closer wins over an earlier PR that only mentioned the issue (PR webhooks first)", async () => {
    const { n, card } = await fundedIssue();
    const early = newPull();
    const closer = newPull();
    for (const [pr, who] of [[early, bob], [closer, carol]] as const) {
      mockClosingIssues(pr, [n]);
      config();
      await merge(pr, `Fixes #${n}`, who);
      await h.bot.settled();
    }
    config();
    mockIssueCloser(n, closer);
    expectCardEdit(card, n);
    await close(n, "completed");
    await h.bot.settled();
    expect((await bountyOf(n)).awards.map((a) => [a.recipientLogin, a.pr?.number])).toEqual([["carol", closer]]);
    expect((await claimsOf(n)).map((c) => [c.pr_number, c.state])).toEqual([
      [early, "pending"],
      [closer, "awarded"],
    ]);
  });

  test("the closer wins also when the issue's webhook comes first: the earlier PR's lone claim waits for it", async () => {
    const { n, card } = await fundedIssue();
    const early = newPull();
    mockClosingIssues(early, [n]);
    config();
    await merge(early, `Fixes #${n}`, bob);
    await h.bot.settled();

    // GitHub says a PR closed the issue whose own webhook has not come yet: nothing is awarded.
    const closer = newPull();
    config();
    mockIssueCloser(n, closer);
    const waiting = expectCardEdit(card, n, "none");
    await close(n, "completed");
    await h.bot.settled();
    expect((await bountyOf(n)).awards).toEqual([]);
    expect(waiting[0]).toContain(`GitHub says #${closer} closed the issue, which claims no bounty here, while #${early} claims it`);

    mockClosingIssues(closer, [n]);
    config();
    mockIssueCloser(n, closer);
    const edits = expectCardEdit(card, n);
    await merge(closer, `Fixes #${n}`, carol);
    await h.bot.settled();
    const { bounty, awards } = await bountyOf(n);
    expect(awards.map((a) => [a.recipientLogin, a.pr?.number])).toEqual([["carol", closer]]);
    expect(bounty.statusReason).toBeNull();
    expect(edits[0]).toContain("🏆 Awarded");
  });

  test("a claim from a merge before the issue's latest reopening never counts, whatever order the webhooks come in", async () => {
    const n = newIssue();
    const now = Date.now();
    // Before any bounty: bob's PR said it fixes the issue, which was closed, then reopened.
    const early = newPull();
    mockClosingIssues(early, [n]);
    config();
    await mergeAt(early, `Fixes #${n}`, bob, new Date(now - 2 * HOUR));
    await close(n, "completed");
    await h.bot.settled();
    // carol's PR was merged after the reopening, but its webhook is handled before the reopening's.
    const later = newPull();
    mockClosingIssues(later, [n]);
    config();
    await mergeAt(later, `Fixes #${n}`, carol, new Date(now - 1000));
    const reopened = issueReopened({ issue: { number: n }, sender: alice });
    reopened.issue.updated_at = new Date(now - HOUR).toISOString();
    await deliver(h.bot, "issues", reopened);
    await h.bot.settled();
    expect((await claimsOf(n)).map((c) => [c.pr_number, c.state])).toEqual([
      [early, "dropped"],
      [later, "pending"],
    ]);
    const [dropped] = await h.db.query<{ data: { claims: Array<{ pr: string }>; reason: string } }>(
      "SELECT data FROM events WHERE kind = 'claims_dropped' AND data->>'issue_number' = $1",
      [String(n)],
    );
    expect(dropped!.data).toMatchObject({
      claims: [{ pr: `${REPO.owner}/${REPO.name}#${early}` }],
      reason: "the issue was reopened after the pull request was merged",
    });

    const card = 79001;
    await fund(n, card);
    // A person closes it: with one claim counted, that claim wins.
    config();
    mockIssueCloser(n, null);
    expectCardEdit(card, n);
    await close(n, "completed");
    await h.bot.settled();
    expect((await bountyOf(n)).awards.map((a) => [a.recipientLogin, a.pr?.number])).toEqual([["carol", later]]);
  });

  test("two claims and no closer among them: nothing is awarded; the card and a reply ask a funder to /award", async () => {
    const { n, card } = await fundedIssue();
    const [one, two] = [newPull(), newPull()];
    for (const [pr, who] of [[one, bob], [two, carol]] as const) {
      mockClosingIssues(pr, [n]);
      config();
      await merge(pr, `Fixes #${n}`, who);
      await h.bot.settled();
    }
    config();
    mockIssueCloser(n, null);
    const edits = expectCardEdit(card, n, "none");
    const replies = captureReplies(n);
    await close(n, "completed");
    await h.bot.settled();
    const { bounty, pledges, awards } = await bountyOf(n);
    expect(awards).toEqual([]);
    expect(pledges.map((p) => p.status)).toEqual(["open"]);
    const why = `#${one} and #${two} claim it, and GitHub names none of them as what closed the issue`;
    expect(bounty.statusReason).toBe(`no award yet: ${why}; a funder can award it with \`/award @login\``);
    expect(edits[0]).toContain(`🟢 Open — no award yet: ${why}`);
    expect(replies).toEqual([
      `This issue was closed as completed, but I did not award its bounty: ${why}. ` +
        "A funder can award it with `/award @login` (or `/award @alice @bob` to share it).",
    ]);

    // Reopened: the status from that close goes with it.
    const cleared = expectCardEdit(card, n, "none");
    await deliver(h.bot, "issues", issueReopened({ issue: { number: n }, sender: alice }));
    await h.bot.settled();
    expect((await bountyOf(n)).bounty.statusReason).toBeNull();
    expect(cleared[0]).toContain("**Status:** 🟢 Open\n");
  });

  test("when GitHub cannot say what closed the issue, even a lone claim waits for a funder", async () => {
    const { n, card } = await fundedIssue();
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    config();
    mockIssueCloser(n, "error");
    expectCardEdit(card, n, "none");
    const replies = captureReplies(n);
    await close(n, "completed");
    await h.bot.settled();
    expect((await bountyOf(n)).awards).toEqual([]);
    expect(replies[0]).toContain(`GitHub did not say what closed the issue, and #${pr} claims it`);
  });

  test("when GraphQL answers, its list is the whole truth: keywords GitHub did not honour claim nothing", async () => {
    const { n } = await fundedIssue();
    const pr = newPull();
    mockClosingIssues(pr, []); // e.g. the keyword was added after the merge, or GitHub ignored it
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    expect(await claimsOf(n)).toEqual([]);
  });

  test("the keyword fallback reads only what GitHub renders: not link definitions, HTML attributes or indented code", async () => {
    const { n } = await fundedIssue();
    const pr = newPull();
    github()
      .post("/graphql")
      .reply(200, { data: null, errors: [{ type: "NOT_SUPPORTED", message: "not here" }] });
    const body = [
      "Tidies the docs.",
      "",
      `[docs]: https://kubernetes.io/docs "Fixes #${n}"`,
      `<a title="fixes #${n}" href="https://kubernetes.io">the docs</a>`,
      "",
      `    Closes #${n}`,
    ].join("\n");
    await merge(pr, body);
    await h.bot.settled();
    expect(await claimsOf(n)).toEqual([]);
  });

  test("a revert counts only into the default branch, by a visible Reverts line or the exact Revert title", async () => {
    const { n, card } = await fundedIssue();
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config();
    await merge(pr, `Fixes #${n}`, bob, { title: "Fix the docs" });
    await h.bot.settled();
    config();
    mockIssueCloser(n, pr);
    expectCardEdit(card, n);
    await close(n, "completed");
    await h.bot.settled();

    const full = `${REPO.owner}/${REPO.name}#${pr}`;
    const notReverts: Array<[string, { title?: string; baseRef?: string }]> = [
      [`Reverts ${full}`, { title: 'Revert "Fix the docs"', baseRef: "release-1.31" }],
      ["Sorry, it broke CI.", { title: "Revert: Fix the docs" }],
      [`<!-- Reverts ${full} -->`, {}],
      [`<p title="Reverts ${full}">Tidy up</p>`, {}],
      [`This reverts #${pr}.`, {}],
    ];
    for (const [body, extra] of notReverts) {
      // Not a revert: an ordinary merged PR, asked what it closes.
      const other = newPull();
      mockClosingIssues(other, []);
      await merge(other, body, alice, extra);
      await h.bot.settled();
    }
    // A revert of a title no claimed PR has exactly.
    await merge(newPull(), "", alice, { title: 'Revert "fix the docs"' });
    await h.bot.settled();
    expect((await bountyOf(n)).awards.map((a) => a.state)).toEqual(["held"]);
    expect((await claimsOf(n))[0]!.state).toBe("awarded");
  });

  test("a noreply co-author counts only when GitHub's user with that id has that login; never a bot", async () => {
    const yaml = "claim:\n  coauthors: true\n";
    const { n } = await fundedIssue(["10usd"], yaml);
    const pr = newPull();
    mockClosingIssues(pr, [n]);
    config(yaml);
    mockPullCommits(pr, [
      {
        message:
          "Fix the docs\n\nCo-authored-by: Mallory <1003+mallory@users.noreply.github.com>\n" +
          "Co-authored-by: Ghost <999999+ghost@users.noreply.github.com>\n" +
          "Co-authored-by: Dave <1004+dave@users.noreply.github.com>\n" +
          "Co-authored-by: Renovate <29139614+renovate@users.noreply.github.com>",
      },
    ]);
    mockUserById(carol.id, carol); // 1003 is carol, not mallory
    mockUserById(999999, null);
    mockUserById(dave.id, dave);
    mockUserById(29139614, { login: "renovate", type: "Bot" });
    await merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    expect((await claimsOf(n))[0]!.recipients).toEqual([
      { id: bob.id, login: "bob", bps: 5000 },
      { id: dave.id, login: "dave", bps: 5000 },
    ]);
  });
});
