import { formatAmount } from "../core/money.js";
import { formatShare } from "../github/card.js";
import { approveAward, listAllAwards, type OperatorAward } from "../store/awards.js";
import { table } from "./format.js";
import { defineCommand, UsageError } from "./types.js";

/** An award's state as an operator reads it. */
function stateOf(a: OperatorAward): string {
  if (a.state === "credited" && a.payoutId !== null) return `in payout ${a.payoutId}`;
  if (a.approval === "approved") return `${a.state} (approved by ${a.approvedBy ?? "?"})`;
  return a.state;
}

/** Why a held award is not priced yet: the operator's approval, the issue's state. */
function whyHeld(a: OperatorAward): string {
  if (a.state !== "held") return "";
  const why: string[] = [];
  if (a.approval === "needed") why.push(`needs approval: ${a.approvalReason ?? "self-dealing"}`);
  if (a.issueState === "open") why.push("the issue is open");
  if (a.issueState === "not_planned") why.push("the issue was closed as not planned");
  return why.join("; ");
}

export const awardsList = defineCommand({
  words: ["awards", "list"],
  usage: "awards list [--held]",
  description:
    "Lists awards, oldest first: id, repository#issue, recipient, share, amounts, state and why it is held. " +
    "--held: only awards waiting for an operator's approval (the recipient pledged on the bounty).",
  examples: ["bounty-bot awards list", "bounty-bot awards list --held"],
  options: { held: { type: "boolean" } },
  parse: ({ values }): { held: boolean } => ({ held: values.held === true }),
  async run({ held }, ctx) {
    const awards = await listAllAwards(await ctx.db(), { held });
    if (awards.length === 0) {
      ctx.out(held ? "No awards wait for approval." : "No awards.");
      return 0;
    }
    const rows = awards.map((a) => [
      String(a.id),
      `${a.owner}/${a.repo}#${a.issueNumber}`,
      `@${a.recipientLogin} (${a.recipientId})`,
      formatShare(a.shareBps),
      a.amounts.map(formatAmount).join(" + "),
      stateOf(a),
      whyHeld(a),
    ]);
    for (const line of table(["ID", "ISSUE", "RECIPIENT", "SHARE", "AMOUNT", "STATE", "WHY HELD"], rows)) ctx.out(line);
    return 0;
  },
});

export const awardsApprove = defineCommand({
  words: ["awards", "approve"],
  usage: "awards approve <id> [--by <name>]",
  description:
    "Approves an award held because its recipient pledged on the bounty (see awards list --held): it is priced and " +
    "paid like any other, whatever PAYOUT_MODE says, once its issue is closed as completed. The audit log records who " +
    "(--by, else $USER).",
  examples: ["bounty-bot awards approve 42 --by alice"],
  options: { by: { type: "string" } },
  positionals: true,
  parse({ values, positionals, env }): { id: bigint; by: string } {
    if (positionals.length !== 1) throw new UsageError("say which award: one id (see awards list --held)");
    const [id] = positionals as [string];
    if (!/^[1-9]\d{0,17}$/.test(id)) throw new UsageError(`award ids are whole numbers; not "${id}"`);
    const by = ((values.by as string | undefined) ?? env.USER ?? env.USERNAME ?? "").trim();
    if (!by) throw new UsageError("say who approves: --by <name> (or set $USER)");
    return { id: BigInt(id), by };
  },
  async run({ id, by }, ctx) {
    const r = await approveAward(await ctx.db(), id, by);
    if (r.ok) {
      const a = r.award;
      ctx.out(`Approved by ${by}: award ${id} to @${a.recipientLogin} (${a.amounts.map(formatAmount).join(" + ")}).`);
      ctx.out("It is priced and paid at the next payout run once its hold has passed and its issue is closed as completed.");
      return 0;
    }
    // A well-formed id that names no award is a bad argument too: exit 2, nothing changed.
    if (r.why === "unknown") throw new UsageError(`award ${id}: no such award (see bounty-bot awards list)`);
    const why =
      r.why === "not held"
          ? "it is not held for approval (nothing to approve)"
          : r.why === "already approved"
            ? `it was already approved by ${r.award?.approvedBy ?? "someone"}`
            : "it is cancelled";
    ctx.err(`award ${id}: ${why}; nothing changed.`);
    return 1;
  },
});
