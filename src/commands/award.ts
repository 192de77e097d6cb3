import { parseAward } from "../claims/award.js";
import { formatAmount } from "../core/money.js";
import { listAnd } from "../core/words.js";
import type { GitHubUser } from "../github/client.js";
import { formatShare, formatUtc } from "../github/card.js";
import { awardByCommand, type Award, type Recipient } from "../store/awards.js";
import { findBounty, lockBountyById, type Bounty } from "../store/bounties.js";
import type { Command, CommandContext, HelpEntry, Outcome, Step } from "./types.js";

export const awardHelp: HelpEntry[] = [
  {
    usage: "/award @user [@user2 …]",
    description:
      "Awards this issue's bounty to the people named: in equal shares, or with a percentage after each name " +
      "(summing to 100). For work that landed without `Fixes #<issue>`, or to split the bounty. It replaces an " +
      "award still in its hold, but not one already credited or paid. Nobody can award themselves; a share for " +
      "someone who pledged on the bounty waits for an operator's approval. Nothing is paid before the issue is " +
      "closed as completed.",
    whoCanUse: "Funders: people with write access to the repository, and those the config names",
    examples: ["/award @alice", "/award @alice @bob", "/award @alice 70 @bob 30"],
  },
];

function describe(awards: Award[]): string {
  return listAnd(
    awards.map((a) => `@${a.recipientLogin} (${formatShare(a.shareBps)}, ${a.amounts.map(formatAmount).join(" + ")})`),
  );
}

/** Every named login as a GitHub user, or the reply that says which one is not (or is the author). */
async function resolve(ctx: CommandContext, logins: string[]): Promise<GitHubUser[] | Outcome> {
  const users: GitHubUser[] = [];
  for (const login of logins) {
    const user = await ctx.user(login);
    if (!user) return { reply: `@${login} is not a GitHub user, so I awarded nothing.` };
    // By numeric id: a login of another case, or one renamed since, is still the author.
    if (user.id === ctx.author.id) return { reply: "you cannot award a bounty to yourself, not even a share of it, so I awarded nothing." };
    if (user.type !== "User") return { reply: `@${user.login} is not a person's account (${user.type}) and cannot receive a bounty, so I awarded nothing.` };
    if (users.some((u) => u.id === user.id)) return { reply: `@${login} and @${users.find((u) => u.id === user.id)!.login} are the same account.` };
    users.push(user);
  }
  return users;
}

/** When the awards can be paid: after the hold, once the issue is closed as completed, shares held for an operator. */
function whenPaid(awards: Award[], bounty: Bounty): string {
  if (!awards[0]) return "";
  const hold = formatUtc(awards[0].holdUntil);
  const when =
    bounty.issueState === "completed"
      ? ` It is paid after ${hold}.`
      : ` Nothing is paid until this issue is closed as completed (and not before ${hold}).`;
  const held = awards.filter((a) => a.approval === "needed");
  const approval = held.length
    ? ` ${listAnd(held.map((a) => `@${a.recipientLogin}'s share`))} ${held.length > 1 ? "are" : "is"} held for an operator's ` +
      `approval: ${listAnd(held.map((a) => a.approvalReason ?? "self-dealing"))}.`
    : "";
  return `${when}${approval}`;
}

function awardStep(ctx: CommandContext, recipients: Recipient[]): Step {
  const cause = { actor: ctx.author, deliveryId: ctx.deliveryId };
  return async (tx) => {
    const existing = await findBounty(tx, ctx.issue.repoId, ctx.issue.number);
    if (!existing) return { reply: "this issue has no bounty, so there is nothing to award." };
    const bounty = await lockBountyById(tx, existing.id);
    const r = await awardByCommand(tx, bounty, recipients, ctx.config.payout, `replaced by /award from @${ctx.author.login}`, cause);
    if (!r.ok && r.why === "nothing") return { reply: "this issue's bounty has no open pledges, so there is nothing to award." };
    if (!r.ok) {
      return {
        reply:
          `this bounty's award to ${listAnd(r.awards.map((a) => `@${a.recipientLogin}`))} is already credited or paid, ` +
          "so it can no longer be changed.",
      };
    }
    const replaced = r.replaced.length ? ` This replaces the award to ${listAnd(r.replaced.map((a) => `@${a.recipientLogin}`))}.` : "";
    return { reply: `awarded to ${describe(r.awards)}.${replaced}${whenPaid(r.awards, bounty)}`, bountyId: bounty.id };
  };
}

export const award: Command = {
  names: ["award"],
  help: awardHelp,
  async run(line, ctx) {
    const args = line.args.trim();
    if (args.toLowerCase() === "help") return { help: true };
    if (ctx.issue.isPullRequest) {
      return { reply: "bounties live on issues, not on pull requests. Use `/award` on the issue this pull request fixes." };
    }
    const parsed = parseAward(args);
    if (!parsed.ok) return { reply: `${parsed.error}. Try: \`/award @alice\` or \`/award @alice 70 @bob 30\`` };
    const may = await ctx.mayFund();
    if (!may.ok) return { reply: `only ${may.who} may award a bounty here.` };
    const users = await resolve(ctx, parsed.shares.map((s) => s.login));
    if (!Array.isArray(users)) return users;
    return awardStep(
      ctx,
      parsed.shares.map((s, i) => ({ id: users[i]!.id, login: users[i]!.login, bps: s.basisPoints })),
    );
  },
};
