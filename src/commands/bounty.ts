import { overBudgetMessage } from "../core/budget.js";
import { compareAmounts, formatAmount, formatAmountInput, parseAmount, type Amount } from "../core/money.js";
import { missingReply } from "../ledger/escrow.js";
import { fiatToSats } from "../price/convert.js";
import { backPledge, findBounty, lockBounty, pledge, userFunder, withdraw, type Backing } from "../store/bounties.js";
import type { Command, CommandContext, HelpEntry, Outcome, Step } from "./types.js";

export const bountyHelp: HelpEntry[] = [
  {
    usage: "/bounty <amount>",
    description:
      "Pledges a bounty on this issue, paid in bitcoin to whoever fixes it. Amounts: `5usd`, `$5`, `5.50eur`, `£5`, " +
      "`25000sats`, `0.0005btc`; a bare number is in the repository's currency. A second pledge replaces your first. " +
      "A funder's pledge commits the treasury; one over your `funders.budget` or the account's budget is refused with what is left. " +
      "Anyone else's is backed by their own balance: its sats at today's median price are held from their funds (then " +
      "earnings) until it is awarded (paid to the winners) or withdrawn, cancelled or closed as not planned (given back).",
    whoCanUse: "Anyone: funders (write access to the repository, and those the config names) from the treasury, everyone else from their own balance",
    examples: ["/bounty 50usd", "/bounty €20", "/bounty 25000sats"],
  },
  {
    usage: "/bounty cancel",
    description: "Withdraws your own pledge on this issue (not once it is awarded); a backed pledge's sats go back to your balance.",
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
  if (!may.ok) return backed(ctx, amount, may.who);
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

/** Today's sats for a pledge, fixed now: a pledge in sats needs no price; fiat needs an agreeing one (fail closed). */
async function backingOf(ctx: CommandContext, amount: Amount, who: string): Promise<{ ok: true; backing: Backing } | { ok: false; reply: string }> {
  if (amount.currency === "BTC") return { ok: true, backing: { sats: amount.minor, rate: null } };
  const refuse = (why: string) => ({
    ok: false as const,
    reply:
      `only ${who} commit the treasury here, so your pledge is backed by your own balance, held in sats at today's ` +
      `${amount.currency} price, and ${why}, so I recorded nothing. Please try again later.`,
  });
  if (!ctx.prices) return refuse("this app has no price source");
  const price = await ctx.prices.price(amount.currency);
  if (!price.ok) return refuse(`there is no agreeing ${amount.currency} price right now (${price.reason})`);
  const sats = fiatToSats(amount.minor, amount.currency, price.rateText);
  if (sats <= 0n) return { ok: false, reply: `${formatAmount(amount)} is less than one sat at today's price, so I recorded nothing.` };
  return { ok: true, backing: { sats, rate: price.rateText } };
}

/** Someone who may not fund: the pledge is backed by their own balance, escrowed until it is awarded or given up. */
async function backed(ctx: CommandContext, amount: Amount, who: string): Promise<Outcome | Step> {
  const priced = await backingOf(ctx, amount, who);
  if (!priced.ok) return { reply: priced.reply };
  const { backing } = priced;
  return async (tx) => {
    const bounty = await lockBounty(tx, ctx.issue, ctx.config.labels.bounty);
    if (AWARDED.has(bounty.status)) {
      return { reply: `this bounty is already ${bounty.status}; it takes no new pledges.` };
    }
    const cause = { actor: ctx.author, deliveryId: ctx.deliveryId };
    const done = await backPledge(tx, bounty, { ...userFunder(ctx.author), id: ctx.author.id }, amount, backing, cause);
    if (!done.ok) {
      const what = backing.rate === null ? formatAmount(amount) : `${formatAmount(amount)} (${formatAmount({ currency: "BTC", minor: backing.sats })} at today's price)`;
      return {
        reply:
          `only ${who} commit the treasury here, so your pledge of ${what} is backed by your own balance: ` +
          `${missingReply(done.missing, done.available)} I recorded nothing.`,
      };
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
