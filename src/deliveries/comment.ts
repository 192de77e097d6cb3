import { extractCommands } from "../core/commands.js";
import { threadComment } from "../core/threadComment.js";
import { discussionCommandNames, findCommand, helpTable } from "../commands/index.js";
import type { CommandContext, FundCheck, Outcome, Step } from "../commands/types.js";
import { mayFund } from "../github/funders.js";
import { queueReaction, queueReply } from "../store/outbox.js";
import { pledgeTerms } from "./budgets.js";
import { configErrorReply, loadRepoConfig } from "./config.js";
import { replyTo } from "./reply.js";
import type { Apply, Deps } from "./types.js";

/**
 * Commands run per comment; the rest are answered only by a count. Each command may read GitHub
 * (a permission, every user an /award names), so a comment of hundreds must not become hundreds
 * of API calls; real comments hold a handful.
 */
export const MAX_COMMANDS_PER_COMMENT = 20;

/**
 * issue_comment.created and discussion_comment.created: run each bounty-bot command in the
 * comment. Others (Prow's) are ignored. In a Discussion only the commands marked `inDiscussions`
 * run; the others are answered with where they work.
 */
export async function onComment(deliveryId: string, event: string, payload: unknown, deps: Deps): Promise<Apply | null> {
  const e = threadComment(event, payload);
  if (!e || e.accepted) return null;
  if (e.comment.user.type === "Bot") return null;
  const found = extractCommands(e.comment.body).filter((c) => findCommand(c.name));
  if (found.length === 0) return null;
  const lines = found.slice(0, MAX_COMMANDS_PER_COMMENT);
  const notRun = found.length - lines.length;

  const owner = e.repository.owner;
  const repo = e.repository.name;
  const author = { id: e.comment.user.id, login: e.comment.user.login };
  const discussionId = e.thread.discussionId;
  const where = { installationId: e.installationId, owner, repo, issueNumber: e.thread.number, discussionId };
  const gh = await deps.github(e.installationId, owner, repo);
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
      installationId: e.installationId,
      repoId: e.repository.id,
      owner,
      repo,
      number: e.thread.number,
      title: e.thread.title,
      isPullRequest: e.thread.isPullRequest,
      state: e.thread.state,
      body: e.thread.body,
      discussionId,
      ownerType: e.repository.ownerType,
    },
    commentId: e.comment.id,
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
    const command = findCommand(line.name)!;
    const result = discussionId !== null && !command.inDiscussions ? { reply: notInDiscussions(line.name) } : await command.run(line, ctx);
    planned.push({ name: command.names[0]!, line: line.line, result });
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
    if (react) await queueReaction(tx, `react:${deliveryId}`, { ...where, commentId: e.comment.id, commentNodeId: e.comment.nodeId }, "+1");
    return { bountyIds, commands };
  };
}

/** The reply to a command that works in issues only, naming those that work in a Discussion. */
export function notInDiscussions(name: string): string {
  const here = discussionCommandNames().map((n) => `\`/${n}\``).join(", ");
  return `\`/${name}\` works on issues and pull requests, not in Discussions. In a Discussion: ${here}.`;
}
