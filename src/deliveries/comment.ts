import { extractCommands } from "../core/commands.js";
import { findCommand, helpTable } from "../commands/index.js";
import type { CommandContext, FundCheck, Outcome, Step } from "../commands/types.js";
import { mayFund } from "../github/funders.js";
import { queueReaction, queueReply } from "../store/outbox.js";
import { pledgeTerms } from "./budgets.js";
import { configErrorReply, loadRepoConfig } from "./config.js";
import { replyTo } from "./reply.js";
import type { Apply, Deps } from "./types.js";

/** The parts of GitHub's issue_comment.created payload that bounty-bot reads. */
interface CommentPayload {
  action: string;
  installation?: { id: number };
  repository: { id: number; name: string; owner: { login: string } };
  issue: { number: number; title: string; state: string; body?: string | null; pull_request?: unknown };
  comment: { id: number; body: string | null; user: { id: number; login: string; type: string } };
}

/**
 * Commands run per comment; the rest are answered only by a count. Each command may read GitHub
 * (a permission, every user an /award names), so a comment of hundreds must not become hundreds
 * of API calls; real comments hold a handful.
 */
export const MAX_COMMANDS_PER_COMMENT = 20;

/** issue_comment.created: run each bounty-bot command in the comment. Others (Prow's) are ignored. */
export async function onIssueComment(deliveryId: string, payload: unknown, deps: Deps): Promise<Apply | null> {
  const p = payload as CommentPayload;
  if (p.action !== "created" || !p.installation || !p.comment || !p.issue || !p.repository) return null;
  if (p.comment.user.type === "Bot") return null;
  const found = extractCommands(p.comment.body).filter((c) => findCommand(c.name));
  if (found.length === 0) return null;
  const lines = found.slice(0, MAX_COMMANDS_PER_COMMENT);
  const notRun = found.length - lines.length;

  const owner = p.repository.owner.login;
  const repo = p.repository.name;
  const author = { id: p.comment.user.id, login: p.comment.user.login };
  const where = { installationId: p.installation.id, owner, repo, issueNumber: p.issue.number };
  const gh = await deps.github(p.installation.id, owner, repo);
  const config = await loadRepoConfig(gh, deps);
  if (!config.ok) {
    const body = replyTo(author.login, [{ line: lines.map((l) => l.line).join(" "), message: configErrorReply(config.errors) }]);
    return async (tx) => {
      await queueReply(tx, `reply:${deliveryId}`, where, body);
      return { bountyIds: [] };
    };
  }

  let funding: Promise<FundCheck> | undefined;
  const ctx: CommandContext = {
    deliveryId,
    issue: {
      installationId: p.installation.id,
      repoId: p.repository.id,
      owner,
      repo,
      number: p.issue.number,
      title: p.issue.title ?? "",
      isPullRequest: Boolean(p.issue.pull_request),
      state: p.issue.state,
      body: p.issue.body ?? "",
    },
    commentId: p.comment.id,
    author,
    config: config.config,
    network: deps.network,
    publicUrl: deps.publicUrl,
    mayFund: () => (funding ??= mayFund(gh, config.config, author.login)),
    user: (login) => gh.user(login),
    teamMembers: (org, slug) => gh.teamMembers(org, slug),
    pledgeTerms: (amount) => pledgeTerms(deps, config.config, owner, author.id, amount),
    prices: deps.prices,
    deposits: deps.deposits,
    depositConfirmations: deps.depositConfirmations,
    withdrawals: deps.withdrawals,
  };

  // Every GitHub read happens here, before the transaction; the steps only touch the database.
  const planned: Array<{ name: string; line: string; result: Outcome | Step }> = [];
  for (const line of lines) {
    planned.push({ name: findCommand(line.name)!.names[0]!, line: line.line, result: await findCommand(line.name)!.run(line, ctx) });
  }

  return async (tx) => {
    const replies: Array<{ line: string; message: string }> = [];
    let react = false;
    let help = false;
    const bountyIds: bigint[] = [];
    // For /metrics: a command that changed something or got a 👍 is "ok"; one answered with a reply only was refused or informational.
    const commands: Array<{ name: string; outcome: string }> = [];
    for (const { name, line, result } of planned) {
      const outcome = typeof result === "function" ? await result(tx) : result;
      commands.push({ name, outcome: outcome.help ? "help" : outcome.react || outcome.bountyId !== undefined ? "ok" : "replied" });
      if (outcome.reply) replies.push({ line, message: outcome.reply });
      if (outcome.help && !help) {
        help = true;
        replies.push({ line, message: helpTable() });
      }
      if (outcome.react) react = true;
      if (outcome.bountyId !== undefined) bountyIds.push(outcome.bountyId);
    }
    if (replies.length || notRun) await queueReply(tx, `reply:${deliveryId}`, where, replyTo(author.login, replies, notRun));
    if (react) await queueReaction(tx, `react:${deliveryId}`, { ...where, commentId: p.comment.id }, "+1");
    return { bountyIds, commands };
  };
}
