/**
 * `/tip @user <amount> [reason]` and `/tip cancel @user`. GitHub (the recipient's account, the
 * tipper's permission) and the prices are read in `run`; the money moves in the returned step,
 * in the delivery's transaction: an escrow of one slot from the treasury (a funder, within
 * `funders.budget` and `tips.max_per_day`) or from the tipper's own funds then earnings, held
 * for `tips.hold` and then released to the recipient's earnings by the sweep (release.ts).
 */
import { overBudgetMessage, type Rates } from "../../core/budget.js";
import { formatAmount, type Amount } from "../../core/money.js";
import { missingReply } from "../../ledger/escrow.js";
import { escrowOf } from "../../ledger/rules.js";
import { fiatToSats } from "../../price/convert.js";
import type { Command, CommandContext, HelpEntry, Outcome, Step } from "../../commands/types.js";
import type { CommandLine } from "../../core/commands.js";
import type { PledgeTerms } from "../../store/bounties.js";
import { appendEvent } from "../../store/bounties.js";
import { chargeBudget, chargesSince, releaseCharge } from "../../store/budgets.js";
import { openEscrow, returnSlots } from "../../store/escrow.js";
import {
  findTip,
  insertTip,
  latestTipTo,
  lockTipKey,
  lockTipper,
  markCancelled,
  tipCancelledBy,
  tipKey,
  type Tip,
  type TipPayer,
} from "../../store/tips.js";
import {
  cancelledReply,
  checkDay,
  noPriceReply,
  notEnoughReply,
  nothingToCancelReply,
  overDayReply,
  parseTip,
  pastHoldReply,
  ratesForTip,
  tippedReply,
  utcDayStart,
  whoseBudget,
  whyNotTipped,
} from "./rules.js";

export const tipHelp: HelpEntry[] = [
  {
    usage: "/tip @user <amount> [reason]",
    description:
      "Tips someone, in any currency `/bounty` takes (fiat is turned into sats at today's median price, fixed then). " +
      "It is credited to their earnings after `tips.hold` (default 1h) and paid with them. A funder's tip comes from " +
      "the treasury and counts against `funders.budget` and `tips.max_per_day`; anyone else's from their own balance " +
      "(funds, then earnings). Not to yourself, a bot or an account that does not exist.",
    whoCanUse: "Anyone: funders from the treasury, everyone else from their own balance",
    examples: ["/tip @alice 5usd thanks for the review", "/tip @bob 10000sats"],
  },
  {
    usage: "/tip cancel @user",
    description: "Takes back your latest tip to that person on this issue while it is still in its `tips.hold`.",
    whoCanUse: "Whoever made the tip",
    examples: ["/tip cancel @alice"],
  },
];

/** A tip's escrow account and its budget charge, both named by the tip's key. */
export const tipEscrow = (key: string) => escrowOf("tip", key);
export const tipCharge = (key: string) => `tip:${key}`;

/** Each `/tip` line of one comment gets its place in the comment (0, 1, …): with the comment id, the tip's key. */
const positions = new WeakMap<CommandContext, number>();
function nextPosition(ctx: CommandContext): number {
  const n = positions.get(ctx) ?? 0;
  positions.set(ctx, n + 1);
  return n;
}

/** Today's prices for `currencies`, or the refusal when one has none (fail closed). */
async function readRates(
  ctx: CommandContext,
  currencies: ReadonlyArray<Exclude<Amount["currency"], "BTC">>,
): Promise<{ ok: true; rates: Rates } | { ok: false; reply: string }> {
  const rates: Rates = {};
  for (const c of currencies) {
    if (!ctx.prices) return { ok: false, reply: noPriceReply(c, "this app has no price source") };
    const p = await ctx.prices.price(c);
    if (!p.ok) return { ok: false, reply: noPriceReply(c, `there is no agreeing ${c} price right now (${p.reason})`) };
    rates[c] = p.rateText;
  }
  return { ok: true, rates };
}

const replayed = (t: Tip): Outcome => ({ react: true, reply: tippedReply({ ...t, recipientLogin: t.recipient.login }) });

async function makeTip(ctx: CommandContext, position: number, login: string, amount: Amount, reason: string | null): Promise<Outcome | Step> {
  const user = await ctx.user(login);
  const refused = whyNotTipped(ctx.author, login, user);
  if (refused) return { reply: refused };
  const recipient = { id: user!.id, login: user!.login };

  const may = await ctx.mayFund();
  const cap = ctx.config.tips.maxPerDay;
  let terms: PledgeTerms | null = null;
  if (may.ok) {
    const t = await ctx.pledgeTerms(amount);
    if (!t.ok) return { reply: t.reply };
    terms = t.terms;
  }
  const read = await readRates(ctx, ratesForTip(amount, terms ? cap : null).filter((c) => terms?.rates[c] === undefined));
  if (!read.ok) return { reply: read.reply };
  const rates: Rates = { ...(terms?.rates ?? {}), ...read.rates };
  const fiat = amount.currency === "BTC" ? null : amount.currency;
  const rate = fiat === null ? null : rates[fiat]!;
  const sats = fiat === null ? amount.minor : fiatToSats(amount.minor, fiat, rate!);
  if (sats <= 0n) return { reply: `${formatAmount(amount)} is less than one sat at today's price, so I tipped nothing.` };

  const key = tipKey(ctx.commentId, position);
  const payer: TipPayer = terms ? "treasury" : "person";
  const cause = { actor: ctx.author, deliveryId: ctx.deliveryId };
  return async (tx) => {
    await lockTipKey(tx, key);
    const before = await findTip(tx, ctx.commentId, position);
    if (before) return replayed(before);
    const now = terms?.now ?? new Date();
    if (terms) {
      await lockTipper(tx, ctx.issue.owner, ctx.author.id);
      const today = await chargesSince(tx, { account: ctx.issue.owner, chargedUserId: ctx.author.id, kind: "tip", since: utcDayStart(now) });
      const day = checkDay(cap, today, amount, rates);
      if (!day.ok && "missing" in day) {
        return { reply: noPriceReply(day.missing, `there is no ${day.missing} price to count your tips today against \`tips.max_per_day\``) };
      }
      if (!day.ok) return { reply: overDayReply(day, cap, amount, recipient.login) };
      const charged = await chargeBudget(tx, { key: tipCharge(key), kind: "tip", account: ctx.issue.owner, amount, terms: { ...terms, rates } });
      if (!charged.ok) return { reply: overBudgetMessage(charged.over, whoseBudget(charged.over.kind, ctx.issue.owner), amount, `/tip @${recipient.login}`) };
    }
    const opened = await openEscrow(tx, {
      escrow: tipEscrow(key),
      payer: terms ? { kind: "treasury" } : { kind: "person", userId: ctx.author.id },
      slots: [sats],
      // No timeout: a tip ends paid to its recipient (the sweep) or taken back (/tip cancel), never voided by the clock.
      timeoutAt: null,
      ref: { tip: key, to: String(recipient.id) },
    });
    if (!opened.ok) return { reply: notEnoughReply(recipient.login, { amount, sats, rate }, missingReply(opened.missing, opened.available)) };
    const tip = await insertTip(tx, {
      commentId: ctx.commentId,
      position,
      tipper: ctx.author,
      recipient,
      where: { installationId: ctx.issue.installationId, repoId: ctx.issue.repoId, owner: ctx.issue.owner, repo: ctx.issue.repo, issueNumber: ctx.issue.number },
      amount,
      sats,
      rate,
      payer,
      payableAt: new Date(now.getTime() + ctx.config.tips.holdMs),
      reason,
      createdAt: now,
    });
    await appendEvent(tx, {
      userId: recipient.id,
      kind: "tip",
      data: {
        tip: key,
        from: { id: ctx.author.id, login: ctx.author.login },
        to: { id: recipient.id, login: recipient.login },
        payer,
        currency: amount.currency,
        amount_minor: amount.minor.toString(),
        sats: sats.toString(),
        rate,
        payable_at: tip.payableAt.toISOString(),
        reason,
        issue: `${ctx.issue.owner}/${ctx.issue.repo}#${ctx.issue.number}`,
      },
      cause,
    });
    return replayed(tip);
  };
}

function cancelTip(ctx: CommandContext, position: number, login: string): Step {
  const cancelKey = tipKey(ctx.commentId, position);
  const cause = { actor: ctx.author, deliveryId: ctx.deliveryId };
  return async (tx) => {
    await lockTipKey(tx, cancelKey);
    const done = await tipCancelledBy(tx, cancelKey);
    if (done) return { react: true, reply: cancelledReply({ ...done, recipientLogin: done.recipient.login }) };
    const tip = await latestTipTo(tx, { repoId: ctx.issue.repoId, issueNumber: ctx.issue.number, tipperId: ctx.author.id, recipientLogin: login });
    if (!tip) return { reply: nothingToCancelReply(login) };
    const now = new Date();
    if (tip.state !== "held" || now.getTime() >= tip.payableAt.getTime()) {
      return { reply: pastHoldReply({ ...tip, recipientLogin: tip.recipient.login }, tip.payableAt.getTime() - tip.createdAt.getTime()) };
    }
    const returned = await returnSlots(tx, tipEscrow(tip.key), { ref: { tip: tip.key, cancel: cancelKey } });
    if (tip.payer === "treasury") await releaseCharge(tx, tipCharge(tip.key), now);
    await markCancelled(tx, tip.id, now, cancelKey);
    await appendEvent(tx, {
      userId: tip.recipient.id,
      kind: "tip_cancelled",
      data: { tip: tip.key, by: cancelKey, sats: tip.sats.toString(), returned: returned.toString(), payer: tip.payer },
      cause,
    });
    return { react: true, reply: cancelledReply({ ...tip, recipientLogin: tip.recipient.login }) };
  };
}

export const tip: Command = {
  names: ["tip"],
  help: tipHelp,
  async run(line: CommandLine, ctx: CommandContext) {
    const position = nextPosition(ctx);
    const args = parseTip(line.args, ctx.config.currency);
    switch (args.kind) {
      case "help":
        return { help: true };
      case "invalid":
        return { reply: args.reply };
      case "cancel":
        return cancelTip(ctx, position, args.login);
      case "tip":
        return makeTip(ctx, position, args.login, args.amount, args.reason);
    }
  },
};
