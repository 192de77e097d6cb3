import { formatAmount, groupThousands, type Amount } from "../core/money.js";
import { formatFeeRate } from "../bitcoin/sizes.js";
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
  b: { login: string; oldTxid: string; newTxid: string; feeSats: bigint; feeRateSatKvb: bigint },
  explorerUrl: string | null,
): string {
  const rate = Number(b.feeRateSatKvb) / 1000;
  return [
    `⏫ Network fees rose, so the payout transaction to @${b.login} was replaced by one with a higher fee (${satsText(b.feeSats)}, ${rate} sat/vB), paid by the bounty wallet.`,
    "",
    `Same amount, same address; follow ${txLink(b.newTxid, explorerUrl)} now (it replaces ${txLink(b.oldTxid, explorerUrl)}).`,
  ].join("\n");
}
