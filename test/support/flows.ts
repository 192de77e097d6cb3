import type { BountyBot } from "../../src/server.js";
import { listAwards } from "../../src/store/awards.js";
import type { Db } from "../../src/store/db.js";
import { findBounty, listPledges } from "../../src/store/bounties.js";
import { deliver, github, mockClosingIssues, mockConfig, mockIssueCloser, mockNoConfig, mockPermission, repoPath } from "./bot.js";
import { REPO, commentCreated, issueClosed, pullClosed, type Who } from "./payloads.js";

export const alice: Who = { login: "alice", id: 1001 }; // a maintainer: funds and merges
export const bob: Who = { login: "bob", id: 1002 }; // a contributor

/**
 * The steps of a bounty's story through signed webhooks, with GitHub's side mocked by nock:
 * fund an issue, merge a PR, close the issue, comment. Each step mocks only the calls it makes.
 */
export function bountyFlows(env: { bot(): BountyBot; db(): Db }) {
  let nextIssue = 700;
  let nextPull = 7000;
  let nextComment = 170000;
  let nextCard = 70000;

  /** The repository's config for one read: none, or this YAML. */
  const config = (yaml?: string) => (yaml === undefined ? mockNoConfig() : mockConfig(yaml));

  /** The next card edit, and the label change that goes with it. Returns the bodies sent. */
  function expectCardEdit(card: number, n: number, label: "remove" | "add" | "none" = "remove"): string[] {
    const edits: string[] = [];
    github()
      .patch(`${repoPath}/issues/comments/${card}`)
      .reply(200, (_u, b) => {
        edits.push((b as { body: string }).body);
        return {};
      });
    if (label === "remove") github().delete(`${repoPath}/issues/${n}/labels/bounty`).reply(200, []);
    if (label === "add") github().post(`${repoPath}/issues/${n}/labels`, { labels: ["bounty"] }).reply(200, []);
    return edits;
  }

  /** The next new comment (a reply) on an issue. */
  function captureReplies(n: number): string[] {
    const bodies: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: 1 };
      });
    return bodies;
  }

  /** Every card edit (and label removal) on the issue from now on, however many there are. */
  function recordCardEdits(card: number, n: number): string[] {
    const edits: string[] = [];
    github()
      .persist()
      .patch(`${repoPath}/issues/comments/${card}`)
      .reply(200, (_u, b) => {
        edits.push((b as { body: string }).body);
        return {};
      });
    github().persist().delete(`${repoPath}/issues/${n}/labels/bounty`).reply(200, []);
    return edits;
  }

  /** Every new comment on an issue or PR from now on. */
  function recordComments(n: number): string[] {
    const bodies: string[] = [];
    github()
      .persist()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: 1 };
      });
    return bodies;
  }

  /** `who` links a payout address with /wallet (on issue 1; where does not matter) and gets its 👍. */
  async function linkWallet(who: Who, address: string, yaml?: string): Promise<void> {
    const id = nextComment++;
    config(yaml);
    github().post(`${repoPath}/issues/comments/${id}/reactions`, { content: "+1" }).reply(201, { id: 1, content: "+1" });
    await deliver(env.bot(), "issue_comment", commentCreated({ issue: { number: 1 }, commentId: id, body: `/wallet ${address}`, user: who }));
    await env.bot().settled();
  }

  /** A PR by `author` that fixes issue n is merged, then GitHub closes the issue as completed, naming that PR as its closer. */
  async function land(n: number, author: Who = bob, yaml?: string): Promise<number> {
    const pr = nextPull++;
    mockClosingIssues(pr, [n]);
    config(yaml);
    await merge(pr, `Fixes #${n}`, author, {}, `merge-${pr}`);
    // The inbox works on several issues and PRs at once: let the merge land first, so the close
    // (which then reads the config to award) comes second, as the mocks expect.
    await env.bot().settled();
    config(yaml);
    mockIssueCloser(n, pr);
    await close(n, "completed", `close-${n}`);
    await env.bot().settled();
    return pr;
  }

  /** alice pledges each amount in turn on a new issue; its card is created. */
  async function fundedIssue(amounts: string[] = ["5usd"], yaml?: string): Promise<{ n: number; card: number }> {
    const n = nextIssue++;
    const card = nextCard++;
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${n}/comments`).reply(201, { id: card });
    github().post(`${repoPath}/issues/${n}/labels`, { labels: ["bounty"] }).reply(200, []);
    for (const [i, a] of amounts.entries()) {
      config(yaml);
      mockPermission("alice", "write");
      if (i > 0) expectCardEdit(card, n, "none");
      await deliver(env.bot(), "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body: `/bounty ${a}`, user: alice }));
      await env.bot().settled();
    }
    return { n, card };
  }

  const merge = (pr: number, body: string | null, author: Who = bob, extra: { title?: string; baseRef?: string } = {}, id?: string) =>
    deliver(env.bot(), "pull_request", pullClosed({ pr: { number: pr, body, author, ...extra }, sender: alice }), { id });

  const close = (n: number, stateReason: "completed" | "not_planned", id?: string) =>
    deliver(env.bot(), "issues", issueClosed({ issue: { number: n, stateReason }, sender: alice }), { id });

  /** A comment on a closed (completed) issue. */
  const comment = (n: number, body: string, user: Who = alice) =>
    deliver(
      env.bot(),
      "issue_comment",
      commentCreated({ issue: { number: n, state: "closed", stateReason: "completed" }, commentId: nextComment++, body, user }),
    );

  async function bountyOf(n: number) {
    const b = (await findBounty(env.db(), REPO.id, n))!;
    return { bounty: b, pledges: await listPledges(env.db(), b.id), awards: await listAwards(env.db(), b.id) };
  }

  const claimsOf = (n: number) =>
    env.db().query<{ pr_number: number; state: string; recipients: unknown }>(
      "SELECT pr_number, state, recipients FROM claims WHERE repo_id = $1 AND issue_number = $2 ORDER BY id",
      [REPO.id, n],
    );

  /** The payout runner's part, done by hand: the issue's awards are priced and on the balance. */
  async function credit(n: number, sats = 8333): Promise<void> {
    await env.db().query("UPDATE awards SET state = 'credited', sats = $2, priced_at = now() WHERE bounty_id = $1 AND state = 'held'", [
      (await bountyOf(n)).bounty.id,
      sats,
    ]);
  }

  return {
    config,
    expectCardEdit,
    captureReplies,
    fundedIssue,
    recordCardEdits,
    recordComments,
    linkWallet,
    land,
    merge,
    close,
    comment,
    bountyOf,
    claimsOf,
    credit,
    newIssue: () => nextIssue++,
    newPull: () => nextPull++,
  };
}

export { failedDeliveries } from "./harness.js";
