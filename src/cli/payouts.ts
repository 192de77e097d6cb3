import { runPayouts, type RunReport } from "../payouts/run.js";
import { approvePayouts, listPayouts, PAYOUT_STATES, type PayoutRecord, type PayoutState } from "../store/payouts.js";
import { lastSolvency } from "../store/solvency.js";
import { table } from "./format.js";
import { defineCommand, UsageError } from "./types.js";

const payee = (p: PayoutRecord): string => (p.kind === "charity" ? `charity: ${p.charityName ?? p.charityId}` : (p.login ?? `user ${p.userId}`));

export const payoutsList = defineCommand({
  words: ["payouts", "list"],
  usage: "payouts list [--state <state>]",
  description:
    `Lists payouts, oldest first: id, state, payee, address, sats, txid and why it waits; first, when the last payout run's solvency check failed, why nothing is signed. States: ${PAYOUT_STATES.join(", ")}.`,
  examples: ["bounty-bot payouts list", "bounty-bot payouts list --state awaiting_approval"],
  options: { state: { type: "string" } },
  parse({ values }): { state?: PayoutState } {
    const state = values.state as string | undefined;
    if (state === undefined) return {};
    if (!(PAYOUT_STATES as readonly string[]).includes(state)) {
      throw new UsageError(`--state must be one of ${PAYOUT_STATES.join(", ")}, not "${state}"`);
    }
    return { state: state as PayoutState };
  },
  async run({ state }, ctx) {
    const db = await ctx.db();
    const solvency = await lastSolvency(db);
    if (solvency && !solvency.ok) {
      ctx.out(`Payouts are stopped: the solvency check of ${solvency.checkedAt.toISOString()} failed; nothing is signed until it passes (bounty-bot ledger check):`);
      for (const p of solvency.problems) ctx.out(`  - ${p}`);
      ctx.out("");
    }
    const payouts = await listPayouts(db, { state });
    if (payouts.length === 0) {
      ctx.out(state ? `No payouts in state ${state}.` : "No payouts.");
      return 0;
    }
    const rows = payouts.map((p) => [String(p.id), p.state, payee(p), p.address, String(p.sats), p.txid ?? "-", p.waitReason ?? ""]);
    for (const line of table(["ID", "STATE", "PAYEE", "ADDRESS", "SATS", "TXID", "WAIT REASON"], rows)) ctx.out(line);
    return 0;
  },
});

export const payoutsRun = defineCommand({
  words: ["payouts", "run"],
  usage: "payouts run",
  description:
    "Runs payouts once, now: settles sent transactions, prices awards past their hold, pays due balances in one batch. Exits 0 when payouts wait (the report says why), non-zero on an error.",
  examples: ["bounty-bot payouts run"],
  parse: () => undefined,
  async run(_input, ctx) {
    const settings = ctx.settings();
    const db = await ctx.db();
    const wallet = await ctx.wallet();
    const report = await runPayouts({ db, wallet, prices: ctx.prices(), settings: settings.payout, log: ctx.log });
    for (const line of reportLines(report, settings.payout.mode)) ctx.out(line);
    return 0;
  },
});

/** A payout run's report, one fact a line. */
export function reportLines(r: RunReport, mode: "auto" | "approve" = "auto"): string[] {
  if (!r.ran) return ["Another process is running payouts right now; this run did nothing. Try again in a moment."];
  const list = (txids: string[]) => (txids.length ? txids.join(", ") : "none");
  const lines = [
    `Awards priced and credited:  ${r.credited}`,
    `New payouts:                 ${r.queued}${mode === "approve" && r.queued ? " (awaiting approval: bounty-bot payouts approve)" : ""}`,
    `Transactions signed:         ${list(r.signed)}`,
    `Transactions broadcast:      ${list(r.broadcast)}`,
    `Transactions confirmed:      ${list(r.confirmed)}`,
  ];
  if (r.bumped.length) lines.push(`Fee bumps (RBF) sent:        ${list(r.bumped)}`);
  if (r.joined.length) lines.push(`Joined a batch (RBF):        ${list(r.joined)} (queued payouts added to an unconfirmed batch)`);
  if (r.replaced.length) lines.push(`Transactions replaced:       ${list(r.replaced)} (their payouts are queued again)`);
  if (r.heldOverTxCap.length) {
    lines.push(`Over PAYOUT_MAX_TX_SATS:     ${r.heldOverTxCap.join(", ")} (awaiting approval: bounty-bot payouts approve <id>)`);
  }
  if (r.solvency && !r.solvency.ok) lines.push(`Solvency check FAILED:       nothing was signed: ${r.solvency.problems.join("; ")}`);
  for (const w of r.priceWaits) lines.push(`Waiting for a price:         ${w}`);
  if (r.waiting) lines.push(`Queued payouts wait:         ${r.waiting}`);
  return lines;
}

export const payoutsApprove = defineCommand({
  words: ["payouts", "approve"],
  usage: "payouts approve <id…|--all> [--by <name>]",
  description:
    "Releases payouts awaiting approval to the next run: those PAYOUT_MODE=approve holds, and (by id only, never --all) one over PAYOUT_MAX_TX_SATS, which is then sent in a transaction of its own within PAYOUT_DAILY_CAP_SATS. The audit log records who (--by, else $USER).",
  examples: ["bounty-bot payouts approve 12 13", "bounty-bot payouts approve --all --by alice"],
  options: { all: { type: "boolean" }, by: { type: "string" } },
  positionals: true,
  parse({ values, positionals, env }): { ids: bigint[] | "all"; by: string } {
    const all = values.all === true;
    if (all && positionals.length) throw new UsageError("give payout ids or --all, not both");
    if (!all && positionals.length === 0) throw new UsageError("say which payouts: their ids (see payouts list --state awaiting_approval), or --all");
    const bad = positionals.filter((p) => !/^[1-9]\d{0,17}$/.test(p));
    if (bad.length) throw new UsageError(`payout ids are whole numbers; not ${bad.map((b) => `"${b}"`).join(", ")}`);
    const by = ((values.by as string | undefined) ?? env.USER ?? env.USERNAME ?? "").trim();
    if (!by) throw new UsageError("say who approves: --by <name> (or set $USER)");
    return { ids: all ? "all" : [...new Set(positionals)].map(BigInt), by };
  },
  async run({ ids, by }, ctx) {
    const db = await ctx.db();
    const approved = await approvePayouts(db, ids, by);
    if (approved.length) {
      const over = (await listPayouts(db, { ids: approved })).filter((p) => p.overTxCap === "approved").map((p) => p.id);
      ctx.out(`Approved by ${by}: ${approved.join(", ")}. They are paid at the next payout run.`);
      if (over.length) ctx.out(`Over PAYOUT_MAX_TX_SATS, each sent in a transaction of its own (within PAYOUT_DAILY_CAP_SATS): ${over.join(", ")}.`);
    }
    if (ids === "all") {
      const over = (await listPayouts(db, { state: "awaiting_approval" })).filter((p) => p.overTxCap === "requested").map((p) => p.id);
      if (over.length) ctx.out(`Not approved by --all: ${over.length} payout(s) over PAYOUT_MAX_TX_SATS; approve each by its id: ${over.join(", ")}.`);
      else if (approved.length === 0) ctx.out("No payouts were awaiting approval.");
      return 0;
    }
    const moved = new Set(approved.map(String));
    const missed = ids.filter((id) => !moved.has(String(id)));
    if (missed.length === 0) return 0;
    const found = new Map((await listPayouts(db, { ids: missed })).map((p) => [String(p.id), p.state]));
    for (const id of missed) {
      const state = found.get(String(id));
      ctx.err(`payout ${id}: ${state ? `${state}, not awaiting approval` : "no such payout"}`);
    }
    return 1;
  },
});
