import { formatDuration } from "../core/duration.js";
import { formatAmount, sameCurrencyTotals } from "../core/money.js";
import { payableMinimum } from "../payouts/plan.js";
import { humanWithin } from "../payouts/timing.js";
import type { AwardView } from "../store/awards.js";
import type { Bounty, IssueState, Pledge } from "../store/bounties.js";

/** Hidden marker that finds the card again among an issue's comments. */
export const CARD_MARKER = "<!-- bounty-bot:card -->";

const STATUS_TEXT: Record<Bounty["status"], string> = {
  open: "🟢 Open",
  awarded: "🏆 Awarded",
  paid: "💸 Paid",
  confirmed: "✅ Confirmed",
  cancelled: "⚪ Cancelled",
};

function funderCell(p: Pledge): string {
  if (p.funderKey.startsWith("label:")) return `label \`${p.funderKey.slice("label:".length)}\``;
  return `@${p.funderLogin}`;
}

/** A pledge as the card states it: a backed one says so, with the sats held for it from the backer's balance. */
function pledgeCell(p: Pledge): string {
  if (!p.backed) return formatAmount(p.amount);
  if (p.amount.currency === "BTC") return `${formatAmount(p.amount)}, backed from their balance`;
  return `${formatAmount(p.amount)}, backed by ${formatAmount({ currency: "BTC", minor: p.backed.sats })} from their balance`;
}

/** A moment as the card and replies write it: `2025-01-02 10:00 UTC`. */
export function formatUtc(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A share in basis points as a percentage: `50%`, `33.34%`. */
export function formatShare(bps: number): string {
  return bps % 100 === 0 ? `${bps / 100}%` : `${(bps / 100).toFixed(2)}%`;
}

const shortTxid = (txid: string) => `\`${txid.slice(0, 12)}…\``;

/** What the card says about payout runs: PAYOUT_MIN_SATS and, when runs are scheduled, PAYOUT_INTERVAL. */
export interface CardPayouts {
  minSats: bigint;
  /** Undefined when this process runs no payouts on a schedule. */
  intervalMs?: number;
  /** PAYOUT_MAX_DELAY when fee timing is on (> 0): a due payout goes out within it, when fees are low. */
  maxDelayMs?: number;
}

const sats = (n: bigint) => formatAmount({ currency: "BTC", minor: n });

function nextRun(p: CardPayouts | undefined): string {
  return p?.intervalMs === undefined ? "in the next payout run" : `in the next payout run (within ${formatDuration(p.intervalMs)})`;
}

/** When a due payout goes out: with fee timing on, within PAYOUT_MAX_DELAY when fees are low; else in the next run. */
function paidWhen(p: CardPayouts | undefined): string {
  return p?.maxDelayMs ? `within ${humanWithin(p.maxDelayMs)}, when fees are low` : nextRun(p);
}

/** A credited award not in a payout yet: what its payment waits for. */
function creditedWait(a: AwardView, p: CardPayouts | undefined): string {
  if (!p) return "";
  if (!a.wallet) return `; paid once @${a.recipientLogin} links a wallet with \`/wallet <bitcoin address>\``;
  const minimum = payableMinimum(a.wallet.addressType, p.minSats);
  if (a.wallet.kind === "charity") return `; given to ${a.wallet.charityName ?? "a charity"} once at least ${sats(minimum)} are due to it`;
  const balance = a.balanceSats ?? a.sats ?? 0n;
  // The whole balance is not shown: it may hold earnings from private repositories.
  if (balance < minimum) return `; paid once your balance reaches ${sats(minimum)}`;
  return `; paid ${paidWhen(p)}`;
}

/** Where an award stands, in the recipient's words. */
function awardState(a: AwardView, now: Date, issueState: IssueState, p: CardPayouts | undefined): string {
  if (a.state === "cancelled") return `cancelled: ${a.cancelReason ?? "no reason recorded"}`;
  const to = a.payout?.payeeKind === "charity" ? ` to ${a.payout.charityName ?? "a charity"}` : "";
  if (a.payout?.state === "confirmed") return `✅ paid${to} in ${a.payout.txid ? shortTxid(a.payout.txid) : "a transaction"}, confirmed`;
  if (a.payout?.state === "broadcast") return `💸 paid${to} in ${a.payout.txid ? shortTxid(a.payout.txid) : "a transaction"}`;
  if (a.payout?.state === "signed") return `💸 being paid${to}`;
  if (a.state === "credited" && a.sats !== null) {
    const credited = `${sats(a.sats)} credited to @${a.recipientLogin}'s balance`;
    if (a.payout?.state === "awaiting_approval") return `${credited}; the payout waits for an operator's approval`;
    if (a.payout?.state === "queued") return `${credited}; queued, paid${to} ${paidWhen(p)}`;
    return credited + creditedWait(a, p);
  }
  // Still held: every reason it waits, the operator's first (a label name may hold a `|`).
  const waits: string[] = [];
  if (a.approval === "needed") waits.push(`⏸️ held for operator approval: ${(a.approvalReason ?? "self-dealing").replace(/\|/g, "\\|")}`);
  const held = a.holdUntil.getTime() > now.getTime();
  if (issueState !== "completed") {
    waits.push(`⏳ paid once the issue is closed as completed${held ? `, not before ${formatUtc(a.holdUntil)}` : ""}`);
  } else if (held) {
    waits.push(`⏳ paid after ${formatUtc(a.holdUntil)}`);
  }
  if (waits.length) return waits.join("; ");
  // Due: only a payout run that failed to price it says the prices are the reason.
  if (a.priceWait) return `⏳ waiting for a reliable BTC price (the price sources are missing or disagree); tried again ${nextRun(p)}`;
  return `⏳ priced ${nextRun(p)}`;
}

function awardLines(awards: AwardView[], now: Date, unclaimedDays: number | undefined, issueState: IssueState, payouts: CardPayouts | undefined): string[] {
  if (awards.length === 0) return [];
  const lines = ["| Recipient | Share | Amount | State |", "| --- | ---: | ---: | --- |"];
  for (const a of awards) {
    const who = a.state === "cancelled" ? `~~@${a.recipientLogin}~~` : `@${a.recipientLogin}`;
    const amount = a.amounts.map(formatAmount).join(" + ");
    lines.push(`| ${who} | ${formatShare(a.shareBps)} | ${amount} | ${awardState(a, now, issueState, payouts)} |`);
  }
  lines.push("");
  // Said from the moment of the award, not only when the period runs out.
  const unpaid = awards.filter((a) => a.state !== "cancelled" && a.payout === null && a.unclaimedCharity !== null);
  const charities = [...new Set(unpaid.map((a) => a.unclaimedCharity!.name))];
  if (charities.length > 0) {
    const period = unclaimedDays === undefined ? "within the unclaimed period" : `within ${unclaimedDays} days`;
    lines.push(
      `Without a wallet linked with \`/wallet <bitcoin address>\` ${period}, a recipient's share goes to ` +
        `**${charities.join(" / ")}** instead.`,
      "",
    );
  }
  return lines;
}

export interface CardOptions {
  /** The moment to render for (whether a hold has passed). */
  now?: Date;
  /** PAYOUT_UNCLAIMED_DAYS, for the unclaimed-charity note. */
  unclaimedDays?: number;
  /** How payouts run, to say what a due or credited award waits for; without it the card says only where it stands. */
  payouts?: CardPayouts;
}

/** The card's Markdown: pure, so the same state (and moment) always renders the same text. */
export function renderCard(bounty: Bounty, pledges: Pledge[], awards: AwardView[] = [], opts: CardOptions = {}): string {
  const live = pledges.filter((p) => p.status === "open" || p.status === "awarded");
  const cancelled = pledges.filter((p) => p.status === "cancelled");
  const totals = sameCurrencyTotals(live.map((p) => p.amount));
  const totalText = totals.length ? totals.map(formatAmount).join(" + ") : "nothing pledged";
  const lines = [CARD_MARKER, `### 💰 Bounty: ${totalText}`, "", `**Status:** ${STATUS_TEXT[bounty.status]}`];
  if (bounty.statusReason) lines[lines.length - 1] += ` — ${bounty.statusReason}`;
  lines.push("");
  if (live.length) {
    lines.push("| Funder | Pledge |", "| --- | ---: |");
    for (const p of live) lines.push(`| ${funderCell(p)} | ${pledgeCell(p)} |`);
    if (live.length > 1) lines.push(...totals.map((t) => `| **Total** | **${formatAmount(t)}** |`));
    lines.push("");
  }
  lines.push(...awardLines(awards, opts.now ?? new Date(), opts.unclaimedDays, bounty.issueState, opts.payouts));
  if (bounty.status === "cancelled" && cancelled.length) {
    lines.push(
      `Cancelled pledges: ${cancelled.map((p) => `~~${funderCell(p)} ${formatAmount(p.amount)}~~`).join(", ")}`,
      "",
    );
  }
  if (bounty.status === "open") {
    lines.push(
      "**How to claim:** open a pull request whose description says " +
        `\`Fixes #${bounty.issueNumber}\`. When it is merged and this issue is closed as completed, ` +
        "the bounty is paid in bitcoin to the author. Link where your payouts go with " +
        "`/wallet <your bitcoin address>` (or `/wallet donate <charity>`) in a comment.",
      "",
    );
  }
  lines.push(
    "<sub>Funders: `/bounty <amount>` pledges or changes your pledge, `/bounty cancel` withdraws it, " +
      "`/award @login` gives the bounty to someone. `/bounty help` lists every command.</sub>",
  );
  return lines.join("\n");
}
