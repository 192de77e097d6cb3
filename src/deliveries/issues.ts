import type { ConfigResult } from "../config/schema.js";
import type { Closer } from "../claims/closer.js";
import { closerOf } from "../github/closing.js";
import { mayFund } from "../github/funders.js";
import { cancelHeldAwards, clearWaitStatus, dropPendingClaims, pendingClaims, recordOpening } from "../store/awards.js";
import {
  cancelOpenPledges,
  findBounty,
  hasOpenPledges,
  labelFunder,
  lockBounty,
  lockBountyById,
  pledge,
  setIssueState,
  withdraw,
  type IssueRef,
} from "../store/bounties.js";
import { queueReply } from "../store/outbox.js";
import { awardWinningClaim } from "./claims.js";
import { overBudgetMessage } from "../core/budget.js";
import type { Queryable } from "../store/db.js";
import { pledgeTerms } from "./budgets.js";
import { configErrorReply, loadRepoConfig } from "./config.js";
import type { Apply, Deps } from "./types.js";

/** The parts of GitHub's issues.* payloads that bounty-bot reads. */
interface IssuesPayload {
  action: string;
  installation?: { id: number };
  repository: { id: number; name: string; owner: { login: string } };
  issue: {
    number: number;
    title: string;
    state: string;
    state_reason?: string | null;
    pull_request?: unknown;
    /** On issues.reopened, when it was reopened. */
    updated_at?: string;
  };
  label?: { name: string };
  sender: { id: number; login: string; type: string };
}

function issueRef(p: IssuesPayload): IssueRef {
  return {
    installationId: p.installation!.id,
    repoId: p.repository.id,
    owner: p.repository.owner.login,
    repo: p.repository.name,
    number: p.issue.number,
    title: p.issue.title ?? "",
  };
}

/** issues.closed: how it was closed decides what happens to the bounty. */
export async function onIssueClosed(deliveryId: string, payload: unknown, deps: Deps): Promise<Apply | null> {
  const p = payload as IssuesPayload;
  if (p.action !== "closed" || !p.installation || p.issue.pull_request) return null;
  if (p.issue.state_reason === "not_planned") return closedNotPlanned(deliveryId, p);
  if (p.issue.state_reason === "completed") return closedCompleted(deliveryId, p, deps);
  return null;
}

/**
 * Closed as not planned: every open pledge is cancelled and the card says so, and the merged PRs'
 * pending claims are dropped. No award, ever, from this close.
 */
function closedNotPlanned(deliveryId: string, p: IssuesPayload): Apply {
  const issue = issueRef(p);
  return async (tx) => {
    const cause = { actor: { id: p.sender.id, login: p.sender.login }, deliveryId };
    const existing = await setIssueState(tx, issue.repoId, issue.number, "not_planned");
    const where = { repoId: issue.repoId, issueNumber: issue.number, bountyId: existing?.id ?? null };
    await dropPendingClaims(tx, where, null, "the issue was closed as not planned", cause);
    if (!existing) return { bountyIds: [] };
    const bounty = await lockBounty(tx, issue, existing.labelName);
    const n = await cancelOpenPledges(tx, bounty, "the issue was closed as not planned", cause);
    // An award not yet credited (e.g. a /award on the open issue) could never be paid now.
    const awards = await cancelHeldAwards(tx, bounty, "the issue was closed as not planned", cause);
    return { bountyIds: n > 0 || awards.length > 0 ? [bounty.id] : [] };
  };
}

/**
 * Closed as completed: remembered on the bounty, and if merged PRs already claim the issue (their
 * pull_request webhooks came first), the bounty is awarded now to the claim that wins it: GitHub
 * is asked what closed the issue (see chooseClaim).
 */
async function closedCompleted(deliveryId: string, p: IssuesPayload, deps: Deps): Promise<Apply> {
  const issue = issueRef(p);
  const cause = { actor: { id: p.sender.id, login: p.sender.login }, deliveryId };
  // The config (hold, unclaimed charity) and the closer are read only when there is something to award.
  let config: ConfigResult | null = null;
  let closer: Closer | null = null;
  const known = await findBounty(deps.db, issue.repoId, issue.number);
  if (
    known &&
    (await hasOpenPledges(deps.db, known.id)) &&
    (await pendingClaims(deps.db, issue.repoId, issue.number)).length > 0
  ) {
    const gh = await deps.github(issue.installationId, issue.owner, issue.repo);
    config = await loadRepoConfig(gh, deps);
    closer = await closerOf(gh, issue.number, deps.log.child({ delivery: deliveryId }));
  }
  return async (tx) => {
    const existing = await setIssueState(tx, issue.repoId, issue.number, "completed");
    if (!existing) return { bountyIds: [] };
    const bounty = await lockBountyById(tx, existing.id);
    const awardable =
      (await hasOpenPledges(tx, bounty.id)) && (await pendingClaims(tx, issue.repoId, issue.number)).length > 0;
    if (!awardable) return { bountyIds: [] };
    // A claim recorded since the look above: go round again, with the config read.
    if (config === null || closer === null) throw new Error("a claim arrived while this delivery was prepared; retrying");
    if (!config.ok) {
      await queueReply(
        tx,
        `config-error:${issue.repoId}:${issue.number}:${config.errors.join("|")}`,
        { installationId: issue.installationId, owner: issue.owner, repo: issue.repo, issueNumber: issue.number },
        [
          "a merged pull request claims this issue's bounty, but this repository's `.github/bounties.yml` is " +
            "invalid, so I did not award it. Please fix:",
          "",
          ...config.errors.map((e) => `- ${e}`),
          "",
          "Then a funder can award the bounty with `/award @login`.",
        ].join("\n"),
      );
      return { bountyIds: [] };
    }
    const { changed } = await awardWinningClaim(tx, bounty, config.config.payout, closer, cause);
    return { bountyIds: changed ? [bounty.id] : [] };
  };
}

/**
 * issues.reopened: the issue is open again, so a later merged PR's claim waits for it to be
 * closed, and the claims of PRs merged before the reopening are dropped: they did not close it
 * this time. The reopening's time is GitHub's (the payload's updated_at), so a claim whose
 * webhook comes after this one is still judged by when its PR was merged.
 */
export async function onIssueReopened(deliveryId: string, payload: unknown): Promise<Apply | null> {
  const p = payload as IssuesPayload;
  if (p.action !== "reopened" || !p.installation || p.issue.pull_request) return null;
  const stated = p.issue.updated_at ? new Date(p.issue.updated_at) : null;
  const at = stated && !Number.isNaN(stated.getTime()) ? stated : new Date();
  const cause = { actor: { id: p.sender.id, login: p.sender.login }, deliveryId };
  return async (tx) => {
    const existing = await setIssueState(tx, p.repository.id, p.issue.number, "open");
    const openedAt = await recordOpening(tx, p.repository.id, p.issue.number, at);
    const where = { repoId: p.repository.id, issueNumber: p.issue.number, bountyId: existing?.id ?? null };
    await dropPendingClaims(tx, where, openedAt, "the issue was reopened after the pull request was merged", cause);
    const cleared = existing !== null && (await clearWaitStatus(tx, await lockBountyById(tx, existing.id), cause));
    return { bountyIds: cleared ? [existing.id] : [] };
  };
}

/**
 * issues.labeled / unlabeled with a `labels.auto` label: the app itself pledges the label's amount,
 * but only when whoever added the label may fund (or is a trusted sender such as Prow's bot).
 */
export async function onIssueLabel(deliveryId: string, payload: unknown, deps: Deps): Promise<Apply | null> {
  const p = payload as IssuesPayload;
  if ((p.action !== "labeled" && p.action !== "unlabeled") || !p.installation || !p.label) return null;
  if (p.issue.pull_request) return null;
  const issue = issueRef(p);
  const gh = await deps.github(issue.installationId, issue.owner, issue.repo);
  const config = await loadRepoConfig(gh, deps);
  const where = { installationId: issue.installationId, owner: issue.owner, repo: issue.repo, issueNumber: issue.number };
  if (!config.ok) {
    // Only labels could be ours; say so once per issue and config content, not on every label.
    return async (tx) => {
      await queueReply(
        tx,
        `config-error:${issue.repoId}:${issue.number}:${config.errors.join("|")}`,
        where,
        configErrorReply(config.errors),
      );
      return { bountyIds: [] };
    };
  }
  const labelName = p.label.name;
  const auto = config.config.labels.auto.find((a) => a.label.toLowerCase() === labelName.toLowerCase());
  if (!auto) return null;
  const funder = labelFunder(auto.label, deps.appLogin);
  const cause = { actor: { id: p.sender.id, login: p.sender.login }, deliveryId };

  if (p.action === "unlabeled") {
    return async (tx) => {
      const existing = await findBounty(tx, issue.repoId, issue.number);
      if (!existing) return { bountyIds: [] };
      const bounty = await lockBounty(tx, issue, existing.labelName);
      const withdrawn = await withdraw(tx, bounty, funder.key, cause);
      return { bountyIds: withdrawn ? [bounty.id] : [] };
    };
  }

  if (p.issue.state !== "open") return null;
  const sender = p.sender.login.toLowerCase();
  const trusted = config.config.labels.trustedSenders.includes(sender);
  const check = trusted ? { ok: true as const } : await mayFund(gh, config.config, p.sender.login);
  if (!check.ok) {
    return async (tx) => {
      await queueReply(
        tx,
        `reply:${deliveryId}`,
        where,
        `@${p.sender.login}: the label \`${labelName}\` adds a bounty only when ${check.who} add it ` +
          "(or a sender listed in `labels.trusted_senders`), so I recorded no pledge.",
      );
      return { bountyIds: [] };
    };
  }
  // The pledge counts against whoever added the label; a trusted bot's label against the account budget alone.
  const charged = trusted && p.sender.type === "Bot" ? null : p.sender.id;
  const terms = await pledgeTerms(deps, config.config, issue.owner, charged, auto.amount);
  const refuse = (tx: Queryable, why: string) => queueReply(tx, `reply:${deliveryId}`, where, `@${p.sender.login}: the label \`${labelName}\` adds a bounty, but ${why}`);
  if (!terms.ok) {
    return async (tx) => {
      await refuse(tx, terms.reply);
      return { bountyIds: [] };
    };
  }
  return async (tx) => {
    const bounty = await lockBounty(tx, issue, config.config.labels.bounty);
    if (bounty.status !== "open" && bounty.status !== "cancelled") return { bountyIds: [] };
    const done = await pledge(tx, bounty, funder, auto.amount, cause, terms.terms);
    if (done.over) {
      const whose = done.over.kind === "funder" ? "your" : `${issue.owner}'s`;
      await refuse(tx, overBudgetMessage(done.over, whose, auto.amount));
      return { bountyIds: [] };
    }
    return { bountyIds: [bounty.id] };
  };
}
