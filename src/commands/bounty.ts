import { overBudgetMessage } from "../core/budget.js";
import { compareAmounts, formatAmount, formatAmountInput, parseAmount } from "../core/money.js";
import { findBounty, lockBounty, pledge, userFunder, withdraw } from "../store/bounties.js";
import type { Command, CommandContext, HelpEntry, Outcome, Step } from "./types.js";

export const bountyHelp: HelpEntry[] = [
  {
    usage: "/bounty <amount>",
    description:
      "Pledges a bounty on this issue, paid in bitcoin to whoever fixes it. Amounts: `5usd`, `$5`, `5.50eur`, `£5`, " +
      "`25000sats`, `0.0005btc`; a bare number is in the repository's currency. A second pledge replaces your first. " +
      "A pledge over your `funders.budget` or the account's budget is refused with what is left.",
    whoCanUse: "Funders: people with write access to the repository, and those the config names",
    examples: ["/bounty 50usd", "/bounty €20", "/bounty 25000sats"],
  },
  {
    usage: "/bounty cancel",
    description: "Withdraws your own pledge on this issue (not once it is awarded).",
    whoCanUse: "Anyone with a pledge on the issue",
    examples: ["/bounty cancel"],
  },
];

const AWARDED = new Set(["awarded", "paid", "confirmed"]);

async function cancel(ctx: CommandContext): Promise<Step> {
  return async (tx) => {
    const existing = await findBounty(tx, ctx.issue.repoId, ctx.issue.number);
    if (!existing) return { reply: "you have no pledge on this issue, so there is nothing to cancel." };
    const bounty = await lockBounty(tx, ctx.issue, ctx.config.labels.bounty);
    if (AWARDED.has(bounty.status)) {
      return { reply: `this bounty is already ${bounty.status}; pledges can no longer be withdrawn.` };
    }
    const withdrawn = await withdraw(tx, bounty, userFunder(ctx.author).key, {
      actor: ctx.author,
      deliveryId: ctx.deliveryId,
    });
    if (!withdrawn) return { reply: "you have no open pledge on this issue, so there is nothing to cancel." };
    return { bountyId: bounty.id };
  };
}

async function pledgeAmount(text: string, ctx: CommandContext): Promise<Outcome | Step> {
  const parsed = parseAmount(text, ctx.config.currency);
  if (!parsed.ok) return { reply: parsed.error };
  const amount = parsed.value;
  const max = ctx.config.maxBounty.find((m) => m.currency === amount.currency);
  if (!max) {
    const accepted = ctx.config.maxBounty.map((m) => m.currency).join(", ");
    return {
      reply:
        `this repository does not take bounties in ${amount.currency}; it takes ${accepted} (\`max_bounty\` in ` +
        `.github/bounties.yml). Try: \`/bounty ${formatAmountInput(ctx.config.maxBounty[0]!)}\``,
    };
  }
  if (compareAmounts(amount, max) > 0) {
    return {
      reply:
        `${formatAmount(amount)} is more than this repository's maximum bounty of ${formatAmount(max)}. ` +
        `Try: \`/bounty ${formatAmountInput(max)}\``,
    };
  }
  const may = await ctx.mayFund();
  if (!may.ok) return { reply: `only ${may.who} may put a bounty on an issue here.` };
  const terms = await ctx.pledgeTerms(amount);
  if (!terms.ok) return { reply: terms.reply };
  return async (tx) => {
    const bounty = await lockBounty(tx, ctx.issue, ctx.config.labels.bounty);
    if (AWARDED.has(bounty.status)) {
      return { reply: `this bounty is already ${bounty.status}; it takes no new pledges.` };
    }
    const cause = { actor: ctx.author, deliveryId: ctx.deliveryId };
    const done = await pledge(tx, bounty, userFunder(ctx.author), amount, cause, terms.terms);
    if (done.over) {
      const whose = done.over.kind === "funder" ? "your" : `${ctx.issue.owner}'s`;
      return { reply: overBudgetMessage(done.over, whose, amount, "/bounty") };
    }
    return { bountyId: bounty.id };
  };
}

export const bounty: Command = {
  names: ["bounty"],
  help: bountyHelp,
  async run(line, ctx) {
    const args = line.args.trim();
    const sub = args.toLowerCase();
    if (sub === "" || sub === "help") return { help: true };
    if (ctx.issue.isPullRequest) {
      return {
        reply:
          "bounties live on issues, not on pull requests. Put the bounty on the issue this pull request fixes; " +
          "merging a PR that says `Fixes #<issue>` claims it.",
      };
    }
    if (ctx.issue.state !== "open") return { reply: "this issue is closed; bounties go on open issues." };
    if (sub === "cancel") return cancel(ctx);
    return pledgeAmount(args, ctx);
  },
};
