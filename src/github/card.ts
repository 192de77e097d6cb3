import { formatAmount, sameCurrencyTotals } from "../core/money.js";
import type { Bounty, Pledge } from "../store/ledger.js";

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

/** The card's Markdown: pure, so the same state always renders the same text. */
export function renderCard(bounty: Bounty, pledges: Pledge[]): string {
  const live = pledges.filter((p) => p.status === "open" || p.status === "awarded");
  const cancelled = pledges.filter((p) => p.status === "cancelled");
  const totals = sameCurrencyTotals(live.map((p) => p.amount));
  const totalText = totals.length ? totals.map(formatAmount).join(" + ") : "nothing pledged";
  const lines = [CARD_MARKER, `### 💰 Bounty: ${totalText}`, "", `**Status:** ${STATUS_TEXT[bounty.status]}`];
  if (bounty.statusReason) lines[lines.length - 1] += ` — ${bounty.statusReason}`;
  lines.push("");
  if (live.length) {
    lines.push("| Funder | Pledge |", "| --- | ---: |");
    for (const p of live) lines.push(`| ${funderCell(p)} | ${formatAmount(p.amount)} |`);
    if (live.length > 1) lines.push(...totals.map((t) => `| **Total** | **${formatAmount(t)}** |`));
    lines.push("");
  }
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
    "<sub>Funders: `/bounty <amount>` pledges or changes your pledge, `/bounty cancel` withdraws it. " +
      "`/bounty help` lists every command.</sub>",
  );
  return lines.join("\n");
}
