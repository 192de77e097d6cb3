/**
 * `/survey <amount> [first N] [members|anyone]` and `/survey close`: a paid survey on an issue
 * whose description holds the questions. The prices and the author's permission are read in
 * `run`; the step records the survey and moves the money.
 */
import { threadNoun } from "../../core/threads.js";
import { formatAmount, type Amount } from "../../core/money.js";
import type { Command, CommandContext, HelpEntry, Outcome, Step } from "../../commands/types.js";
import type { TermsResult } from "../../deliveries/budgets.js";
import { lockIssueSurveys, openSurveysOn, type Audience } from "../../store/surveys.js";
import { closeSurvey, openSurvey } from "./escrow.js";
import { parseSurvey, satsAt } from "./rules.js";

export const surveyHelp: HelpEntry[] = [
  {
    usage: "/survey <amount> [first N] [members|anyone]",
    description:
      "Opens a paid survey on this issue, whose description holds the questions: `amount × N` is held now, and each of the first N " +
      "people to respond is paid `amount` (their first comment after it with at least `questions.min_reply_chars` characters " +
      "besides commands). `members` (the default): members of the repository's organisation; `anyone`: any account older than " +
      "`surveys.min_account_age`. N is 1 unless given, at most `questions.max_responders`. Funders pay from the organisation's " +
      "treasury within their budget; anyone else from their own balance (`/deposit`). It runs until `/survey close`.",
    whoCanUse: "Anyone with the balance (funders: within their budget)",
    examples: ["/survey 5usd first 10", "/survey 2000sats first 20 anyone"],
  },
  {
    usage: "/survey close",
    description: "Closes your survey on this issue: what was not paid out comes back to you (or to the treasury).",
    whoCanUse: "Whoever opened the survey",
    examples: ["/survey close"],
  },
];

const NO_PRICE = "there is no agreeing BTC price right now to fix that amount in sats, so I recorded nothing. Please try again later, or pay in sats.";

function close(ctx: CommandContext): Step {
  return async (tx) => {
    const open = await openSurveysOn(tx, ctx.issue.repoId, ctx.issue.number);
    const mine = open.filter((s) => s.author.id === ctx.author.id);
    if (mine.length === 0) {
      const here = threadNoun(ctx.issue.discussionId);
      return { reply: open.length ? `only @${open[0]!.author.login}, who opened it, can close the survey on this ${here}.` : `there is no open survey on this ${here}, so there is nothing to close.` };
    }
    for (const s of mine) await closeSurvey(tx, s.id, { at: new Date(), cause: { actor: ctx.author, deliveryId: ctx.deliveryId } });
    return { react: true };
  };
}

async function open(ctx: CommandContext, amount: Amount, first: number, audience: Audience): Promise<Outcome | Step> {
  if (ctx.issue.isPullRequest) return { reply: "a survey goes on an issue whose description holds the questions, not on a pull request." };
  const here = threadNoun(ctx.issue.discussionId);
  // A user's repository has no organisation whose members could respond: the escrow would sit unanswered.
  if (audience === "members" && ctx.issue.ownerType === "User") {
    return { reply: `this repository belongs to @${ctx.issue.owner}, a user, not an organisation, so a \`members\` survey has nobody to answer it. Use \`anyone\`: \`/survey <amount> first N anyone\`.` };
  }
  if (ctx.issue.state !== "open") return { reply: `this ${here} is ${ctx.issue.state}; open the survey on an open one.` };
  if (!ctx.issue.body?.trim()) return { reply: `this ${here}'s description is empty: write the survey's questions there first.` };
  const max = ctx.config.questions.maxResponders;
  if (first > max) return { reply: `at most ${max} responses can be paid for one survey here (\`questions.max_responders\`). Try: \`first ${max}\`` };
  let rate: string | null = null;
  if (amount.currency !== "BTC") {
    const p = ctx.prices ? await ctx.prices.price(amount.currency).catch(() => null) : null;
    if (!p?.ok) return { reply: NO_PRICE };
    rate = p.rateText;
  }
  const sats = satsAt(amount, rate);
  if (sats === null) return { reply: NO_PRICE };
  if (sats < 1n) return { reply: `${formatAmount(amount)} is less than one sat; pay more for each response.` };
  const may = await ctx.mayFund();
  let terms: TermsResult | null = null;
  if (may.ok) {
    terms = await ctx.pledgeTerms({ currency: "BTC", minor: sats * BigInt(first) });
    if (!terms.ok) return { reply: terms.reply };
  }
  const cfg = ctx.config;
  return async (tx) => {
    await lockIssueSurveys(tx, ctx.issue.repoId, ctx.issue.number);
    const already = await openSurveysOn(tx, ctx.issue.repoId, ctx.issue.number);
    if (already.some((s) => s.surveyCommentId === ctx.commentId)) return { react: true };
    if (already.length) return { reply: `this ${here} has an open survey by @${already[0]!.author.login} already; it must be closed (\`/survey close\`) before another opens.` };
    const r = await openSurvey(
      tx,
      {
        openKey: `survey:${ctx.commentId}`,
        installationId: ctx.issue.installationId,
        repoId: ctx.issue.repoId,
        owner: ctx.issue.owner,
        repo: ctx.issue.repo,
        issueNumber: ctx.issue.number,
        discussionId: ctx.issue.discussionId ?? null,
        surveyCommentId: ctx.commentId,
        author: ctx.author,
        audience,
        amount,
        sats,
        rate,
        slots: first,
        payer: terms?.ok ? "treasury" : "person",
        minReplyChars: cfg.questions.minReplyChars,
        minAccountAgeMs: cfg.surveys.minAccountAgeMs,
        createdAt: new Date(),
      },
      { terms: terms?.ok ? terms.terms : null, cause: { actor: ctx.author, deliveryId: ctx.deliveryId } },
    );
    return r.ok ? { react: true } : { reply: r.reply };
  };
}

export const survey: Command = {
  names: ["survey"],
  inDiscussions: true,
  help: surveyHelp,
  async run(line, ctx) {
    if (line.args.trim().toLowerCase() === "help") return { help: true };
    const parsed = parseSurvey(line.args, ctx.config.currency);
    if (!parsed.ok) return { reply: parsed.error };
    if (parsed.kind === "close") return close(ctx);
    return open(ctx, parsed.amount, parsed.first, parsed.audience);
  },
};
