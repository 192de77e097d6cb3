import type { Logger } from "pino";
import type { BatchCheck, BatchPlan, BatchPlanner, BroadcastOutcome, BumpSource, JoinOutcome, Payout, SignedBatchTx, TxInspection } from "../bitcoin/wallet.js";
import { INCREMENTAL_RELAY_FEE_RATE } from "../bitcoin/bump.js";
import { replacementProblems, type ExpectedOutput } from "../bitcoin/join.js";
import type { NetworkName } from "../bitcoin/network.js";
import { utcDay } from "../bitcoin/state.js";
import type { PriceResult } from "../price/oracle.js";
import type { Currency as FiatCurrency } from "../price/sources.js";
import type { PayoutSettings } from "../settings.js";
import type { Db } from "../store/db.js";
import { checkLedgerTotals } from "../store/ledgerCheck.js";
import { queueReply } from "../store/outbox.js";
import { liveTxs, payoutFacts, payoutSources, peopleLiabilities, recordSolvency } from "../store/solvency.js";
import { committedOutflow, failureReason, payoutProblems, solvencyReport, type Holdings, type SolvencyReport } from "../ledger/solvency.js";
import {
  awardsDueForPricing,
  abandonBump,
  adoptPayouts,
  boundPayouts,
  createPayout,
  dissolveStalePayouts,
  creditAward,
  DestinationChangedError,
  findPayoutTx,
  holdOverTxCap,
  listPayouts,
  listPayoutTxs,
  liveInputs,
  markBroadcast,
  markConfirmed,
  markReplaced,
  markWalletAsked,
  noteWaitingForPrice,
  overdrawnWithdrawals,
  paidAwards,
  paidWithdrawals,
  recordTxError,
  releaseOrphanReservations,
  setWaitReason,
  storeBumpTx,
  storeJoinTx,
  storeSignedTx,
  unpaidCredits,
  earningsAvailable,
  type AwardRates,
  type Payee,
  type PayoutRecord,
  type PayoutTx,
  type SignedTxRecord,
} from "../store/payouts.js";
import { LedgerRefusal } from "../store/ledger.js";
import { askWalletComment, bumpedComment, earningsPaidComments, paidComment, replacedComment, withdrawalPaidComment } from "./comments.js";
import { paidEarnings } from "../store/paidEarnings.js";
import { charityBalances } from "../store/charityBalances.js";
import { feeObservationsSince, feeRatesSince, recordFeeRate } from "../store/feeHistory.js";
import { bumpForDeadline, decideTiming, TIMING_DEFAULTS, type TimingDecision, type TimingOptions } from "./timing.js";
import { awardSats, charityDestination, destinationOf, dueBalances, earningsBeyondAwards, firstFit, treasuryFit, waitFor, walletDestination, withdrawalOutput, type Fit, type Unfit } from "./plan.js";

/** What a payout run needs from the wallet (src/bitcoin/wallet.ts PayoutWallet provides it). */
export type { TxInspection };

/** The wallet's coins as its last sync counted them (src/bitcoin/wallet.ts WalletSnapshot). */
export interface WalletHoldings {
  confirmedSats: bigint;
  unconfirmedSats: bigint;
  /** Each coin as "txid:vout". */
  utxos: ReadonlyArray<{ id: string }>;
}

export interface PayoutEngine {
  readonly network: string;
  /** PAYOUT_MAX_TX_SATS and PAYOUT_DAILY_CAP_SATS, for the reasons payouts wait. */
  readonly limits: { maxTxSats: bigint; dailyCapSats: bigint };
  /** `overTxCap`: payout id → sats an operator approved above PAYOUT_MAX_TX_SATS; each goes alone. */
  /** `feeRate`: sign at this rate (sat/kvB; clamped like feeRate()) instead of asking for an estimate. */
  buildBatch(payouts: readonly Payout[], opts?: { exclude?: Iterable<string>; overTxCap?: ReadonlyMap<string, bigint>; feeRate?: bigint }): Promise<BatchPlan>;
  /** What buildBatch would answer now, for any set of payouts, without signing or reserving anything. */
  planner(opts?: { exclude?: Iterable<string>; feeRate?: bigint }): Promise<BatchPlanner>;
  /** Sends a signed transaction unchanged; "already known" answers count as sent. */
  rebroadcast(hex: string): Promise<BroadcastOutcome>;
  inspect(txid: string, inputs: string[]): Promise<TxInspection>;
  /** Gives back the coins and cap reservation of a plan that will not be broadcast. */
  abandon(plan: BatchPlan): Promise<void>;
  /** Today's fee estimate for the target, clamped to the wallet's limits (sat/kvB). */
  feeRate(): Promise<bigint>;
  /** A signed RBF replacement of a transaction this wallet sent: same inputs and outputs, higher fee. */
  bump(prev: BumpSource, feeRate: bigint, opts?: { overTxCap?: ReadonlyMap<string, bigint> }): Promise<SignedBatchTx>;
  /** A signed RBF replacement of a transaction this wallet sent that pays its outputs the same and `payouts` too, if that costs less than `cheaperThan` more. */
  join(prev: BumpSource, payouts: readonly Payout[], feeRate: bigint, opts: { exclude?: Iterable<string>; cheaperThan: bigint }): Promise<JoinOutcome>;
  /** Reads the wallet's coins from the chain now: what the solvency check counts as held. */
  sync(): Promise<WalletHoldings>;
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
  /** Replacements (RBF) signed in this run that add queued payouts to a batch in the mempool (also in `signed`). */
  joined: string[];
  /** Why queued payouts are still waiting, if they are. */
  waiting: string | null;
  /** Payouts that by themselves are over PAYOUT_MAX_TX_SATS, now waiting for an operator's approval. */
  heldOverTxCap: string[];
  /** The latest solvency check of this run (null: none ran); when it failed nothing was signed. */
  solvency: Pick<SolvencyReport, "ok" | "problems" | "summary"> | null;
}

/** The payout run's lock: one run at a time across every process on the database. */
export const PAYOUT_LOCK = 724200202;

const FIAT: readonly FiatCurrency[] = ["USD", "EUR", "GBP"];

/**
 * Confirmations of the original before the payouts a replacement added to it are queued again, when
 * the original confirmed instead: the replacement was on the network too, and a reorganisation
 * that swapped the two would otherwise pay those payouts twice.
 */
const REQUEUE_DEPTH = 6;

/** How often one run forms and signs again when a wallet changed under it before a batch was stored. */
const REFORM_ROUNDS = 3;

/**
 * One payout run. Order matters for exactly-once:
 *  0. the solvency check (src/ledger/solvency.ts) runs first, and again before queued payouts are
 *     signed: while it fails nothing is signed (no payout, no fee bump); settling goes on;
 *  1. transactions already signed are settled first (rebroadcast unchanged, confirmed, or — only on
 *     a confirmed conflict — their payouts requeued), so no payout is ever in two live transactions;
 *  2. awards past their hold are priced and credited;
 *  3. balances that are due become payouts (after taking apart unsigned ones whose recipient changed wallets);
 *  4. the queued payouts that fit (plan.ts firstFit) are signed, stored with their transaction in one
 *     database transaction that reads every destination again, and only then broadcast. A wallet
 *     changed before that store drops the signed batch: back to 3.
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
    joined: [],
    waiting: null,
    heldOverTxCap: [],
    solvency: null,
  };
  const result = await o.db.withLock(PAYOUT_LOCK, async () => {
    report.ran = true;
    const now = o.now?.() ?? new Date();
    const orphans = await releaseOrphanReservations(o.db);
    if (orphans) o.log.warn({ orphans }, "Released spending-cap reservations of transactions that were signed but never stored");
    await checkSolvency(o, report, now);
    await settleSent(o, report);
    await priceAwards(o, report, now);
    await observeFeeRate(o, now);
    for (let round = 1; ; round++) {
      const dissolved = await dissolveStalePayouts(o.db);
      if (dissolved) o.log.info({ dissolved }, "Unsigned payouts whose recipient changed wallets were taken apart; they are formed again");
      await formPayouts(o, report, now);
      if ((await sendQueued(o, report, now)) === "done") break;
      if (round === REFORM_ROUNDS) {
        o.log.warn({ rounds: round }, "Recipients kept changing wallets while payouts were signed; the next run pays them");
        break;
      }
    }
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
        const reason = ours ? `${seen.by}, ${await relation(o, t, ours)}, confirmed instead` : `its coins were spent by ${seen.by}, confirmed`;
        if (ours && seen.confirmations < REQUEUE_DEPTH && (await carriesMore(o, t, ours))) {
          // A replacement that added payouts lost a race to the original: both were on the network, so
          // a reorganisation could still bring it back. Its added payouts wait until that is unlikely.
          await noteTxError(o, t, `${reason} (${seen.confirmations} of ${REQUEUE_DEPTH} confirmations); the payouts it added are queued again at ${REQUEUE_DEPTH}`);
          continue;
        }
        if (await replace(o, t, reason, ours?.id)) {
          replaced.add(t.txid);
          report.replaced.push(t.txid);
          o.log.warn({ txid: t.txid, by: seen.by }, "A confirmed transaction conflicts with a payout transaction; its payouts are queued again");
        }
      } else if (t.state === "signed" && t.replacesTxId !== null && (await findPayoutTx(o.db, t.replacesTxId))?.txid === seen.by) {
        // Our replacement (a bump or a join), stored but never sent (a crash came first), of the
        // transaction in the mempool it was signed to replace: send it now. Only one of them can confirm.
        await send(o, t, report);
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
    const withdrawals = t.state === "broadcast" ? await paidWithdrawals(tx, t.id) : [];
    if (!(await markReplaced(tx, t.id, reason))) return false;
    for (const w of withdrawals) {
      await queueReply(tx, `replaced:withdrawal:${w.payoutId}:${t.txid}`, w.ask, replacedComment(w.login, t.txid, o.settings.explorerUrl));
    }
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
  if (outcome.status === "rejected" && t.replacesTxId !== null && (await joinedTo(o, t))) {
    if (t.state === "signed") {
      // A join the node refused on its first sending never reached the network: the original carries its
      // own payouts on, and the payouts it added are queued again (the original conflicts with it).
      if (await replace(o, t, `the network refused it: ${outcome.reason}`, t.replacesTxId)) report.replaced.push(t.txid);
      o.log.warn({ txid: t.txid, reason: outcome.reason }, "The network refused a replacement that added payouts; they are queued again");
      return;
    }
    // Sent before: it may still be out there, so its payouts stay with it (below).
  } else if (outcome.status === "rejected" && t.replacesTxId !== null) {
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
    let paid = await paidAwards(tx, t.id);
    let withdrawals = await paidWithdrawals(tx, t.id);
    const payouts = t.outputs.length;
    // The payouts the replaced transaction paid were announced with it: they are told of the new txid.
    // Those a join added are announced here for the first time, as paid by this transaction.
    let carried = new Set<string>();
    if (t.replacesTxId !== null) {
      const old = await findPayoutTx(tx, t.replacesTxId);
      carried = new Set((old?.outputs ?? t.outputs).map((x) => x.payoutId));
      // A join pays payouts its predecessor did not: its carried payees are told why it changed.
      const joined = t.outputs.some((x) => !carried.has(x.payoutId));
      const fresh = paid.filter((p) => !carried.has(p.payout.id.toString()));
      const freshWithdrawals = withdrawals.filter((w) => !carried.has(w.payoutId.toString()));
      paid = paid.filter((p) => carried.has(p.payout.id.toString()));
      withdrawals = withdrawals.filter((w) => carried.has(w.payoutId.toString()));
      for (const p of paid) {
        await queueReply(
          tx,
          `bumped:${p.awardId}:${t.txid}`,
          { installationId: p.installationId, owner: p.owner, repo: p.repo, issueNumber: p.issueNumber },
          bumpedComment({ login: p.recipientLogin, oldTxid: old?.txid ?? "?", newTxid: t.txid, feeSats: t.feeSats, feeRateSatKvb: t.feeRateSatKvb, joined }, o.settings.explorerUrl),
        );
      }
      for (const w of withdrawals) {
        await queueReply(
          tx,
          `bumped:withdrawal:${w.payoutId}:${t.txid}`,
          w.ask,
          bumpedComment({ login: w.login, oldTxid: old?.txid ?? "?", newTxid: t.txid, feeSats: t.feeSats, feeRateSatKvb: t.feeRateSatKvb, joined }, o.settings.explorerUrl),
        );
      }
      paid = fresh;
      withdrawals = freshWithdrawals;
    }
    for (const w of withdrawals) {
      await queueReply(tx, `paid:withdrawal:${w.payoutId}:${t.txid}`, w.ask, withdrawalPaidComment(w, { txid: t.txid, feeSats: t.feeSats, feeRateSatKvb: t.feeRateSatKvb }, o.settings.explorerUrl));
    }
    for (const p of paid) {
      const body = paidComment(p, { txid: t.txid, feeSats: t.feeSats, payouts }, o.settings.explorerUrl);
      const where = { installationId: p.installationId, owner: p.owner, repo: p.repo };
      await queueReply(tx, `paid:${p.awardId}:${t.txid}:issue`, { ...where, issueNumber: p.issueNumber }, body);
      if (p.pr && !(p.pr.owner === p.owner && p.pr.repo === p.repo && p.pr.number === p.issueNumber)) {
        await queueReply(tx, `paid:${p.awardId}:${t.txid}:pr`, { installationId: p.installationId, ...p.pr, issueNumber: p.pr.number }, body);
      }
    }
    const earnings = (await paidEarnings(tx, t.id)).filter((e) => !carried.has(e.payout.id.toString()));
    for (const c of earningsPaidComments(earnings, { txid: t.txid, feeSats: t.feeSats, payouts }, o.settings.explorerUrl)) {
      await queueReply(tx, c.key, c.where, c.body);
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
  // With PAYOUT_MAX_DELAY a batch sent low is bumped only when its deadline comes near, not after PAYOUT_BUMP_AFTER.
  const timed = timingOn(o);
  if (after === null || (!timed && (!t.broadcastAt || now.getTime() - t.broadcastAt.getTime() < after))) return;
  if ((await boundPayouts(o.db, t.id)) === 0) return;
  if (!report.solvency?.ok) {
    // Rebroadcasts and confirmations go on; a bump is a new signature, and waits for the check.
    await noteTxError(o, t, `not fee-bumped: ${failureReason(report.solvency ?? { problems: ["it has not run"] })}`);
    return;
  }
  let rate: bigint;
  try {
    rate = await o.wallet.feeRate();
  } catch (err) {
    await noteTxError(o, t, `could not get a fee estimate to bump it: ${message(err)}`);
    return;
  }
  if (timed) {
    const paying = await listPayouts(o.db, { ids: t.outputs.map((x) => BigInt(x.payoutId)) });
    if (paying.length === 0) return;
    const d = bumpForDeadline({ now: now.getTime(), deadline: Math.min(...paying.map((p) => deadlineOf(o, p))), txRate: t.feeRateSatKvb, estimates: new Map([[1, rate]]), options: timingOptions(o) });
    if (!d.bump) return;
    rate = d.rate;
  }
  // Worth it only for a real rise: BIP125 needs at least +1 sat/vB anyway, and small bumps waste fees (a deadline takes any rise).
  if (rate < t.feeRateSatKvb + INCREMENTAL_RELAY_FEE_RATE || (!timed && rate * 4n < t.feeRateSatKvb * 5n)) return;
  if (t.inputRefs.length !== t.inputs.length) {
    await noteTxError(o, t, "it cannot be fee-bumped: its input keys were not recorded");
    return;
  }
  let bump: SignedBatchTx;
  try {
    const paid = await listPayouts(o.db, { ids: t.outputs.map((x) => BigInt(x.payoutId)) });
    bump = await o.wallet.bump(sourceOf(t), rate, { overTxCap: approvedOverTxCap(paid) });
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

/**
 * With PAYOUT_MAX_DELAY, the payouts going now (`pay`, at `rate`) may join a batch of ours still in
 * the mempool instead of starting a second transaction: a replacement (RBF) that spends the batch's
 * coins, pays each of its outputs the same and pays these too (src/bitcoin/join.ts), chosen only
 * when its fee beyond the batch's is less than a batch of their own would pay at `rate`. Stored
 * with its payouts in one database transaction before it is broadcast, like any batch.
 * "separate" when they go in a batch of their own.
 */
async function joinQueued(
  o: PayoutRunOptions,
  report: RunReport,
  pay: readonly PayoutRecord[],
  rate: bigint,
  exclude: ReadonlySet<string>,
  solvency: SolvencyReport,
  now: Date,
): Promise<"done" | "re-form" | "separate"> {
  // A withdrawal's fee share is fixed at its own batch's rate; an approved payout over PAYOUT_MAX_TX_SATS goes alone.
  if (pay.some((p) => p.source === "funds" || p.overTxCap !== null)) return "separate";
  const target = await joinTarget(o);
  if (!target) return "separate";
  const paySats = pay.reduce((s, p) => s + p.sats, 0n);
  let outcome: JoinOutcome;
  try {
    const alone = (await o.wallet.planner({ exclude, feeRate: rate })).check(engineView(pay));
    if (!alone.ok) return "separate";
    outcome = await o.wallet.join(sourceOf(target), engineView(pay), rate, { exclude, cheaperThan: alone.spentSats - paySats });
  } catch (err) {
    o.log.info({ txid: target.txid, reason: message(err) }, "Queued payouts cannot join the batch in the mempool; they go in one of their own");
    return "separate";
  }
  if (outcome.kind === "dearer") {
    o.log.info({ txid: target.txid, extraFee: outcome.extraFee.toString() }, "Joining the batch in the mempool would cost more than a batch of their own");
    return "separate";
  }
  const j = outcome.tx;
  const giveUp = () => o.wallet.abandon({ transactions: [j], feeRate: rate }).catch(() => undefined);
  const fit = treasuryFit({ spentSats: paySats + outcome.extraFee, fromFundsSats: 0n }, solvency);
  if (!fit.ok) {
    await giveUp();
    await waitAll(o, report, pay, fit.reason);
    return "done";
  }
  // Read from the signed bytes: it spends every coin of the batch, and pays each payout exactly as promised.
  const expected: ExpectedOutput[] = [
    ...target.outputs.map((x) => ({ payoutId: x.payoutId, vout: j.outputs.get(x.payoutId) ?? -1, address: x.address, sats: BigInt(x.sats) })),
    ...pay.map((p) => ({ payoutId: p.id.toString(), vout: j.outputs.get(p.id.toString()) ?? -1, address: p.address, sats: p.sats })),
  ];
  const problems = replacementProblems(target.hex, j.hex, expected, o.wallet.network as NetworkName);
  if (problems.length || j.outputs.size !== expected.length) {
    await giveUp();
    throw new Error(`the replacement ${j.txid} adding payouts to ${target.txid} is not what was asked (${problems.join("; ") || "its outputs differ"}); it was not stored`);
  }
  await o.checkpoint?.("signed", { txids: [j.txid] });
  try {
    await o.db.transaction((tx) => storeJoinTx(tx, record(o, j, now), target));
  } catch (err) {
    // Nothing was stored, so nothing may be broadcast.
    await giveUp();
    if (err instanceof DestinationChangedError) {
      o.log.warn({ payouts: err.payoutIds.map(String), dropped: j.txid }, "A recipient changed wallets before their payout was stored; the replacement was dropped and is formed again");
      return "re-form";
    }
    throw err;
  }
  report.signed.push(j.txid);
  report.joined.push(j.txid);
  await o.checkpoint?.("stored", { txids: [j.txid] });
  o.log.info(
    { txid: target.txid, replacement: j.txid, payouts: pay.length, extraFee: outcome.extraFee.toString() },
    "Queued payouts joined a batch in the mempool (RBF adding outputs)",
  );
  // Read back only once the store committed: an error here must not abandon a stored transaction.
  const stored = await findPayoutTx(o.db, j.txid);
  if (stored) await send(o, stored, report);
  return "done";
}

/**
 * The batch queued payouts may join: broadcast, still paying every payout it was signed for (no
 * bump or join took them over), its input keys recorded, its change spent by nothing of ours, and
 * paying no payout approved above PAYOUT_MAX_TX_SATS; the lowest fee rate first.
 */
async function joinTarget(o: PayoutRunOptions): Promise<PayoutTx | null> {
  const live = await listPayoutTxs(o.db, ["signed", "broadcast"]);
  const parents = new Set(live.flatMap((t) => t.inputs.map((i) => i.split(":")[0]!)));
  const candidates: PayoutTx[] = [];
  for (const t of live) {
    if (t.state !== "broadcast" || t.network !== o.wallet.network || t.inputRefs.length !== t.inputs.length || parents.has(t.txid)) continue;
    if (t.outputs.length === 0 || (await boundPayouts(o.db, t.id)) !== t.outputs.length) continue;
    const paying = await listPayouts(o.db, { ids: t.outputs.map((x) => BigInt(x.payoutId)) });
    if (paying.some((p) => p.txId !== t.id || p.overTxCap === "approved")) continue;
    candidates.push(t);
  }
  candidates.sort((a, b) => (a.feeRateSatKvb !== b.feeRateSatKvb ? (a.feeRateSatKvb < b.feeRateSatKvb ? -1 : 1) : a.id > b.id ? -1 : 1));
  return candidates[0] ?? null;
}

/** The transaction `t` replaced to add payouts to it, if `t` is such a join (it pays a payout its predecessor did not). */
async function joinedTo(o: PayoutRunOptions, t: PayoutTx): Promise<PayoutTx | null> {
  if (t.replacesTxId === null) return null;
  const prev = await findPayoutTx(o.db, t.replacesTxId);
  if (!prev) return null;
  const had = new Set(prev.outputs.map((x) => x.payoutId));
  return t.outputs.some((x) => !had.has(x.payoutId)) ? prev : null;
}

/** How `ours`, which confirmed, stands to `t` of the same replacement chain: for the reason `t` is replaced. */
async function relation(o: PayoutRunOptions, t: PayoutTx, ours: PayoutTx): Promise<string> {
  if (ours.replacesTxId === t.id) return (await joinedTo(o, ours)) ? "its replacement that added payouts" : "its fee bump";
  if (t.replacesTxId === ours.id && (await joinedTo(o, t))) return "the transaction it replaced to add payouts";
  return "the transaction it fee-bumped";
}

/** Whether payouts bound to `t` would be queued again if `ours` is the one the chain kept: some are not among its outputs. */
async function carriesMore(o: PayoutRunOptions, t: PayoutTx, ours: PayoutTx): Promise<boolean> {
  const kept = new Set(ours.outputs.map((x) => x.payoutId));
  const bound = await listPayouts(o.db, { ids: t.outputs.map((x) => BigInt(x.payoutId)) });
  return bound.some((p) => p.txId === t.id && !kept.has(p.id.toString()));
}

/** What the wallet needs to replace a stored transaction. */
function sourceOf(t: PayoutTx): BumpSource {
  return {
    hex: t.hex,
    inputs: t.inputRefs,
    change: t.change ? { vout: t.change.vout, index: t.change.index } : null,
    outputs: new Map(t.outputs.map((x) => [x.payoutId, x.vout])),
  };
}

function timingOn(o: PayoutRunOptions): boolean {
  return (o.settings.maxDelayMs ?? 0) > 0;
}

/** A due payout's deadline: when it was formed (became due) + PAYOUT_MAX_DELAY. */
function deadlineOf(o: PayoutRunOptions, p: Pick<PayoutRecord, "createdAt">): number {
  return p.createdAt.getTime() + (o.settings.maxDelayMs ?? 0);
}

function timingOptions(o: PayoutRunOptions): Partial<TimingOptions> {
  return { runEveryMs: o.settings.intervalMs };
}

/** The history "low" is judged against: the last PAYOUT_MAX_DELAY, and at least a day (one daily cycle). */
/** A week and two run intervals: the run a week ago is still there for the weekly forecast. */
function keptObservationsMs(o: PayoutRunOptions): number {
  return TIMING_DEFAULTS.seasonMs + 2 * (o.settings.intervalMs ?? 0) + 3_600_000;
}

function historyWindowMs(o: PayoutRunOptions): number {
  return Math.max(o.settings.maxDelayMs ?? 0, 24 * 3_600_000);
}

/**
 * With PAYOUT_MAX_DELAY, each run records the wallet's fee estimate (FEE_TARGET_BLOCKS, clamped
 * like every rate it signs at): the history timing judges "low" against. A failed estimate records nothing.
 */
async function observeFeeRate(o: PayoutRunOptions, now: Date): Promise<void> {
  if (!timingOn(o)) return;
  try {
    await recordFeeRate(o.db, now, await o.wallet.feeRate(), keptObservationsMs(o));
  } catch (err) {
    o.log.warn({ err }, "Could not record the fee rate for PAYOUT_MAX_DELAY timing");
  }
}

/** Send the queued payouts now (at the rate to sign at) or wait for lower fees (src/payouts/timing.ts). */
async function timing(o: PayoutRunOptions, queued: readonly PayoutRecord[], estimate: bigint, now: Date): Promise<TimingDecision> {
  const history = await feeRatesSince(o.db, new Date(now.getTime() - historyWindowMs(o)));
  // Timed, for the forecast from the same hours a week earlier. Not `unconfirmedBatches`: payouts
  // due while a batch is unconfirmed join it (joinQueued) rather than wait for the next low.
  const observations = await feeObservationsSince(o.db, new Date(now.getTime() - keptObservationsMs(o)));
  return decideTiming({
    now: now.getTime(),
    deadlines: queued.map((p) => deadlineOf(o, p)),
    estimates: new Map([[1, estimate]]),
    history,
    observations,
    options: timingOptions(o),
  });
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
  const missing = new Map<string, string>();
  for (const c of FIAT) {
    if (!needed.has(c)) continue;
    let r: PriceResult;
    try {
      r = await o.prices.price(c);
    } catch (err) {
      report.priceWaits.push(`${c}: ${message(err)}`);
      missing.set(c, `${c}: ${message(err)}`);
      continue;
    }
    if (!r.ok) {
      // Never pay on a stale or disputed price: awards in this currency wait for the next run.
      report.priceWaits.push(r.reason);
      missing.set(c, r.reason);
      o.log.warn({ currency: c, reason: r.reason }, "No reliable BTC price; awards in this currency wait");
      continue;
    }
    rates.set(c, r.rateText);
    stored[c] = { price: r.rateText, sources: r.fresh.map((q) => q.source), at: r.at.toISOString() };
  }
  const unpriced = due.filter((award) => award.amounts.some((a) => a.currency !== "BTC" && !rates.has(a.currency)));
  if (unpriced.length) {
    const waits = unpriced.map((award) => ({
      awardId: award.id,
      reason: [...new Set(award.amounts.flatMap((a) => (missing.has(a.currency) ? [missing.get(a.currency)!] : [])))].join("; "),
    }));
    await o.db.transaction((tx) => noteWaitingForPrice(tx, waits));
  }
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
  // The ledger is what is owed: earnings beyond the credited awards (tips, answers, survey
  // responses, API rewards) are paid with them; award sats a person has spent since are not.
  const earnings = await earningsAvailable(o.db);
  const extras = earningsBeyondAwards(earnings, credits);
  const payable: Parameters<typeof dueBalances>[0][number][] = [];
  const payeeOf = new Map<number, Payee>();
  const spentFrom = new Map<number, Payee>();
  for (const award of credits) {
    const d = destinationOf(award, { now, unclaimedDays: o.settings.unclaimedDays, network: o.wallet.network });
    if (d.kind === "pay") {
      payable.push({ award, payee: d.payee });
      // Award sats spent since come off whatever payout the awards go in; other earnings only go where the person's own wallet says.
      if (!spentFrom.has(award.recipientId)) spentFrom.set(award.recipientId, d.payee);
      if (award.wallet && !payeeOf.has(award.recipientId)) payeeOf.set(award.recipientId, d.payee);
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
            balanceSats: credits.filter((c) => c.recipientId === award.recipientId).reduce((sum, c) => sum + c.sats, 0n),
            minSats: o.settings.minSats,
            maxDelayMs: o.settings.maxDelayMs,
          }),
        );
      });
      o.onQueued?.();
    }
  }
  for (const e of earnings) {
    const extra = extras.get(e.userId);
    if (extra === undefined || extra <= 0n || payeeOf.has(e.userId) || !e.wallet) continue;
    const d = walletDestination({ userId: e.userId, login: e.login ?? `user ${e.userId}`, wallet: e.wallet }, o.wallet.network);
    if (d.kind === "pay") payeeOf.set(e.userId, d.payee);
  }
  for (const [userId, sats] of extras) {
    const payee = sats < 0n ? spentFrom.get(userId) : payeeOf.get(userId);
    if (payee) payable.push({ extra: { userId, sats }, payee });
  }
  // A charity's own balance (answers donated to it) goes with whatever else is paid to its address.
  for (const c of await charityBalances(o.db)) {
    const d = charityDestination(c, o.wallet.network);
    if (d.kind === "pay") payable.push({ own: c.sats, payee: d.payee });
    else o.log.warn({ charity: c.charityId, sats: c.sats.toString() }, `a charity's balance is not paid: ${d.reason}`);
  }
  const { due } = dueBalances(payable, o.settings.minSats);
  const state = o.settings.mode === "approve" ? "awaiting_approval" : "queued";
  for (const b of due) {
    try {
      await o.db.transaction((tx) => createPayout(tx, b.payee, b.awards, state, b.extras, b.own));
      report.queued++;
    } catch (err) {
      // One payee's money moved meanwhile (an escrow took it): the others are still formed; it is tried again next run.
      if (!(err instanceof LedgerRefusal)) throw err;
      o.log.warn({ err, payee: b.payee.kind === "charity" ? `charity:${b.payee.charityId}` : `user:${b.payee.userId}` }, "a payout could not be formed; retried at the next run");
    }
  }
}

/**
 * Signs, stores and broadcasts the queued payouts that fit now, oldest first; the others wait with
 * their own reason, or for an operator when one by itself is over PAYOUT_MAX_TX_SATS. "re-form" when
 * a recipient's wallet changed after their payout was formed: nothing was stored or sent.
 */
async function sendQueued(o: PayoutRunOptions, report: RunReport, now: Date): Promise<"done" | "re-form"> {
  const queued = await listPayouts(o.db, { state: "queued" });
  if (queued.length === 0) return "done";
  // Fresh before signing: settling, crediting and forming moved money since the run's first check.
  const solvency = await checkSolvency(o, report, now);
  if (!solvency.ok) {
    await waitAll(o, report, queued, failureReason(solvency));
    return "done";
  }
  const fromFunds = fundsPaid(await payoutSources(o.db, queued.map((p) => p.id)));
  const exclude = await liveInputs(o.db);
  let pay: PayoutRecord[];
  // One fee rate for planning and signing: a withdrawal's output is the amount asked less its share at that rate.
  let rate: bigint;
  const outputs = new Map<string, bigint>();
  try {
    rate = await o.wallet.feeRate();
    if (timingOn(o)) {
      const d = await timing(o, queued, rate, now);
      if (d.kind === "wait") {
        report.waiting = d.reason;
        await setWaitReason(o.db, queued.map((p) => p.id), d.reason);
        o.log.info({ payouts: queued.length, reason: d.reason }, "Queued payouts wait for lower fees (PAYOUT_MAX_DELAY)");
        return "done";
      }
      o.log.info({ payouts: queued.length, why: d.why, detail: d.detail }, "Sending queued payouts (PAYOUT_MAX_DELAY)");
      rate = d.rate;
    }
    const ready = await readyWithdrawals(o, report, queued, rate, outputs);
    const planner = await o.wallet.planner({ exclude, feeRate: rate });
    const chosen = firstFit(ready, (ps) => {
      const c = planner.check(engineView(ps, outputs), { overTxCap: approvedOverTxCap(ps, outputs) });
      if (!c.ok) return fitOf(c, ps);
      // A withdrawal's own amount (its fee share included) comes out of the person's funds, not the treasury.
      return treasuryFit({ spentSats: c.spentSats, fromFundsSats: fromFunds(ps) }, solvency);
    });
    pay = chosen.pay;
    await noteWaits(o, report, chosen.wait);
  } catch (err) {
    // The wallet or its backend could not answer: every queued payout waits, with the reason.
    await waitAll(o, report, queued, message(err));
    return "done";
  }
  if (pay.length === 0) return "done";
  if (timingOn(o)) {
    const joined = await joinQueued(o, report, pay, rate, exclude, solvency, now);
    if (joined !== "separate") return joined;
  }
  let plan: BatchPlan;
  try {
    plan = await o.wallet.buildBatch(engineView(pay, outputs), { exclude, feeRate: rate, overTxCap: approvedOverTxCap(pay, outputs) });
  } catch (err) {
    // The chain moved since planning (or the backend failed): these wait for the next run.
    await waitAll(o, report, pay, message(err));
    return "done";
  }
  if (plan.transactions.some((t) => t.feeRate !== rate)) {
    // The withdrawals' outputs were sized at `rate`: signed at another, their shares would not match.
    await o.wallet.abandon(plan).catch(() => undefined);
    await waitAll(o, report, pay, "the batch was signed at another fee rate than it was planned at; it goes in the next run");
    return "done";
  }
  // The chain may have moved since planning: the batch as signed must still leave the reserve whole.
  const signedFit = treasuryFit(
    { spentSats: plan.transactions.reduce((s, t) => s + t.payoutSats + t.fee, 0n), fromFundsSats: fromFunds(pay) },
    solvency,
  );
  if (!signedFit.ok) {
    await o.wallet.abandon(plan).catch(() => undefined);
    await waitAll(o, report, pay, signedFit.reason);
    return "done";
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
    if (err instanceof DestinationChangedError) {
      o.log.warn(
        { payouts: err.payoutIds.map(String), dropped: txids },
        "A recipient changed wallets before their payout was stored; the signed batch was dropped and is formed again",
      );
      return "re-form";
    }
    throw err;
  }
  report.signed.push(...txids);
  await o.checkpoint?.("stored", { txids });
  // Read back only once the store committed: an error here must not abandon a stored transaction.
  for (const txid of txids) {
    const t = await findPayoutTx(o.db, txid);
    if (t) await send(o, t, report);
  }
  return "done";
}

/**
 * The solvency check (src/ledger/solvency.ts) over the ledger, the stored transactions and what the
 * wallet holds on chain now (not asked when `wallet` is null: `ledger check` without a wallet).
 * Read-only; also what `bounty-bot ledger check` runs.
 */
export async function assessSolvency(db: Db, wallet: Pick<PayoutEngine, "sync"> | null): Promise<SolvencyReport> {
  const ledger = await checkLedgerTotals(db);
  const people = await peopleLiabilities(db);
  const txs = await liveTxs(db);
  const payouts = await payoutFacts(db);
  let holdings: Holdings | null = null;
  let holdingsError: string | undefined;
  if (wallet) {
    try {
      const w = await wallet.sync();
      const coins = new Set(w.utxos.map((u) => u.id));
      holdings = { confirmedSats: w.confirmedSats, unconfirmedSats: w.unconfirmedSats, committedSats: committedOutflow(coins, txs) };
    } catch (err) {
      holdingsError = message(err);
    }
  }
  return solvencyReport({ ledger, people, holdings, holdingsError, payoutProblems: payoutProblems(txs, payouts) });
}

/** assessSolvency before signing: recorded for `payouts list`; a failure is logged with its reasons. */
async function checkSolvency(o: PayoutRunOptions, report: RunReport, now: Date): Promise<SolvencyReport> {
  const r = await assessSolvency(o.db, o.wallet);
  await recordSolvency(o.db, { checkedAt: now, ok: r.ok, problems: r.problems, summary: r.summary });
  if (!r.ok && (report.solvency?.ok ?? true)) o.log.error({ problems: r.problems, summary: r.summary }, "Solvency check failed: no payout is signed until it passes");
  report.solvency = { ok: r.ok, problems: r.problems, summary: r.summary };
  return r;
}

/** Sats of `ps` paid out of people's own funds (by their `payout:<id>` transfer's debit account). */
function fundsPaid(sources: ReadonlyMap<string, string>): (ps: readonly PayoutRecord[]) => bigint {
  return (ps) => ps.reduce((s, p) => (sources.get(p.id.toString()) === "funds" ? s + p.sats : s), 0n);
}

/** What the wallet engine is told of payouts: a withdrawal's output (`outputs`) pays the amount asked less its fee share. */
function engineView(ps: readonly PayoutRecord[], outputs: ReadonlyMap<string, bigint> = new Map()): Payout[] {
  return ps.map((p) => ({ id: p.id.toString(), address: p.address, sats: outputs.get(p.id.toString()) ?? p.sats }));
}

/** The payouts among `ps` an operator approved above PAYOUT_MAX_TX_SATS, with the sats approved (what their output pays). */
function approvedOverTxCap(ps: readonly PayoutRecord[], outputs: ReadonlyMap<string, bigint> = new Map()): Map<string, bigint> {
  return new Map(ps.filter((p) => p.overTxCap === "approved").map((p) => [p.id.toString(), outputs.get(p.id.toString()) ?? p.sats]));
}

/**
 * The queued payouts that may go in this run's batch, with each withdrawal's output at `rate` put
 * in `outputs`. A withdrawal waits, with its reason, when its fee share would leave less than the
 * payout minimum, or while its funds account is overdrawn (a deposit was reversed).
 */
async function readyWithdrawals(
  o: PayoutRunOptions,
  report: RunReport,
  queued: readonly PayoutRecord[],
  rate: bigint,
  outputs: Map<string, bigint>,
): Promise<PayoutRecord[]> {
  const withdrawals = queued.filter((p) => p.source === "funds");
  if (withdrawals.length === 0) return [...queued];
  const overdrawn = await overdrawnWithdrawals(o.db, withdrawals.map((p) => p.id));
  const waits = new Map<string, string>();
  for (const p of withdrawals) {
    if (overdrawn.has(p.id.toString())) {
      waits.set(p.id.toString(), "the person's funds are overdrawn (a deposit was taken back after a chain reorganisation): nothing is spent from them until it is covered");
      continue;
    }
    const out = withdrawalOutput(p, rate, o.settings.minSats);
    if (out.ok) outputs.set(p.id.toString(), out.sats);
    else waits.set(p.id.toString(), out.reason);
  }
  for (const [id, reason] of waits) await setWaitReason(o.db, [BigInt(id)], reason);
  if (waits.size) {
    const reasons = [...new Set(waits.values())];
    report.waiting = [report.waiting, ...reasons].filter(Boolean).join("; ");
    o.log.warn({ payouts: waits.size, reason: reasons.join("; ") }, "Some withdrawals cannot be paid now; they stay queued");
  }
  return queued.filter((p) => !waits.has(p.id.toString()));
}

function fitOf(c: BatchCheck, ps: readonly PayoutRecord[]): Fit {
  if (c.ok) return { ok: true };
  const e = c.error;
  const ids = new Set(ps.map((p) => p.id.toString()));
  const own = e.problems.filter((pr) => ids.has(pr.payoutId)).map((pr) => pr.reason);
  return { ok: false, code: e.code, reason: own.length ? own.join("; ") : e.message };
}

async function noteWaits(o: PayoutRunOptions, report: RunReport, wait: Array<Unfit<PayoutRecord>>): Promise<void> {
  const reasons: string[] = [];
  for (const u of wait) {
    const w = waitFor(u, o.wallet.limits);
    if (w.kind === "approval") {
      if (await holdOverTxCap(o.db, u.payout.id, w.reason)) {
        report.heldOverTxCap.push(u.payout.id.toString());
        o.log.warn({ payout: u.payout.id.toString(), sats: u.payout.sats.toString() }, "A payout over PAYOUT_MAX_TX_SATS waits for an operator's approval");
      }
      continue;
    }
    await setWaitReason(o.db, [u.payout.id], w.reason);
    if (!reasons.includes(w.reason)) reasons.push(w.reason);
  }
  if (reasons.length) {
    report.waiting = reasons.join("; ");
    o.log.warn({ payouts: wait.length, reason: report.waiting }, "Some queued payouts could not be paid now; they stay queued");
  }
}

async function waitAll(o: PayoutRunOptions, report: RunReport, ps: readonly PayoutRecord[], reason: string): Promise<void> {
  report.waiting = reason;
  await setWaitReason(o.db, ps.map((p) => p.id), reason);
  o.log.warn({ payouts: ps.length, reason }, "Queued payouts could not be paid now; they stay queued");
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
