import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockClosingIssues, mockConfig, mockNoConfig, mockPermission, repoPath } from "../support/bot.js";
import { bountyFlows } from "../support/flows.js";
import { REPO, commentCreated, issueClosed, issueLabeled, issueReopened, type Who } from "../support/payloads.js";
import { bountyEvents, findBounty, listPledges } from "../../src/store/bounties.js";

const alice: Who = { login: "alice", id: 1001 };
const triager: Who = { login: "triager", id: 1003 };
const prow: Who = { login: "k8s-ci-robot", id: 20407524, type: "Bot" };
const CONFIG = "labels:\n  auto:\n    bounty/50: 50usd\n    bounty/small: 10000sats\n  trusted_senders: [k8s-ci-robot]\n";
let nextIssue = 300;
let nextComment = 90000;

describe.each(ENGINES)("issue events on %s", (engine) => {
  const h = useTestBot(engine);

  function expectNewCard(n: number, id: number): string[] {
    const bodies: string[] = [];
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id };
      });
    github().post(`${repoPath}/issues/${n}/labels`, { labels: ["bounty"] }).reply(200, []);
    return bodies;
  }

  test("a labels.auto label added by a maintainer pledges its amount as the app; removing it withdraws", async () => {
    const n = nextIssue++;
    mockConfig(CONFIG);
    mockPermission("alice", "maintain");
    const card = expectNewCard(n, 501);
    await deliver(h.bot, "issues", issueLabeled({ issue: { number: n }, label: "bounty/50", sender: alice }));
    await h.bot.settled();
    expect(card[0]).toContain("label `bounty/50` | $50");
    const b = (await findBounty(h.db, REPO.id, n))!;
    expect((await listPledges(h.db, b.id)).map((p) => [p.funderKey, p.amount.minor, p.status])).toEqual([["label:bounty/50", 5000n, "open"]]);

    mockConfig(CONFIG);
    github().patch(`${repoPath}/issues/comments/501`).reply(200, {});
    github().delete(`${repoPath}/issues/${n}/labels/bounty`).reply(200, []);
    await deliver(h.bot, "issues", issueLabeled({ issue: { number: n }, label: "bounty/50", sender: alice, action: "unlabeled" }));
    await h.bot.settled();
    expect((await listPledges(h.db, b.id)).map((p) => p.status)).toEqual(["withdrawn"]);
  });

  test("a trusted sender (Prow's bot) may add the label without a permission check", async () => {
    const n = nextIssue++;
    mockConfig(CONFIG);
    const card = expectNewCard(n, 502);
    await deliver(h.bot, "issues", issueLabeled({ issue: { number: n }, label: "bounty/small", sender: prow }));
    await h.bot.settled();
    expect(card[0]).toContain("10,000 sats");
  });

  test("a label added by someone who may not fund records nothing and says why", async () => {
    const n = nextIssue++;
    mockConfig(CONFIG);
    github().get(`${repoPath}/collaborators/triager/permission`).reply(200, { permission: "read", role_name: "triage" });
    const replies: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        replies.push((b as { body: string }).body);
        return { id: 1 };
      });
    await deliver(h.bot, "issues", issueLabeled({ issue: { number: n }, label: "bounty/50", sender: triager }));
    await h.bot.settled();
    expect(replies[0]).toContain("adds a bounty only when people with write access");
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();
  });

  test("labels that are not in labels.auto are ignored without a GitHub write", async () => {
    const n = nextIssue++;
    mockConfig(CONFIG);
    await deliver(h.bot, "issues", issueLabeled({ issue: { number: n }, label: "kind/bug", sender: alice }));
    await h.bot.settled();
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();
  });

  test("closing as not planned cancels open pledges and the card says so; closing as completed does not", async () => {
    const n = nextIssue++;
    mockNoConfig();
    mockPermission("alice", "write");
    expectNewCard(n, 503);
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body: "/bounty 20gbp", user: alice }));
    await h.bot.settled();

    await deliver(h.bot, "issues", issueClosed({ issue: { number: n, stateReason: "completed" }, sender: alice }));
    await h.bot.settled();
    const b = (await findBounty(h.db, REPO.id, n))!;
    expect(b.status).toBe("open");

    let edited = "";
    github()
      .patch(`${repoPath}/issues/comments/503`)
      .reply(200, (_u, body) => {
        edited = (body as { body: string }).body;
        return {};
      });
    github().delete(`${repoPath}/issues/${n}/labels/bounty`).reply(200, []);
    await deliver(h.bot, "issues", issueClosed({ issue: { number: n, stateReason: "not_planned" }, sender: alice }));
    await h.bot.settled();
    expect(edited).toContain("Cancelled — the issue was closed as not planned");
    expect(edited).toContain("~~@alice £20~~");
    expect((await listPledges(h.db, b.id)).map((p) => p.status)).toEqual(["cancelled"]);
  });

  test("closing as not planned drops the merged PRs' pending claims, with an audit event; a later close awards nothing", async () => {
    const flows = bountyFlows({ bot: () => h.bot, db: () => h.db });
    const { n, card } = await flows.fundedIssue();
    const pr = flows.newPull();
    mockClosingIssues(pr, [n]);
    flows.config();
    await flows.merge(pr, `Fixes #${n}`);
    await h.bot.settled();
    flows.expectCardEdit(card, n);
    await flows.close(n, "not_planned");
    await h.bot.settled();
    expect((await flows.claimsOf(n)).map((c) => [c.pr_number, c.state])).toEqual([[pr, "dropped"]]);
    const b = (await findBounty(h.db, REPO.id, n))!;
    const dropped = (await bountyEvents(h.db, b.id)).filter((e) => e.kind === "claims_dropped");
    expect(dropped.map((e) => e.data)).toEqual([
      {
        repo_id: REPO.id,
        issue_number: n,
        claims: [{ id: expect.any(String), pr: `${REPO.owner}/${REPO.name}#${pr}` }],
        reason: "the issue was closed as not planned",
      },
    ]);

    // Reopened, funded again and closed as completed: the dropped claim does not come back.
    await deliver(h.bot, "issues", issueReopened({ issue: { number: n }, sender: alice }));
    await h.bot.settled();
    mockNoConfig();
    mockPermission("alice", "write");
    flows.expectCardEdit(card, n, "add");
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body: "/bounty 7usd", user: alice }));
    await h.bot.settled();
    await flows.close(n, "completed");
    await h.bot.settled();
    expect((await listPledges(h.db, b.id)).filter((p) => p.status === "open")).toHaveLength(1);
    expect((await flows.bountyOf(n)).awards).toEqual([]);
  });
});
