import { formatAmount, groupThousands, type Amount } from "../core/money.js";
import { formatFeeRate } from "../bitcoin/sizes.js";
import type { ThreadWhere } from "../store/outbox.js";
import type { EarningSource, PaidEarnings } from "../store/paidEarnings.js";
import type { AwardRates, PaidAward, PaidWithdrawal } from "../store/payouts.js";
import { humanWithin } from "./timing.js";

/** The text of the bot's payout comments. Pure. */

export function satsText(sats: bigint): string {
  return `${groupThousands(sats.toString())} ${sats === 1n ? "sat" : "sats"}`;
}

export function txLink(txid: string, explorerUrl: string | null): string {
  return explorerUrl ? `[\`${txid}\`](${explorerUrl}${txid})` : `\`${txid}\``;
}

function fiatText(amounts: readonly Amount[], rates: AwardRates): string | null {
  const fiat = amounts.filter((a) => a.currency !== "BTC");
  if (fiat.length === 0) return null;
  return fiat
    .map((a) => {
      const r = rates[a.currency];
      return r ? `${formatAmount(a)} at ${a.currency} ${groupRate(r.price)}/BTC` : formatAmount(a);
    })
    .join(" + ");
}

/** "60000.5" → "60,000.50" */
function groupRate(price: string): string {
  const [int, frac = ""] = price.split(".");
  return `${groupThousands(int!)}.${(frac + "00").slice(0, 2)}`;
}

/** Posted on the issue and on the pull request once the payout transaction is on the network. */
export function paidComment(p: PaidAward, tx: { txid: string; feeSats: bigint; payouts: number }, explorerUrl: string | null): string {
  const who =
    p.payout.kind === "charity"
      ? `**${p.payout.charityName ?? "a charity"}** (on behalf of @${p.recipientLogin})`
      : `@${p.recipientLogin}`;
  const fiat = fiatText(p.amounts, p.rates);
  const lines = [
    `💸 **Bounty paid:** ${satsText(p.sats)} to ${who}${fiat ? ` (${fiat})` : ""}.`,
    "",
    `Transaction ${txLink(tx.txid, explorerUrl)}, output ${p.payout.vout} to \`${p.payout.address}\`.`,
  ];
  if (p.payout.sats !== p.sats) {
    lines.push("", `That output pays ${satsText(p.payout.sats)} in all: this bounty together with earlier ones on the same balance.`);
  }
  lines.push(
    "",
    `<sub>The network fee (${satsText(tx.feeSats)} for ${tx.payouts} ${tx.payouts === 1 ? "payout" : "payouts"} in this transaction) was paid by the bounty wallet, not taken from the bounty.</sub>`,
  );
  return lines.join("\n");
}

/**
 * Posted where a /withdraw was asked, once its transaction is on the network: what was asked, the
 * exact fee share deducted (fixed when it was signed), and what the output pays.
 */
export function withdrawalPaidComment(
  w: PaidWithdrawal,
  tx: { txid: string; feeSats: bigint; feeRateSatKvb: bigint },
  explorerUrl: string | null,
): string {
  const to = w.kind === "charity" ? `donated to **${w.charityName ?? "a charity"}**` : `sent to @${w.login}`;
  return [
    `💸 **Withdrawal paid:** ${satsText(w.sats)} ${to} from @${w.login}'s funds.`,
    "",
    `Transaction ${txLink(tx.txid, explorerUrl)}, output ${w.vout} to \`${w.address}\`.`,
    "",
    `Of the ${satsText(w.requestedSats)} withdrawn, ${satsText(w.feeShareSats)} paid this output's share of the network fee ` +
      `(its size at the transaction's ${formatFeeRate(tx.feeRateSatKvb)} sat/vB; the whole fee is ${satsText(tx.feeSats)}). ` +
      "The rest of the fee, and any later fee bump, is paid by the bounty wallet.",
  ].join("\n");
}

/** Asked once when an award is credited to someone who has not linked a wallet. */
export function askWalletComment(opts: {
  login: string;
  sats: bigint;
  unclaimedDays: number;
  charityName: string | null;
  /** Everything credited to them and not paid yet, this award included. */
  balanceSats: bigint;
  /** PAYOUT_MIN_SATS. */
  minSats: bigint;
  /** PAYOUT_MAX_DELAY when fee timing is on (> 0): said, so nobody wonders why a linked wallet is not paid at once. */
  maxDelayMs?: number;
}): string {
  const lines = [
    `@${opts.login}, ${satsText(opts.sats)} from this bounty are waiting for you. Tell me where to send them with a comment:`,
    "",
    "```",
    "/wallet <your bitcoin address>",
    "```",
    "",
    "or `/wallet donate <charity>` to give it away.",
  ];
  if (opts.balanceSats < opts.minSats) {
    // Said now, so nobody links a wallet and then waits for a payment that is not due yet. The
    // balance itself is not shown on a public issue: it may hold earnings from private repositories.
    lines.push("", `Your balance is below the payout minimum: it is paid once your balance reaches ${satsText(opts.minSats)}.`);
  } else if (opts.maxDelayMs) {
    lines.push("", `Once you do, it is paid within ${humanWithin(opts.maxDelayMs)}, when fees are low.`);
  }
  if (opts.charityName) {
    lines.push(
      "",
      `Without a wallet within ${opts.unclaimedDays} days, the amount goes to **${opts.charityName}**, as this repository's bounty settings say.`,
    );
  }
  return lines.join("\n");
}

/** A transaction announced as paid can never confirm (a conflicting one did): said on the issue. */
export function replacedComment(login: string, txid: string, explorerUrl: string | null): string {
  return [
    `⚠️ The payout to @${login} in transaction ${txLink(txid, explorerUrl)} will not confirm: a conflicting transaction spent the same coins first.`,
    "",
    "Nothing was paid by it. The payout is queued again and goes out in the next payout run; I will comment here with the new transaction.",
  ].join("\n");
}

/** A payout transaction was fee-bumped (RBF): same amount, a new transaction id to follow. */
export function bumpedComment(
  b: { login: string; oldTxid: string; newTxid: string; feeSats: bigint; feeRateSatKvb: bigint; joined?: boolean },
  explorerUrl: string | null,
): string {
  const rate = formatFeeRate(b.feeRateSatKvb);
  const why = b.joined
    ? `⏩ The payout transaction to @${b.login} was replaced by one that also pays payouts that became due since (one transaction instead of two; fee ${satsText(b.feeSats)}, ${rate} sat/vB, paid by the bounty wallet).`
    : `⏫ Network fees rose, so the payout transaction to @${b.login} was replaced by one with a higher fee (${satsText(b.feeSats)}, ${rate} sat/vB), paid by the bounty wallet.`;
  return [
    why,
    "",
    `Same amount, same address; follow ${txLink(b.newTxid, explorerUrl)} now (it replaces ${txLink(b.oldTxid, explorerUrl)}).`,
  ].join("\n");
}

/** A comment to queue: its outbox key (once per payout, transaction and place), where, and what. */
export interface QueuedComment {
  key: string;
  where: ThreadWhere;
  body: string;
}

/** User-written text quoted on one line, cut short. */
function quoted(text: string, max = 80): string {
  const one = text.replace(/\s+/g, " ").trim();
  return `“${one.length > max ? `${one.slice(0, max - 1).trimEnd()}…` : one}”`;
}

function earnedFor(s: EarningSource): string {
  switch (s.kind) {
    case "answer":
      return s.about.trim() ? `answering the question ${quoted(s.about)}` : "answering a question here";
    case "tip":
      return `a tip from @${s.tipper}${s.reason?.trim() ? ` (${quoted(s.reason)})` : ""}`;
    case "survey":
      return "a response to the survey here";
    case "reward":
      return `${quoted(s.reason)}${s.url ? ` (${s.url})` : ""}`;
  }
}

/**
 * The "paid" comments for earnings a transaction paid beyond awards: one per payout and place the
 * money came from (an answer's question, a tip's issue, a reward's notify thread), naming what it
 * paid. A person's extra sats are shared out over their credits oldest first, so nothing is named
 * as paid beyond what the payout took (a part spent meanwhile is not); a credit with no place (a
 * reward without notify) gets no comment. Pure.
 */
export function earningsPaidComments(
  paid: readonly PaidEarnings[],
  tx: { txid: string; feeSats: bigint; payouts: number },
  explorerUrl: string | null,
): QueuedComment[] {
  type Item = { login: string; sats: bigint; of: bigint; source: EarningSource };
  const places = new Map<string, { payout: PaidEarnings["payout"]; where: ThreadWhere; items: Item[] }>();
  for (const p of paid) {
    let left = p.extraSats;
    for (const c of p.credits) {
      const sats = c.sats < left ? c.sats : left;
      if (sats <= 0n) break;
      left -= sats;
      if (!c.where) continue;
      const k = `${p.payout.id}:${c.where.installationId}:${c.where.owner}/${c.where.repo}#${c.where.issueNumber}`;
      const place = places.get(k) ?? { payout: p.payout, where: c.where, items: [] };
      place.items.push({ login: p.login, sats, of: c.sats, source: c.source });
      places.set(k, place);
    }
  }
  const out: QueuedComment[] = [];
  for (const { payout, where, items } of places.values()) {
    const total = items.reduce((s, i) => s + i.sats, 0n);
    const charity = `**${payout.charityName ?? "a charity"}**`;
    const who = (login: string) => (payout.kind === "charity" ? `${charity} (on behalf of @${login})` : `@${login}`);
    const what = (i: Item) => `${earnedFor(i.source)}${i.sats < i.of ? ` (${satsText(i.sats)} of the ${satsText(i.of)} it earned)` : ""}`;
    const one = items.every((i) => i.login === items[0]!.login);
    const lines =
      items.length === 1
        ? [`💸 **Paid:** ${satsText(total)} to ${who(items[0]!.login)} for ${what(items[0]!)}.`]
        : [
            `💸 **Paid:** ${satsText(total)} to ${one ? who(items[0]!.login) : charity}:`,
            "",
            ...items.map((i) => `- ${satsText(i.sats)}${one ? "" : ` on behalf of @${i.login}`} for ${what(i)}`),
          ];
    lines.push("", `Transaction ${txLink(tx.txid, explorerUrl)}, output ${payout.vout} to \`${payout.address}\`.`);
    if (payout.sats !== total) {
      lines.push("", `That output pays ${satsText(payout.sats)} in all: these earnings together with the rest of the same balance.`);
    }
    lines.push(
      "",
      `<sub>The network fee (${satsText(tx.feeSats)} for ${tx.payouts} ${tx.payouts === 1 ? "payout" : "payouts"} in this transaction) was paid by the bounty wallet, not taken from the payment.</sub>`,
    );
    out.push({ key: `paid:earnings:${payout.id}:${tx.txid}:${where.installationId}:${where.owner}/${where.repo}#${where.issueNumber}`, where, body: lines.join("\n") });
  }
  return out;
}
