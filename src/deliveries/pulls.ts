import type { Logger } from "pino";
import { pullRef, type Closer } from "../claims/closer.js";
import { revertOf, type RevertTarget } from "../claims/revert.js";
import type { ConfigResult } from "../config/schema.js";
import type { ClosingIssue, GitHubUser, RepoGitHub } from "../github/client.js";
import { closerOf, issuesClosedBy } from "../github/closing.js";
import { coAuthorUsers, sharesFor } from "../github/recipients.js";
import { listAnd } from "../core/words.js";
import {
  claimsByTitle,
  claimsOfPull,
  recordClaim,
  revertClaim,
  type Award,
  type Claim,
} from "../store/awards.js";
import { findBounty, hasOpenPledges, lockBountyById, type Cause } from "../store/bounties.js";
import { queueReply } from "../store/outbox.js";
import type { Queryable } from "../store/db.js";
import { awardWinningClaim } from "./claims.js";
import { loadRepoConfig } from "./config.js";
import type { Apply, Deps } from "./types.js";

/** The parts of GitHub's pull_request.closed payload that bounty-bot reads. */
interface PullPayload {
  action: string;
  installation?: { id: number };
  repository: { id: number; name: string; owner: { login: string }; default_branch?: string };
  pull_request: {
    number: number;
    title: string;
    body: string | null;
    merged?: boolean;
    merged_at: string | null;
    merge_commit_sha: string | null;
    user: { id: number; login: string; type: string };
    base: { ref: string };
  };
  sender: { id: number; login: string };
}

interface Here {
  installationId: number;
  owner: string;
  repo: string;
  repoId: number;
}

/**
 * pull_request.closed, merged: a revert (into the default branch) cancels the reverted PR's
 * awards still in their hold; any other PR claims the issues it closes (for its author, and
 * co-authors if the issue's repository says so), and an issue already closed as completed is
 * awarded at once to the claim that wins it (GitHub is asked what closed it; see chooseClaim).
 */
export async function onPullRequestClosed(deliveryId: string, payload: unknown, deps: Deps): Promise<Apply | null> {
  const p = payload as PullPayload;
  const pr = p.pull_request;
  if (p.action !== "closed" || !p.installation || !pr || !pr.merged) return null;
  const here: Here = {
    installationId: p.installation.id,
    owner: p.repository.owner.login,
    repo: p.repository.name,
    repoId: p.repository.id,
  };
  const log = deps.log.child({ delivery: deliveryId, pr: `${here.owner}/${here.repo}#${pr.number}` });
  const cause: Cause = { actor: { id: p.sender.id, login: p.sender.login }, deliveryId };

  const defaultBranch = p.repository.default_branch ?? null;
  const intoDefault = defaultBranch === null || pr.base?.ref === defaultBranch;
  const revert = intoDefault ? revertOf({ title: pr.title ?? "", body: pr.body }, here) : null;
  if (revert) return planRevert(revert, pr.number, here, cause, log);

  const gh = await deps.github(here.installationId, here.owner, here.repo);
  const repoOf = async (owner: string, repo: string): Promise<RepoGitHub> =>
    owner.toLowerCase() === here.owner.toLowerCase() && repo.toLowerCase() === here.repo.toLowerCase()
      ? gh
      : deps.github(here.installationId, owner, repo);
  const issues = await issuesClosedBy(
    gh,
    { number: pr.number, body: pr.body, baseRef: pr.base?.ref ?? "" },
    { ...here, defaultBranch },
    repoOf,
    log,
  );
  if (issues.length === 0) return null;

  // The issue's repository decides how its bounty is shared and held.
  const configs = new Map<number, ConfigResult>();
  for (const issue of issues) {
    if (!configs.has(issue.repoId)) configs.set(issue.repoId, await loadRepoConfig(await repoOf(issue.owner, issue.repo), deps));
  }
  const wantCoauthors = [...configs.values()].some((c) => c.ok && c.config.claim.coauthors);
  const coauthors: GitHubUser[] = wantCoauthors ? await coAuthorUsers(gh, pr.number, log) : [];
  const author: GitHubUser = { id: pr.user.id, login: pr.user.login, type: pr.user.type };
  const prRef = { repoId: here.repoId, owner: here.owner, repo: here.repo, number: pr.number };
  // What closed each issue already closed as completed with something to award, asked before the transaction.
  const closers = new Map<string, Closer>();
  const key = (i: ClosingIssue) => `${i.repoId}#${i.number}`;
  for (const issue of issues) {
    const known = await findBounty(deps.db, issue.repoId, issue.number);
    if (known?.issueState === "completed" && (await hasOpenPledges(deps.db, known.id))) {
      closers.set(key(issue), await closerOf(await repoOf(issue.owner, issue.repo), issue.number, log));
    }
  }

  return async (tx) => {
    const bountyIds: bigint[] = [];
    for (const issue of issues) {
      const config = configs.get(issue.repoId)!;
      const recipients = config.ok ? sharesFor(author, config.config.claim.coauthors ? coauthors : []) : [];
      if (!config.ok || recipients.length === 0) {
        await explainNoClaim(tx, issue, config, author, pullRef(issue.repoId, prRef), here, pr.number);
        continue;
      }
      await recordClaim(
        tx,
        {
          installationId: here.installationId,
          repoId: issue.repoId,
          issueNumber: issue.number,
          prRepoId: here.repoId,
          prOwner: here.owner,
          prRepo: here.repo,
          prNumber: pr.number,
          prTitle: pr.title ?? "",
          mergeSha: pr.merge_commit_sha ?? null,
          mergedAt: new Date(pr.merged_at ?? Date.now()),
          recipients,
        },
        deliveryId,
      );
      const existing = await findBounty(tx, issue.repoId, issue.number);
      if (!existing) continue;
      const bounty = await lockBountyById(tx, existing.id);
      if (bounty.issueState !== "completed" || !(await hasOpenPledges(tx, bounty.id))) continue;
      const closer = closers.get(key(issue));
      // Closed (or funded) since the look above: go round again, asking GitHub what closed it.
      if (closer === undefined) throw new Error("the issue was closed while this delivery was prepared; retrying");
      const { changed } = await awardWinningClaim(tx, bounty, config.config.payout, closer, cause);
      if (changed) bountyIds.push(bounty.id);
    }
    return { bountyIds };
  };
}

/** No claim could be recorded: where a bounty waits on the issue, say why and what to do. */
async function explainNoClaim(
  tx: Queryable,
  issue: ClosingIssue,
  config: ConfigResult,
  author: GitHubUser,
  prRef: string,
  here: Here,
  prNumber: number,
): Promise<void> {
  const bounty = await findBounty(tx, issue.repoId, issue.number);
  if (!bounty || !(await hasOpenPledges(tx, bounty.id))) return;
  const where = { installationId: here.installationId, owner: issue.owner, repo: issue.repo, issueNumber: issue.number };
  const key = `no-claim:${issue.repoId}:${issue.number}:${here.repoId}:${prNumber}`;
  const body = !config.ok
    ? [
        `${prRef} by @${author.login} was merged and closes this issue, but this repository's ` +
          "`.github/bounties.yml` is invalid, so I recorded no claim on the bounty. Please fix:",
        "",
        ...config.errors.map((e) => `- ${e}`),
        "",
        "Then a funder can award the bounty with `/award @login`.",
      ].join("\n")
    : `${prRef} was merged and closes this issue, but its author @${author.login} is a bot, and bots do not ` +
      "receive bounties. A funder can award the bounty with `/award @login`.";
  await queueReply(tx, key, where, body);
}

/** Why the card says an award was cancelled. */
function revertReasons(claim: Claim, here: Here, revertNumber: number, awards: Award[]) {
  const reverted = pullRef(claim.repoId, { repoId: claim.prRepoId, owner: claim.prOwner, repo: claim.prRepo, number: claim.prNumber });
  const by = pullRef(claim.repoId, { ...here, number: revertNumber });
  const award = `${reverted} was reverted by ${by}`;
  const who = listAnd(awards.map((a) => `@${a.recipientLogin}`));
  return { award, status: `award to ${who} cancelled: ${award}` };
}

/** What happened to an award past its hold, in words. */
function lateState(a: Award): string {
  if (a.payoutId !== null) return `the award to @${a.recipientLogin} is already in a payout`;
  if (a.state === "credited") return `the award to @${a.recipientLogin} is already credited to their balance`;
  return `the award to @${a.recipientLogin} is past its hold and may be credited at any moment`;
}

function planRevert(target: RevertTarget, revertNumber: number, here: Here, cause: Cause, log: Logger): Apply | null {
  if (target.kind === "pr" && target.owner.toLowerCase() !== here.owner.toLowerCase()) {
    log.info({ reverts: `${target.owner}/${target.repo}#${target.number}` }, "a revert of another account's PR; ignored");
    return null;
  }
  return async (tx) => {
    let claims = target.kind === "pr" ? await claimsOfPull(tx, target) : await claimsByTitle(tx, here.repoId, target.title);
    if (target.kind === "title") {
      claims = claims.filter((c) => c.prNumber !== revertNumber);
      const prs = new Set(claims.map((c) => c.prNumber));
      if (prs.size !== 1) {
        if (prs.size > 1) log.warn({ title: target.title, prs: [...prs] }, "a revert names no PR and its title matches several; nothing cancelled");
        return { bountyIds: [] };
      }
    }
    const bountyIds: bigint[] = [];
    for (const claim of claims) {
      const outcome = await revertClaim(tx, claim, (awards) => revertReasons(claim, here, revertNumber, awards), cause);
      if (outcome.kind === "cancelled") bountyIds.push(outcome.bounty.id);
      if (outcome.kind === "late") {
        const { bounty, awards } = outcome;
        const why = revertReasons(claim, here, revertNumber, awards).award;
        await queueReply(
          tx,
          `revert-late:${claim.id}:${here.repoId}:${revertNumber}`,
          { installationId: bounty.installationId, owner: bounty.owner, repo: bounty.repo, issueNumber: bounty.issueNumber },
          `${why}, but ${listAnd(awards.map(lateState))}, so I did not cancel it: the money may already be out. ` +
            "A maintainer may need to act.",
        );
      }
    }
    return { bountyIds };
  };
}
