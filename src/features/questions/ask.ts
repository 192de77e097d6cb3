/**
 * `/ask`: a paid question to a person, a GitHub team or a config list, escrowed now and paid to
 * whoever answers. GitHub (the person, the team's members, the asker's permission) and the prices
 * are read in `run`; the step records the question and moves the money.
 */
import { threadNoun } from "../../core/threads.js";
import { formatAmount, type Amount } from "../../core/money.js";
import type { Command, CommandContext, HelpEntry, Outcome, Step } from "../../commands/types.js";
import type { TermsResult } from "../../deliveries/budgets.js";
import { openQuestionsOn, getPrice, type Member } from "../../store/questions.js";
import { askQuestion, returnQuestion } from "./escrow.js";
import { askAmount, parseAsk, satsAt, targetKey, targetLabel, type AskTarget } from "./rules.js";

export const askHelp: HelpEntry[] = [
  {
    usage: "/ask @login [<amount>] [what about]",
    description:
      "Asks that person a paid question on this issue, at their `/price` (or the amount given, at least their price). " +
      "The amount is held now and paid to them when they answer: their first comment here after it with at least " +
      "`questions.min_reply_chars` characters besides commands. Unanswered after `questions.expires`, it comes back to you. " +
      "Funders pay from the organisation's treasury within their budget; anyone else from their own balance (`/deposit`).",
    whoCanUse: "Anyone with the balance (funders: within their budget)",
    examples: ["/ask @alice", "/ask @alice 20usd how do I run the e2e tests?"],
  },
  {
    usage: "/ask @org/team <amount> [first N] | /ask list:<name> <amount> [first N]",
    description:
      "Asks a GitHub team, or a list in the config (`lists`), paying each of the first N members who answer (N is 1 unless given, " +
      "at most `questions.max_responders`); what is not earned comes back at expiry.",
    whoCanUse: "Anyone with the balance (funders: within their budget)",
    examples: ["/ask @kubernetes/sig-docs-leads 10usd first 2", "/ask list:sig-docs-experts 5000sats"],
  },
  {
    usage: "/ask cancel [@login | @org/team | list:<name>]",
    description: "Takes back your unanswered questions on this issue (or the one named); the money comes back to you.",
    whoCanUse: "Whoever asked",
    examples: ["/ask cancel", "/ask cancel @alice"],
  },
];

const FIAT = ["USD", "EUR", "GBP"] as const;

/** Today's median prices of the fiat currencies, those with none left out (a conversion that needs one is refused). */
async function readRates(ctx: CommandContext): Promise<Partial<Record<Amount["currency"], string>>> {
  const rates: Partial<Record<Amount["currency"], string>> = {};
  if (!ctx.prices) return rates;
  for (const c of FIAT) {
    try {
      const r = await ctx.prices.price(c);
      if (r.ok) rates[c] = r.rateText;
    } catch {
      // No agreeing price for c: what needs it is refused in the step.
    }
  }
  return rates;
}

const NO_PRICE = "there is no agreeing BTC price right now to fix that amount in sats, so I recorded nothing. Please try again later, or ask in sats.";

interface Asked {
  target: AskTarget;
  askedId: number | null;
  members: Member[];
  slots: number;
}

/** Who is asked: the person, the team's members (from GitHub) or the list's; a refusal otherwise. */
async function resolve(ctx: CommandContext, target: AskTarget, first: number | null): Promise<Asked | Outcome> {
  const max = ctx.config.questions.maxResponders;
  if (first !== null && first > max) return { reply: `at most ${max} answers can be paid for one question here (\`questions.max_responders\`). Try: \`first ${max}\`` };
  const slots = first ?? 1;
  if (target.kind === "person") {
    if (target.login.toLowerCase() === ctx.author.login.toLowerCase()) return { reply: "you cannot ask yourself a paid question." };
    const user = await ctx.user(target.login);
    if (!user) return { reply: `there is no GitHub account @${target.login}.` };
    if (user.type === "Bot") return { reply: `@${user.login} is a bot; paid questions are for people.` };
    if (user.type !== "User") return { reply: `@${user.login} is an organisation, not a person. Ask one of its teams: \`/ask @${user.login}/<team> <amount>\`` };
    if (user.id === ctx.author.id) return { reply: "you cannot ask yourself a paid question." };
    return { target: { kind: "person", login: user.login }, askedId: user.id, members: [], slots };
  }
  let members: Member[];
  if (target.kind === "team") {
    const found = await ctx.teamMembers(target.org, target.slug);
    if (found === null) return { reply: `there is no team ${targetLabel(target)} that this app can see.` };
    members = found.filter((u) => u.type !== "Bot" && u.id !== ctx.author.id).map((u) => ({ login: u.login, id: u.id }));
  } else {
    const list = ctx.config.lists.find((l) => l.name === target.name);
    if (!list) {
      const names = ctx.config.lists.map((l) => `\`list:${l.name}\``).join(", ");
      return { reply: names ? `there is no list "${target.name}" in this repository's config; it has ${names}.` : `this repository's config has no lists (\`lists\` in .github/bounties.yml), so there is no list "${target.name}".` };
    }
    members = list.members.filter((l) => l.toLowerCase() !== ctx.author.login.toLowerCase()).map((login) => ({ login, id: null }));
  }
  if (members.length === 0) return { reply: `${targetLabel(target)} has nobody besides you to answer.` };
  if (slots > members.length) return { reply: `${targetLabel(target)} has ${members.length} member${members.length === 1 ? "" : "s"} who could answer, fewer than the ${slots} answers asked for. Try: \`first ${members.length}\`` };
  return { target, askedId: null, members, slots };
}

function cancel(ctx: CommandContext, target: AskTarget | null): Step {
  return async (tx) => {
    const mine = (await openQuestionsOn(tx, ctx.issue.repoId, ctx.issue.number)).filter(
      (q) => q.asker.id === ctx.author.id && (target === null || (q.targetKind === target.kind && q.target === targetKey(target))),
    );
    let n = 0;
    for (const q of mine) {
      if (await returnQuestion(tx, q.id, { state: "cancelled", at: new Date(), cause: { actor: ctx.author, deliveryId: ctx.deliveryId } })) n++;
    }
    if (n === 0) return { reply: `you have no unanswered question ${target ? `to ${targetLabel(target)} ` : ""}on this ${threadNoun(ctx.issue.discussionId)}, so there is nothing to cancel.` };
    return { react: true };
  };
}

async function ask(ctx: CommandContext, target: AskTarget, given: Amount | null, first: number | null, about: string): Promise<Outcome | Step> {
  const asked = await resolve(ctx, target, first);
  if (!("slots" in asked)) return asked;
  // A person's price may be in any currency; a team's or list's amount is the only one to price.
  const rates = target.kind === "person" || (given && given.currency !== "BTC") ? await readRates(ctx) : {};
  const toSats = (a: Amount) => satsAt(a, rates[a.currency] ?? null);
  if (given && toSats(given) === null) return { reply: NO_PRICE };
  const may = await ctx.mayFund();
  let terms: TermsResult | null = null;
  if (may.ok) {
    terms = await ctx.pledgeTerms({ currency: "BTC", minor: given ? toSats(given)! * BigInt(asked.slots) : 1n });
    if (!terms.ok) return { reply: terms.reply };
  }
  const q = ctx.config.questions;
  return async (tx) => {
    let amount = given;
    if (asked.target.kind === "person") {
      const price = await getPrice(tx, asked.askedId!);
      const check = askAmount(asked.target.login, price?.amount ?? null, given, toSats);
      if (!check.ok) return { reply: check.reply };
      amount = check.amount;
    }
    const sats = toSats(amount!);
    if (sats === null) return { reply: NO_PRICE };
    if (sats < 1n) return { reply: `${formatAmount(amount!)} is less than one sat; ask for more.` };
    const now = new Date();
    const r = await askQuestion(
      tx,
      {
        askKey: `ask:${ctx.commentId}:${asked.target.kind}:${targetKey(asked.target)}`,
        installationId: ctx.issue.installationId,
        repoId: ctx.issue.repoId,
        owner: ctx.issue.owner,
        repo: ctx.issue.repo,
        issueNumber: ctx.issue.number,
        discussionId: ctx.issue.discussionId ?? null,
        askCommentId: ctx.commentId,
        asker: ctx.author,
        targetKind: asked.target.kind,
        target: targetKey(asked.target),
        askedId: asked.askedId,
        members: asked.members,
        about: about.slice(0, 300),
        amount: amount!,
        sats,
        slots: asked.slots,
        payer: terms?.ok ? "treasury" : "person",
        minReplyChars: q.minReplyChars,
        createdAt: now,
        expiresAt: new Date(now.getTime() + q.expiresMs),
      },
      { terms: terms?.ok ? terms.terms : null, maxOpen: q.maxOpenPerAsker, cause: { actor: ctx.author, deliveryId: ctx.deliveryId } },
    );
    return r.ok ? { react: true } : { reply: r.reply };
  };
}

export const askCommand: Command = {
  names: ["ask"],
  inDiscussions: true,
  help: askHelp,
  async run(line, ctx) {
    if (line.args.trim().toLowerCase() === "help") return { help: true };
    const parsed = parseAsk(line.args, ctx.config.currency);
    if (!parsed.ok) return { reply: parsed.error };
    if (parsed.kind === "cancel") return cancel(ctx, parsed.target);
    if (ctx.issue.state !== "open") return { reply: `this ${threadNoun(ctx.issue.discussionId)} is ${ctx.issue.state}; ask on an open one.` };
    return ask(ctx, parsed.target, parsed.amount, parsed.first, parsed.about);
  },
};
