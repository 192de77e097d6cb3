import type { Logger } from "pino";
import type { BatchPlan, BroadcastOutcome, BumpSource, Payout, SignedBatchTx, TxInspection } from "../bitcoin/wallet.js";
import { PayoutError } from "../bitcoin/batch.js";
import { INCREMENTAL_RELAY_FEE_RATE } from "../bitcoin/bump.js";
import { utcDay } from "../bitcoin/state.js";
import type { PriceResult } from "../price/oracle.js";
import type { Currency as FiatCurrency } from "../price/sources.js";
import type { PayoutSettings } from "../settings.js";
import type { Db } from "../store/db.js";
import { queueReply } from "../store/outbox.js";
import {
  awardsDueForPricing,
  abandonBump,
  adoptPayouts,
  boundPayouts,
  createPayout,
  dissolveStalePayouts,
  creditAward,
  findPayoutTx,
  listPayouts,
  listPayoutTxs,
  liveInputs,
  markBroadcast,
  markConfirmed,
  markReplaced,
  markWalletAsked,
  noteWaitingForPrice,
  paidAwards,
  recordTxError,
  releaseOrphanReservations,
  setWaitReason,
  storeBumpTx,
  storeSignedTx,
  unpaidCredits,
  type AwardRates,
  type PayoutTx,
  type SignedTxRecord,
} from "../store/payouts.js";
import { askWalletComment, bumpedComment, paidComment, replacedComment } from "./comments.js";
import { awardSats, destinationOf, dueBalances } from "./plan.js";

/** What a payout run needs from the wallet (src/bitcoin/wallet.ts PayoutWallet provides it). */
export type { TxInspection };

export interface PayoutEngine {
  readonly network: string;
  buildBatch(payouts: readonly Payout[], opts?: { exclude?: Iterable<string> }): Promise<BatchPlan>;
  /** Sends a signed transaction unchanged; "already known" answers count as sent. */
  rebroadcast(hex: string): Promise<BroadcastOutcome>;
  inspect(txid: string, inputs: string[]): Promise<TxInspection>;
  /** Gives back the coins and cap reservation of a plan that will not be broadcast. */
  abandon(plan: BatchPlan): Promise<void>;
  /** Today's fee estimate for the target, clamped to the wallet's limits (sat/kvB). */
  feeRate(): Promise<bigint>;
  /** A signed RBF replacement of a transaction this wallet sent: same inputs and outputs, higher fee. */
  bump(prev: BumpSource, feeRate: bigint): Promise<SignedBatchTx>;
}


export interface PriceSource {
  price(currency: FiatCurrency): Promise<PriceResult>;
}

/** Steps after which a test may kill the process, to prove a restart pays exactly once. */
export type Checkpoint = "signed" | "stored" | "broadcast" | "marked";

export interface PayoutRunOptions {
  db: Db;
  wallet: PayoutEngine;
  prices: PriceSource;
  settings: PayoutSettings;
  log: Logger;
  now?: () => Date;
  /** Called after each step of sending; tests use it to crash the process there. */
  checkpoint?: (step: Checkpoint, detail: { txids: string[] }) => void | Promise<void>;
  /** Woken when comments were queued, so they are sent without waiting for a sweep. */
  onQueued?: () => void;
}

export interface RunReport {
  /** False when another process was running payouts: this run did nothing. */
  ran: boolean;
  credited: number;
  priceWaits: string[];
  queued: number;
  signed: string[];
  broadcast: string[];
  confirmed: string[];
  replaced: string[];
  /** Fee bumps (RBF) signed in this run. */
  bumped: string[];
  /** Why queued payouts are still waiting, if they are. */
  waiting: string | null;
}

/** The payout run's lock: one run at a time across every process on the database. */
export const PAYOUT_LOCK = 724200202;

const FIAT: readonly FiatCurrency[] = ["USD", "EUR", "GBP"];

/**
 * One payout run. Order matters for exactly-once:
 *  1. transactions already signed are settled first (rebroadcast unchanged, confirmed, or — only on
 *     a confirmed conflict — their payouts requeued), so no payout is ever in two live transactions;
 *  2. awards past their hold are priced and credited;
 *  3. balances that are due become payouts;
 *  4. queued payouts are signed, stored with their transaction in one database transaction, and
 *     only then broadcast.
 */
export async function runPayouts(o: PayoutRunOptions): Promise<RunReport> {
  const report: RunReport = {
    ran: false,
    credited: 0,
    priceWaits: [],
    queued: 0,
    signed: [],
    broadcast: [],
    confirmed: [],
    replaced: [],
    bumped: [],
    waiting: null,
  };
  const result = await o.db.withLock(PAYOUT_LOCK, async () => {
    report.ran = true;
    const now = o.now?.() ?? new Date();
    const orphans = await releaseOrphanReservations(o.db);
    if (orphans) o.log.warn({ orphans }, "Released spending-cap reservations of transactions that were signed but never stored");
    await settleSent(o, report);
    const dissolved = await dissolveStalePayouts(o.db);
    if (dissolved) o.log.info({ dissolved }, "Unsigned payouts whose recipient changed wallets were taken apart; they are formed again");
    await priceAwards(o, report, now);
    await formPayouts(o, report, now);
    await sendQueued(o, report, now);
  });
  if (!result.locked) o.log.info("Another process is running payouts; skipping this run");
  return report;
}

async function settleSent(o: PayoutRunOptions, report: RunReport): Promise<void> {
  const replaced = new Set((await listPayoutTxs(o.db, ["replaced"])).map((t) => t.txid));
  for (const t of await listPayoutTxs(o.db, ["signed", "broadcast"])) {
    // A transaction that spent the change of a replaced one can never confirm either.
    const parent = t.inputs.map((i) => i.split(":")[0]!).find((txid) => replaced.has(txid));
    if (parent) {
      if (await replace(o, t, `it spent the change of ${parent}, which was replaced`)) {
        replaced.add(t.txid);
        report.replaced.push(t.txid);
        o.log.warn({ txid: t.txid, parent }, "A payout transaction built on a replaced one is void; its payouts are queued again");
      }
      continue;
    }
    let seen: TxInspection;
    try {
      seen = await o.wallet.inspect(t.txid, t.inputs);
    } catch (err) {
      await noteTxError(o, t, `could not check the transaction: ${message(err)}`);
      continue;
    }
    if (seen.state === "confirmed") {
      if (seen.confirmations >= o.settings.confirmations) {
        if (t.state === "signed") await announce(o, t, report);
        if (await o.db.transaction((tx) => markConfirmed(tx, t.id, seen.blockHeight))) {
          report.confirmed.push(t.txid);
          o.log.info({ txid: t.txid, confirmations: seen.confirmations }, "Payout transaction confirmed");
        }
      } else if (t.state === "signed") {
        await announce(o, t, report);
      }
      continue;
    }
    if (seen.state === "mempool") {
      if (t.state === "signed") await announce(o, t, report);
      else await maybeBump(o, t, report);
      continue;
    }
    if (seen.state === "conflicted") {
      if (seen.confirmed) {
        // Our own fee bump (or the original a bump replaced) confirmed: the payouts follow it.
        const ours = await findPayoutTx(o.db, seen.by);
        const reason = ours
          ? `${seen.by}, ${ours.replacesTxId === t.id ? "its fee bump" : "the transaction it fee-bumped"}, confirmed instead`
          : `its coins were spent by ${seen.by}, confirmed`;
        if (await replace(o, t, reason, ours?.id)) {
          replaced.add(t.txid);
          report.replaced.push(t.txid);
          o.log.warn({ txid: t.txid, by: seen.by }, "A confirmed transaction conflicts with a payout transaction; its payouts are queued again");
        }
      } else {
        // Not final: the conflicting spend may still be dropped. Wait; never pay twice.
        await noteTxError(o, t, `a conflicting transaction ${seen.by} is in the mempool; waiting for one of them to confirm`);
      }
      continue;
    }
    // Unknown to the backend: signed before a crash, or dropped from mempools. Send it again, unchanged.
    await send(o, t, report);
  }
}

/**
 * The transaction can never confirm: its payouts go back to the queue. Where the bot had already
 * announced it, the issue is told, so nobody waits for a transaction that will not come.
 */
async function replace(o: PayoutRunOptions, t: PayoutTx, reason: string, adoptedBy?: bigint): Promise<boolean> {
  const done = await o.db.transaction(async (tx) => {
    // Payouts another of our transactions pays are bound to it first: nothing is queued again then.
    if (adoptedBy !== undefined) await adoptPayouts(tx, adoptedBy, "broadcast");
    const announced = t.state === "broadcast" ? await paidAwards(tx, t.id) : [];
    if (!(await markReplaced(tx, t.id, reason))) return false;
    for (const p of announced) {
      await queueReply(
        tx,
        `replaced:${p.awardId}:${t.txid}`,
        { installationId: p.installationId, owner: p.owner, repo: p.repo, issueNumber: p.issueNumber },
        replacedComment(p.recipientLogin, t.txid, o.settings.explorerUrl),
      );
    }
    return true;
  });
  if (done) o.onQueued?.();
  return done;
}

async function send(o: PayoutRunOptions, t: PayoutTx, report: RunReport): Promise<void> {
  let outcome: BroadcastOutcome;
  try {
    outcome = await o.wallet.rebroadcast(t.hex);
  } catch (err) {
    outcome = { txid: t.txid, status: "unknown", reason: message(err) };
  }
  if (outcome.status === "sent") {
    await o.checkpoint?.("broadcast", { txids: [t.txid] });
    await announce(o, t, report);
    await o.checkpoint?.("marked", { txids: [t.txid] });
    return;
  }
  if (outcome.status === "rejected" && t.replacesTxId !== null) {
    // A fee bump the node refused never reached the network: the original carries the payouts on.
    await o.db.transaction((tx) => abandonBump(tx, t, `the network refused the fee bump: ${outcome.reason}`));
    o.log.warn({ txid: t.txid, reason: outcome.reason }, "The network refused a fee bump; the original transaction stays");
    return;
  }
  // Refused or unreachable: the payouts stay with this transaction (its coins are still ours, or it
  // may yet arrive); the next run tries again. An operator sees the reason in `payouts list`.
  await noteTxError(o, t, outcome.status === "rejected" ? `the network refused it: ${outcome.reason}` : `could not send it: ${outcome.reason}`);
}

/** Marks a transaction broadcast and queues the payout comments, once. */
async function announce(o: PayoutRunOptions, t: PayoutTx, report: RunReport): Promise<void> {
  const done = await o.db.transaction(async (tx) => {
    if (!(await markBroadcast(tx, t.id))) return false;
    const paid = await paidAwards(tx, t.id);
    const payouts = t.outputs.length;
    if (t.replacesTxId !== null) {
      const old = await findPayoutTx(tx, t.replacesTxId);
      for (const p of paid) {
        await queueReply(
          tx,
          `bumped:${p.awardId}:${t.txid}`,
          { installationId: p.installationId, owner: p.owner, repo: p.repo, issueNumber: p.issueNumber },
          bumpedComment({ login: p.recipientLogin, oldTxid: old?.txid ?? "?", newTxid: t.txid, feeSats: t.feeSats, feeRateSatKvb: t.feeRateSatKvb }, o.settings.explorerUrl),
        );
      }
      return true;
    }
    for (const p of paid) {
      const body = paidComment(p, { txid: t.txid, feeSats: t.feeSats, payouts }, o.settings.explorerUrl);
      const where = { installationId: p.installationId, owner: p.owner, repo: p.repo };
      await queueReply(tx, `paid:${p.awardId}:${t.txid}:issue`, { ...where, issueNumber: p.issueNumber }, body);
      if (p.pr && !(p.pr.owner === p.owner && p.pr.repo === p.repo && p.pr.number === p.issueNumber)) {
        await queueReply(tx, `paid:${p.awardId}:${t.txid}:pr`, { installationId: p.installationId, ...p.pr, issueNumber: p.pr.number }, body);
      }
    }
    return true;
  });
  if (done) {
    report.broadcast.push(t.txid);
    o.log.info({ txid: t.txid, feeSats: t.feeSats.toString(), payouts: t.outputs.length }, "Payout transaction broadcast");
    o.onQueued?.();
  }
}

/**
 * A transaction waiting in the mempool longer than PAYOUT_BUMP_AFTER, at a fee rate well below
 * today's estimate (at least 25% and 1 sat/vB), is replaced (RBF) by one spending the same coins, paying the same outputs and a higher
 * fee from the change. Only the newest of a chain of bumps is bumped again.
 */
async function maybeBump(o: PayoutRunOptions, t: PayoutTx, report: RunReport): Promise<void> {
  const after = o.settings.bumpAfterMs;
  const now = o.now?.() ?? new Date();
  if (after === null || !t.broadcastAt || now.getTime() - t.broadcastAt.getTime() < after) return;
  if ((await boundPayouts(o.db, t.id)) === 0) return;
  let rate: bigint;
  try {
    rate = await o.wallet.feeRate();
  } catch (err) {
    await noteTxError(o, t, `could not get a fee estimate to bump it: ${message(err)}`);
    return;
  }
  // Worth it only for a real rise: BIP125 needs at least +1 sat/vB anyway, and small bumps waste fees.
  if (rate < t.feeRateSatKvb + INCREMENTAL_RELAY_FEE_RATE || rate * 4n < t.feeRateSatKvb * 5n) return;
  if (t.inputRefs.length !== t.inputs.length) {
    await noteTxError(o, t, "it cannot be fee-bumped: its input keys were not recorded");
    return;
  }
  let bump: SignedBatchTx;
  try {
    bump = await o.wallet.bump(
      {
        hex: t.hex,
        inputs: t.inputRefs,
        change: t.change ? { vout: t.change.vout, index: t.change.index } : null,
        outputs: new Map(t.outputs.map((x) => [x.payoutId, x.vout])),
      },
      rate,
    );
  } catch (err) {
    await noteTxError(o, t, `it could not be fee-bumped: ${message(err)}`);
    return;
  }
  const now2 = o.now?.() ?? new Date();
  try {
    await o.db.transaction((tx) => storeBumpTx(tx, record(o, bump, now2), t));
  } catch (err) {
    await o.wallet.abandon({ transactions: [bump], feeRate: rate }).catch(() => undefined);
    throw err;
  }
  report.bumped.push(bump.txid);
  await o.checkpoint?.("stored", { txids: [bump.txid] });
  o.log.info({ txid: t.txid, bump: bump.txid, oldFee: t.feeSats.toString(), newFee: bump.fee.toString() }, "Fee-bumped a payout transaction");
  // Read back only once the store committed: an error here must not abandon a stored transaction.
  const stored = await findPayoutTx(o.db, bump.txid);
  if (stored) await send(o, stored, report);
}

/** What is stored of a signed transaction. */
function record(o: PayoutRunOptions, t: SignedBatchTx, now: Date): SignedTxRecord {
  return {
    txid: t.txid,
    hex: t.hex,
    network: o.wallet.network,
    feeSats: t.fee,
    feeRateSatKvb: t.feeRate,
    vsize: t.vsize,
    payoutSats: t.payoutSats,
    inputs: t.inputs.map((i) => `${i.txid}:${i.vout}`),
    inputRefs: t.inputs.map((i) => ({ txid: i.txid, vout: i.vout, sats: i.sats, chain: i.chain, index: i.index })),
    change: t.change,
    dayUtc: utcDay(now),
    outputs: new Map([...t.outputs].map(([id, vout]) => [BigInt(id), vout])),
  };
}

async function noteTxError(o: PayoutRunOptions, t: PayoutTx, reason: string): Promise<void> {
  o.log.warn({ txid: t.txid, reason }, "Payout transaction not settled yet");
  await recordTxError(o.db, t.id, reason);
}

async function priceAwards(o: PayoutRunOptions, report: RunReport, now: Date): Promise<void> {
  const due = await awardsDueForPricing(o.db, now);
  if (due.length === 0) return;
  const needed = new Set(due.flatMap((a) => a.amounts.map((x) => x.currency)));
  const rates = new Map<string, string>();
  const stored: AwardRates = {};
  for (const c of FIAT) {
    if (!needed.has(c)) continue;
    let r: PriceResult;
    try {
      r = await o.prices.price(c);
    } catch (err) {
      report.priceWaits.push(`${c}: ${message(err)}`);
      continue;
    }
    if (!r.ok) {
      // Never pay on a stale or disputed price: awards in this currency wait for the next run.
      report.priceWaits.push(r.reason);
      o.log.warn({ currency: c, reason: r.reason }, "No reliable BTC price; awards in this currency wait");
      continue;
    }
    rates.set(c, r.rateText);
    stored[c] = { price: r.rateText, sources: r.fresh.map((q) => q.source), at: r.at.toISOString() };
  }
  const unpriced = due.filter((award) => award.amounts.some((a) => a.currency !== "BTC" && !rates.has(a.currency)));
  if (unpriced.length) await o.db.transaction((tx) => noteWaitingForPrice(tx, unpriced.map((a) => a.id)));
  for (const award of due) {
    if (unpriced.includes(award)) continue;
    const sats = awardSats(award.amounts, rates);
    if (sats <= 0n) {
      o.log.warn({ award: award.id.toString() }, "Award is worth less than one sat; left unpaid");
      continue;
    }
    const used: AwardRates = {};
    for (const a of award.amounts) if (stored[a.currency]) used[a.currency] = stored[a.currency]!;
    if (await o.db.transaction((tx) => creditAward(tx, award, sats, used))) report.credited++;
  }
}

async function formPayouts(o: PayoutRunOptions, report: RunReport, now: Date): Promise<void> {
  const credits = await unpaidCredits(o.db);
  const payable = [];
  for (const award of credits) {
    const d = destinationOf(award, { now, unclaimedDays: o.settings.unclaimedDays, network: o.wallet.network });
    if (d.kind === "pay") {
      payable.push({ award, payee: d.payee });
      continue;
    }
    if (d.askWallet) {
      await o.db.transaction(async (tx) => {
        if (!(await markWalletAsked(tx, award.id))) return;
        await queueReply(
          tx,
          `ask-wallet:${award.id}`,
          { installationId: award.installationId, owner: award.owner, repo: award.repo, issueNumber: award.issueNumber },
          askWalletComment({
            login: award.recipientLogin,
            sats: award.sats,
            unclaimedDays: o.settings.unclaimedDays,
            charityName: award.unclaimedCharity?.name ?? null,
          }),
        );
      });
      o.onQueued?.();
    }
  }
  const { due } = dueBalances(payable, o.settings.minSats);
  const state = o.settings.mode === "approve" ? "awaiting_approval" : "queued";
  for (const b of due) {
    await o.db.transaction((tx) => createPayout(tx, b.payee, b.awards, state));
    report.queued++;
  }
}

async function sendQueued(o: PayoutRunOptions, report: RunReport, now: Date): Promise<void> {
  let queued = await listPayouts(o.db, { state: "queued" });
  if (queued.length === 0) return;
  const exclude = await liveInputs(o.db);
  // Pay as many as the wallet can: all at once, else the oldest half, quarter, … (funds or a cap may not cover all).
  let take = queued.length;
  let plan: BatchPlan | undefined;
  let lastError = "";
  while (take > 0 && !plan) {
    const batch = queued.slice(0, take);
    try {
      plan = await o.wallet.buildBatch(
        batch.map((p) => ({ id: p.id.toString(), address: p.address, sats: p.sats })),
        { exclude },
      );
    } catch (err) {
      if (err instanceof PayoutError && err.code === "invalid-payout" && err.problems.length) {
        // A payout the engine will never accept (e.g. its address is for another network): set it aside, say why.
        for (const pr of err.problems) await setWaitReason(o.db, [BigInt(pr.payoutId)], pr.reason);
        const bad = new Set(err.problems.map((pr) => pr.payoutId));
        queued = queued.filter((p) => !bad.has(p.id.toString()));
        take = Math.min(take, queued.length);
        lastError = err.message;
        continue;
      }
      lastError = message(err);
      const retriable = err instanceof PayoutError && ["insufficient-funds", "over-tx-cap", "over-daily-cap", "too-large"].includes(err.code);
      if (!retriable) break;
      take = Math.floor(take / 2);
    }
  }
  if (!plan) {
    report.waiting = lastError || "nothing to pay";
    await setWaitReason(o.db, queued.map((p) => p.id), report.waiting);
    o.log.warn({ payouts: queued.length, reason: report.waiting }, "Queued payouts could not be paid now; they stay queued");
    return;
  }
  const txids = plan.transactions.map((t) => t.txid);
  await o.checkpoint?.("signed", { txids });

  try {
    await o.db.transaction(async (tx) => {
      for (const t of plan.transactions) await storeSignedTx(tx, record(o, t, now));
    });
  } catch (err) {
    // Nothing was stored, so nothing may be broadcast: give the coins and the cap back.
    await o.wallet.abandon(plan).catch(() => undefined);
    throw err;
  }
  report.signed.push(...txids);
  await o.checkpoint?.("stored", { txids });
  const remaining = queued.length - plan.transactions.reduce((n, t) => n + t.outputs.size, 0);
  if (remaining > 0) {
    report.waiting = lastError;
    const left = await listPayouts(o.db, { state: "queued" });
    await setWaitReason(o.db, left.map((p) => p.id), lastError || null);
  }
  // Read back only once the store committed: an error here must not abandon a stored transaction.
  for (const txid of txids) {
    const t = await findPayoutTx(o.db, txid);
    if (t) await send(o, t, report);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
