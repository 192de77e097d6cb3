import { formatAmount, sameCurrencyTotals, type Amount } from "../core/money.js";
import { availableBalance, postedBalance } from "../ledger/rules.js";
import { proofPath } from "../http/solvency.js";
import { personBalance, type PersonBalance } from "../store/balances.js";
import type { Command, CommandContext, HelpEntry, Step } from "./types.js";

export const balanceHelp: HelpEntry[] = [
  {
    usage: "/balance",
    description:
      "Shows what you have available to spend (your funds and your earnings not yet in a payout, less what you " +
      "have in escrow), each part, where your payouts go, and a link to the proof that your balance is counted " +
      "in the public solvency report. The reply is a public comment: anyone can read it.",
    whoCanUse: "Anyone, for their own balance",
    examples: ["/balance"],
  },
];

const sats = (n: bigint): string => formatAmount({ currency: "BTC", minor: n });
const atLeastZero = (n: bigint): bigint => (n > 0n ? n : 0n);

function account(name: string, posted: bigint, notes: string[]): string {
  if (posted < 0n) {
    return `- ${name}: **${sats(posted)}**: overdrawn (a deposit was taken back after a chain reorganisation); nothing is spent from it until it is covered`;
  }
  return `- ${name}: ${sats(posted)}${notes.length ? ` (${notes.join("; ")})` : ""}`;
}

function heldText(b: PersonBalance): string | null {
  if (b.heldAwards.length === 0) return null;
  const priced = b.heldAwards.reduce((s, a) => s + (a.sats ?? 0n), 0n);
  const unpriced: Amount[] = b.heldAwards.filter((a) => a.sats === null).flatMap((a) => a.amounts);
  const parts = [...(priced > 0n ? [sats(priced)] : []), ...sameCurrencyTotals(unpriced).map(formatAmount)];
  const n = b.heldAwards.length;
  return `${n} ${n === 1 ? "award" : "awards"} in ${n === 1 ? "its" : "their"} hold (${parts.join(" + ") || "not yet priced"})`;
}

/** The reply: available first, then each part, the payout destination, the proof, and that it is public. */
export function balanceReply(b: PersonBalance, who: { login: string }, publicUrl: string | undefined): string {
  const funds = postedBalance(b.funds);
  const earnings = postedBalance(b.earnings);
  const available = atLeastZero(availableBalance(b.funds)) + atLeastZero(availableBalance(b.earnings));
  const fundsReserved = b.funds.debitsPending;
  const earningsReserved = b.earnings.debitsPending;
  const pending = [...(b.pendingCredits > 0n ? [sats(b.pendingCredits)] : []), ...(heldText(b) ? [heldText(b)!] : [])];
  const lines = [
    `you have **${sats(available)}** available to spend.`,
    "",
    account("funds (deposited)", funds, fundsReserved > 0n ? [`${sats(fundsReserved)} of it reserved`] : []),
    account("earnings (credited to you, paid out automatically)", earnings, earningsReserved > 0n ? [`${sats(earningsReserved)} of it reserved`] : []),
    `- held in escrow by you: ${sats(b.inEscrow)}${b.inEscrow > 0n ? " (still yours until it is released)" : ""}`,
    ...(b.inPayouts > 0n ? [`- in a payout being sent: ${sats(b.inPayouts)}`] : []),
    `- pending for you: ${pending.length ? pending.join(" and ") : "nothing"}`,
    "",
    b.wallet
      ? b.wallet.kind === "charity"
        ? `Your payouts are donated to **${b.wallet.charityName}** (\`${b.wallet.charityId}\`).`
        : `Your payouts go to \`${b.wallet.address}\`.`
      : "You have not linked a wallet, so payouts wait: link one with `/wallet <your bitcoin address>`.",
    publicUrl
      ? `Check that your balance is counted in the public solvency report: ${publicUrl.replace(/\/+$/, "")}${proofPath(who.login)} ` +
        "(verify it with `node scripts/verify-solvency.mjs`, see the README)."
      : `Your proof of inclusion in the public solvency report is at \`GET ${proofPath(who.login)}\` on this bot's server ` +
        "(ask its operator for the address; verify it with `node scripts/verify-solvency.mjs`, see the README).",
    "",
    "_This reply is a public comment: anyone can read these figures._",
  ];
  return lines.join("\n");
}

export const balance: Command = {
  names: ["balance"],
  inDiscussions: true,
  help: balanceHelp,
  async run(line, ctx: CommandContext) {
    const args = line.args.trim();
    if (args.toLowerCase() === "help") return { help: true };
    if (args !== "") return { reply: "`/balance` takes nothing after it and shows your own balance. Try: `/balance`" };
    const step: Step = async (tx) => ({ reply: balanceReply(await personBalance(tx, ctx.author.id), ctx.author, ctx.publicUrl) });
    return step;
  },
};
