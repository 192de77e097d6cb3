import type { Amount } from "../core/money.js";
import { availableBalance, charityOf, earningsOf, FEES, fundsOf, postedBalance, TREASURY, WALLET, type AccountSpec } from "../ledger/rules.js";
import { withdrawalFeeShare } from "../payouts/plan.js";
import { fromJson, type Db, type Queryable } from "./db.js";
import { amountsFromJson, backedFromJson, passOnBacked, refreshBounties, refreshUnpaidCards } from "./awards.js";
import { appendEvent, type Cause } from "./bounties.js";
import { accountBalance, findTransfer, LedgerRefusal, listTransfers, lockAccounts, mustTransfer, postPending, voidPending, type Transfer, type TransferResult } from "./ledger.js";

/**
 * Awards on their way to becoming money, payouts and the transactions that carry them.
 *
 *   award:  held → credited (priced in sats; on the recipient's balance) → in a payout
 *   payout: awaiting_approval → queued → signed → broadcast → confirmed
 *           (back to queued only when a confirmed transaction conflicting with its own is seen;
 *           queued → awaiting_approval when it alone is over PAYOUT_MAX_TX_SATS: over_tx_cap)
 *   tx:     signed → broadcast → confirmed, or replaced
 *
 * Each step that moves money records it on the ledger (store/ledger.ts) in the same database
 * transaction, and a transfer the ledger refuses rolls the whole step back:
 *   credited           award:<award id>                 treasury → earnings:<recipient>
 *   formed (charity)   donation:<payout id>:<user id>   earnings:<donor> → charity:<id>, one per donor
 *   formed             payout:<payout id>               pending, earnings:<user> | charity:<id> → wallet
 *   signed and stored  <pending key>:post; fee:<txid> treasury → fees, fee_paid:<txid> fees → wallet
 *                      (a fee bump, or a join adding payouts (storeJoinTx), records only its extra
 *                      fee over the transaction it replaces; a join posts its added payouts as here)
 *   dissolved          <pending key>:void; donation:…:undo (charity → earnings)
 *   requeued           payout:<payout id>:<txid>:undo (wallet → payer, the post undone) and a new
 *                      pending payout:<payout id>:<txid>:retry
 * A withdrawal (/withdraw, source 'funds', createWithdrawal) reserves payout:<id> funds:<user> →
 * wallet for the amount asked. Signed and stored, its output pays that less its fee share (the
 * output's vbytes at the batch's rate, withdrawalFeeShare): <pending key>:post posts only the output
 * (the rest returns to funds), fee:<txid>:withdrawal:<payout id> moves the share funds:<user> → fees,
 * and fee:<txid> charges the treasury only the rest of the fee (fee_paid:<txid> still pays all of it).
 * Queued again, the share is undone (…:undo, fees → funds) before the post, and the new reservation is
 * for the amount asked. A fee bump's extra fee is the treasury's.
 * Fees of a replacement chain (a transaction and its fee bumps): see settleChainFees. Approval
 * (awaiting_approval ⇄ queued), broadcast, adopting and confirming move no payout money: the
 * reservation stands, or was posted at signing. store/awards.ts changes only held awards, never a
 * credited one's sats, so it records nothing.
 */

export type PayoutState = "awaiting_approval" | "queued" | "signed" | "broadcast" | "confirmed";
export const PAYOUT_STATES: readonly PayoutState[] = ["awaiting_approval", "queued", "signed", "broadcast", "confirmed"];
export type PayoutTxState = "signed" | "broadcast" | "confirmed" | "replaced";

/** The app's own changes (payout runs, pricing) appear in the audit log as this actor. */
export const SYSTEM_CAUSE: Cause = { actor: { id: null, login: "bounty-bot" }, deliveryId: null };

export interface AwardRates {
  [currency: string]: { price: string; sources: string[]; at: string };
}

export interface DueAward {
  id: bigint;
  bountyId: bigint;
  recipientId: number;
  recipientLogin: string;
  amounts: Amount[];
}

export interface CreditedAward {
  id: bigint;
  bountyId: bigint;
  recipientId: number;
  recipientLogin: string;
  sats: bigint;
  pricedAt: Date;
  walletAskedAt: Date | null;
  unclaimedCharity: { id: string; name: string; address: string } | null;
  installationId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  /** The recipient's linked wallet, if any. */
  wallet: { kind: "address" | "charity"; address: string; addressType: string; network: string; charityId: string | null; charityName: string | null } | null;
}

export interface Payee {
  kind: "user" | "charity";
  userId: number | null;
  login: string | null;
  charityId: string | null;
  charityName: string | null;
  address: string;
  addressType: string;
  network: string;
}

export interface PayoutRecord extends Payee {
  id: bigint;
  /** What its output pays (for a withdrawal not yet signed: the amount asked, its fee share still in it). */
  sats: bigint;
  /** 'funds': a withdrawal of the person's own funds (/withdraw), which pays its output's share of the fee. */
  source: "earnings" | "funds";
  /** A withdrawal's amount asked, and the fee share fixed when it was signed (null before). */
  requestedSats: bigint | null;
  feeShareSats: bigint | null;
  state: PayoutState;
  txId: bigint | null;
  txid: string | null;
  vout: number | null;
  waitReason: string | null;
  approvedBy: string | null;
  /** By itself over PAYOUT_MAX_TX_SATS: waiting for an operator ("requested"), or allowed above it, alone ("approved"). */
  overTxCap: "requested" | "approved" | null;
  createdAt: Date;
}

export interface PayoutTxOutput {
  payoutId: string;
  vout: number;
  sats: string;
  address: string;
}

/** A stored payout transaction: what was signed, and where it is now. */
export interface PayoutTx extends Omit<SignedTxRecord, "outputs" | "change" | "replacesTxId"> {
  id: bigint;
  outputs: PayoutTxOutput[];
  change: { vout: number; sats: bigint; address: string; index: number } | null;
  /** The transaction this one fee-bumps (RBF), if it is a bump. */
  replacesTxId: bigint | null;
  state: PayoutTxState;
  stateReason: string | null;
  signedAt: Date;
  broadcastAt: Date | null;
  confirmedAt: Date | null;
  blockHeight: number | null;
  lastError: string | null;
}


// ---------------------------------------------------------------------------- awards

/** Held awards whose hold has passed: ready to be priced. */
export async function awardsDueForPricing(db: Queryable, now: Date): Promise<DueAward[]> {
  const rows = await db.query<{ id: bigint; bounty_id: bigint; recipient_id: bigint; recipient_login: string; amounts: unknown }>(
    `SELECT a.id, a.bounty_id, a.recipient_id, a.recipient_login, a.amounts FROM awards a
     JOIN bounties b ON b.id = a.bounty_id
     WHERE a.state = 'held' AND a.hold_until <= $1
       -- Nothing is payable before the issue is closed as completed, nor before an operator approves self-dealing.
       AND b.issue_state = 'completed' AND a.approval IS DISTINCT FROM 'needed'
     ORDER BY a.id`,
    [now],
  );
  return rows.map((r) => ({
    id: BigInt(r.id),
    bountyId: BigInt(r.bounty_id),
    recipientId: Number(r.recipient_id),
    recipientLogin: r.recipient_login,
    amounts: amountsFromJson(r.amounts),
  }));
}

/**
 * Prices a held award: it moves to the recipient's balance. False if it is no longer held (e.g. a
 * revert won the race). `sats` is its amounts' worth: the treasury's part priced now plus its parts
 * of backed pledges (in BTC, fixed when they were pledged). The treasury's part is credited from
 * the treasury; each backed part is passed on from its pledge's escrow, here, at the credit (after
 * the hold, so a revert during the hold leaves the escrow held for the reopened pledge).
 */
export async function creditAward(tx: Queryable, award: DueAward, sats: bigint, rates: AwardRates): Promise<boolean> {
  const rows = await tx.query<{ id: bigint; recipient_id: bigint; backed: unknown }>(
    // The same conditions as awardsDueForPricing, again at the credit: the issue may have been
    // reopened while the run fetched prices.
    `UPDATE awards a SET state = 'credited', sats = $2, rates = $3, priced_at = now(), updated_at = now()
     FROM bounties b
     WHERE a.id = $1 AND a.state = 'held' AND b.id = a.bounty_id
       AND b.issue_state = 'completed' AND a.approval IS DISTINCT FROM 'needed'
     RETURNING a.id, a.recipient_id, a.backed`,
    [award.id, sats, JSON.stringify(rates)],
  );
  if (rows.length === 0) return false;
  const earnings = earningsOf(Number(rows[0]!.recipient_id));
  const backed = backedFromJson(rows[0]!.backed);
  const backedSats = backed.reduce((s, b) => s + b.sats, 0n);
  if (sats < backedSats) throw new LedgerRefusal(`award ${award.id} is credited ${sats} sats, less than the ${backedSats} sats of its backed pledges`);
  // The treasury commits what funders pledged; it may owe more than it holds.
  if (sats > backedSats) {
    await mustTransfer(tx, {
      key: `award:${award.id}`,
      debit: TREASURY,
      credit: earnings,
      sats: sats - backedSats,
      kind: "award",
      ref: { award: award.id.toString() },
    });
  }
  for (const b of backed) {
    await passOnBacked(tx, b, earnings, `award:${award.id}:backed:${b.pledgeId}`, { award: award.id.toString(), pledge: b.pledgeId.toString() });
  }
  await appendEvent(tx, {
    bountyId: award.bountyId,
    userId: award.recipientId,
    kind: "award_credited",
    data: { award_id: award.id.toString(), sats: sats.toString(), rates, backed_sats: backedSats.toString() },
    cause: SYSTEM_CAUSE,
  });
  // The recipient's balance grew: every card that states it is shown again, this one included.
  await refreshUnpaidCards(tx, award.recipientId, SYSTEM_CAUSE);
  return true;
}

/** A person's earnings available now (not reserved by a payout or an escrow), with where they want the money. */
export interface EarningsAvailable {
  userId: number;
  login: string | null;
  sats: bigint;
  wallet: CreditedAward["wallet"];
}

/** Every person whose earnings hold something available: what the payout run pays from. */
export async function earningsAvailable(db: Queryable): Promise<EarningsAvailable[]> {
  const rows = await db.query<{
    user_id: bigint;
    sats: bigint;
    w_login: string | null;
    w_kind: "address" | "charity" | null;
    w_address: string | null;
    w_address_type: string | null;
    w_network: string | null;
    w_charity_id: string | null;
    w_charity_name: string | null;
  }>(
    `SELECT a.user_id, a.credits_posted - a.debits_posted - a.debits_pending AS sats,
            w.login AS w_login, w.kind AS w_kind, w.address AS w_address, w.address_type AS w_address_type, w.network AS w_network,
            w.charity_id AS w_charity_id, w.charity_name AS w_charity_name
     FROM ledger_accounts a LEFT JOIN wallets w ON w.user_id = a.user_id
     WHERE a.kind = 'earnings' AND a.credits_posted - a.debits_posted - a.debits_pending > 0
     ORDER BY a.user_id`,
  );
  return rows.map((r) => ({
    userId: Number(r.user_id),
    login: r.w_login,
    sats: BigInt(r.sats),
    wallet: r.w_kind
      ? { kind: r.w_kind, address: r.w_address!, addressType: r.w_address_type!, network: r.w_network!, charityId: r.w_charity_id, charityName: r.w_charity_name }
      : null,
  }));
}

/** Credited awards not yet in a payout, with where the recipient wants the money. */
export async function unpaidCredits(db: Queryable): Promise<CreditedAward[]> {
  const rows = await db.query<{
    id: bigint;
    bounty_id: bigint;
    recipient_id: bigint;
    recipient_login: string;
    sats: bigint;
    priced_at: Date;
    wallet_asked_at: Date | null;
    unclaimed_charity: unknown;
    installation_id: bigint;
    repo_owner: string;
    repo_name: string;
    issue_number: number;
    w_kind: "address" | "charity" | null;
    w_address: string | null;
    w_address_type: string | null;
    w_network: string | null;
    w_charity_id: string | null;
    w_charity_name: string | null;
  }>(
    `SELECT a.id, a.bounty_id, a.recipient_id, a.recipient_login, a.sats, a.priced_at, a.wallet_asked_at,
            a.unclaimed_charity, b.installation_id, b.repo_owner, b.repo_name, b.issue_number,
            w.kind AS w_kind, w.address AS w_address, w.address_type AS w_address_type, w.network AS w_network,
            w.charity_id AS w_charity_id, w.charity_name AS w_charity_name
     FROM awards a JOIN bounties b ON b.id = a.bounty_id LEFT JOIN wallets w ON w.user_id = a.recipient_id
     WHERE a.state = 'credited' AND a.payout_id IS NULL ORDER BY a.id`,
  );
  return rows.map((r) => ({
    id: BigInt(r.id),
    bountyId: BigInt(r.bounty_id),
    recipientId: Number(r.recipient_id),
    recipientLogin: r.recipient_login,
    sats: BigInt(r.sats),
    pricedAt: new Date(r.priced_at),
    walletAskedAt: r.wallet_asked_at ? new Date(r.wallet_asked_at) : null,
    unclaimedCharity: r.unclaimed_charity ? fromJson(r.unclaimed_charity) : null,
    installationId: Number(r.installation_id),
    owner: r.repo_owner,
    repo: r.repo_name,
    issueNumber: Number(r.issue_number),
    wallet: r.w_kind
      ? {
          kind: r.w_kind,
          address: r.w_address!,
          addressType: r.w_address_type!,
          network: r.w_network!,
          charityId: r.w_charity_id,
          charityName: r.w_charity_name,
        }
      : null,
  }));
}

export async function markWalletAsked(tx: Queryable, awardId: bigint): Promise<boolean> {
  const rows = await tx.query(
    "UPDATE awards SET wallet_asked_at = now(), updated_at = now() WHERE id = $1 AND wallet_asked_at IS NULL RETURNING id",
    [awardId],
  );
  return rows.length === 1;
}

// ---------------------------------------------------------------------------- payouts

/**
 * Turns credited awards into one payout to one payee. Fails (throws) if any award was taken by
 * someone else meanwhile, so the caller's transaction rolls back and nothing is paid twice.
 */
export async function createPayout(
  tx: Queryable,
  payee: Payee,
  awards: Array<{ id: bigint; bountyId: bigint; sats: bigint }>,
  state: "awaiting_approval" | "queued",
  /** Earnings beyond the awards, by person (tips, answers, rewards; negative: award sats spent since). */
  extras: ReadonlyMap<number, bigint> = new Map(),
  /** A charity payout: the charity's own balance paid with it (answers donated to it), reserved from its account like the rest. */
  own = 0n,
): Promise<bigint> {
  if (own < 0n || (own > 0n && payee.kind !== "charity")) throw new Error(`a payout to ${payee.kind} cannot carry ${own} sats of a charity's own balance`);
  const extraSats = [...extras.values()].reduce((s, x) => s + x, 0n);
  const sats = awards.reduce((s, a) => s + a.sats, 0n) + extraSats + own;
  if (sats <= 0n) throw new LedgerRefusal(`a payout of ${sats} sats cannot be formed`);
  const [row] = await tx.query<{ id: bigint }>(
    `INSERT INTO payouts (payee_kind, user_id, login, charity_id, charity_name, address, address_type, network, sats, state)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [payee.kind, payee.userId, payee.login, payee.charityId, payee.charityName, payee.address, payee.addressType, payee.network, sats, state],
  );
  const id = BigInt(row!.id);
  const ids = awards.map((a) => a.id.toString());
  const taken = await tx.query<{ id: bigint; recipient_id: bigint; sats: bigint }>(
    `UPDATE awards SET payout_id = $1, updated_at = now()
     WHERE id = ANY($2::bigint[]) AND state = 'credited' AND payout_id IS NULL RETURNING id, recipient_id, sats`,
    [id, ids],
  );
  if (taken.length !== awards.length) throw new Error(`awards ${ids.join(", ")} changed while payout ${id} was formed`);
  if (taken.reduce((s, a) => s + BigInt(a.sats), 0n) + extraSats + own !== sats) throw new Error(`awards ${ids.join(", ")} are not worth the ${sats} sats of payout ${id}`);
  // What each person gives: their awards and their other earnings (the ledger refuses more than they have).
  const given = [...taken.map((a) => ({ recipient_id: BigInt(a.recipient_id), sats: BigInt(a.sats) })), ...[...extras].map(([u, s]) => ({ recipient_id: BigInt(u), sats: s }))];
  await reservePayout(tx, { id, payeeKind: payee.kind, userId: payee.userId, charityId: payee.charityId, sats }, given);
  for (const bountyId of new Set(awards.map((a) => a.bountyId))) {
    await appendEvent(tx, {
      bountyId,
      userId: payee.userId,
      kind: "payout_queued",
      data: {
        payout_id: id.toString(),
        state,
        sats: sats.toString(),
        awards: ids,
        payee: payee.kind === "charity" ? `charity:${payee.charityId}` : `user:${payee.userId}`,
        address: payee.address,
      },
      cause: SYSTEM_CAUSE,
    });
  }
  await refreshBounties(tx, { payoutIds: [id] }, SYSTEM_CAUSE);
  return id;
}

/** Where a /withdraw was asked: the issue its payout comment goes to. */
export interface WithdrawalAsk {
  installationId: number;
  owner: string;
  repo: string;
  issueNumber: number;
}

export interface WithdrawalRequest {
  /** Idempotency: the command that asked (withdraw:<comment id>), so a redelivery records nothing twice. */
  key: string;
  /** The person (userId, login) and where it goes: their address, or the charity they chose. */
  payee: Payee & { userId: number; login: string };
  sats: bigint;
  state: "awaiting_approval" | "queued";
  ask: WithdrawalAsk;
}

export type WithdrawalResult =
  | { ok: true; id: bigint; sats: bigint; replayed: boolean }
  | { ok: false; reason: "open"; id: bigint; sats: bigint }
  | { ok: false; reason: "overdrawn"; posted: bigint }
  | { ok: false; reason: "short"; available: bigint };

/** A person's funds now: posted (credits − debits) and available (less what is reserved). */
export async function fundsBalance(db: Queryable, userId: number): Promise<{ posted: bigint; available: bigint }> {
  const b = await accountBalance(db, fundsOf(userId));
  return { posted: postedBalance(b), available: availableBalance(b) };
}

/**
 * Queues a withdrawal of a person's own funds: a payout (source 'funds') and its reservation
 * payout:<id> funds:<user> → wallet for the whole amount, so it is no longer available. One not yet
 * signed per person; none from an overdrawn account or beyond what is available.
 */
export async function createWithdrawal(tx: Queryable, w: WithdrawalRequest): Promise<WithdrawalResult> {
  const funds = fundsOf(w.payee.userId);
  await lockAccounts(tx, [funds, WALLET]);
  const [again] = await tx.query<{ id: bigint; requested_sats: bigint }>("SELECT id, requested_sats FROM payouts WHERE request_key = $1", [w.key]);
  if (again) return { ok: true, id: BigInt(again.id), sats: BigInt(again.requested_sats), replayed: true };
  const [open] = await tx.query<{ id: bigint; requested_sats: bigint }>(
    "SELECT id, requested_sats FROM payouts WHERE user_id = $1 AND source = 'funds' AND state IN ('awaiting_approval', 'queued')",
    [w.payee.userId],
  );
  if (open) return { ok: false, reason: "open", id: BigInt(open.id), sats: BigInt(open.requested_sats) };
  const b = await fundsBalance(tx, w.payee.userId);
  if (b.posted < 0n) return { ok: false, reason: "overdrawn", posted: b.posted };
  if (b.available < w.sats) return { ok: false, reason: "short", available: b.available };
  const p = w.payee;
  const [row] = await tx.query<{ id: bigint }>(
    `INSERT INTO payouts (payee_kind, user_id, login, charity_id, charity_name, address, address_type, network, sats, state,
                          source, requested_sats, request_key, ask)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'funds', $9, $11, $12) RETURNING id`,
    [p.kind, p.userId, p.login, p.charityId, p.charityName, p.address, p.addressType, p.network, w.sats, w.state, w.key, JSON.stringify(w.ask)],
  );
  const id = BigInt(row!.id);
  await mustTransfer(tx, {
    key: `payout:${id}`,
    debit: funds,
    credit: WALLET,
    sats: w.sats,
    kind: "payout",
    pending: { timeoutAt: null },
    ref: { payout: id.toString() },
  });
  await appendEvent(tx, {
    userId: p.userId,
    kind: "withdrawal_queued",
    data: {
      payout_id: id.toString(),
      state: w.state,
      sats: w.sats.toString(),
      payee: p.kind === "charity" ? `charity:${p.charityId}` : `user:${p.userId}`,
      address: p.address,
    },
    cause: { actor: { id: p.userId, login: p.login }, deliveryId: null },
  });
  return { ok: true, id, sats: w.sats, replayed: false };
}

/** What the payout comment says of a withdrawal a transaction pays. */
export interface PaidWithdrawal {
  payoutId: bigint;
  login: string;
  kind: "user" | "charity";
  charityName: string | null;
  address: string;
  vout: number;
  requestedSats: bigint;
  sats: bigint;
  feeShareSats: bigint;
  ask: WithdrawalAsk;
}

export async function paidWithdrawals(db: Queryable, txId: bigint): Promise<PaidWithdrawal[]> {
  const rows = await db.query<{
    id: bigint;
    login: string;
    payee_kind: "user" | "charity";
    charity_name: string | null;
    address: string;
    vout: number;
    requested_sats: bigint;
    sats: bigint;
    fee_share_sats: bigint | null;
    ask: unknown;
  }>(
    `SELECT id, login, payee_kind, charity_name, address, vout, requested_sats, sats, fee_share_sats, ask FROM payouts
     WHERE tx_id = $1 AND source = 'funds' ORDER BY id`,
    [txId],
  );
  return rows.map((r) => ({
    payoutId: BigInt(r.id),
    login: r.login,
    kind: r.payee_kind,
    charityName: r.charity_name,
    address: r.address,
    vout: Number(r.vout),
    requestedSats: BigInt(r.requested_sats),
    sats: BigInt(r.sats),
    feeShareSats: BigInt(r.fee_share_sats ?? 0n),
    ask: fromJson<WithdrawalAsk>(r.ask),
  }));
}

/** Queued withdrawals (of `ids`) whose funds account is overdrawn: nothing is spent from it until it is covered. */
export async function overdrawnWithdrawals(db: Queryable, ids: readonly bigint[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.query<{ id: bigint }>(
    `SELECT p.id FROM payouts p JOIN ledger_accounts a ON a.key = 'funds:' || p.user_id
     WHERE p.id = ANY($1::bigint[]) AND p.source = 'funds' AND a.credits_posted - a.debits_posted - a.debits_pending < 0`,
    [ids.map(String)],
  );
  return new Set(rows.map((r) => String(r.id)));
}

/** The account a payout is paid from: the person's funds (a withdrawal), their earnings, or the charity's account. */
function payerOf(
  p: { source?: "earnings" | "funds"; payeeKind: "user" | "charity"; userId: number | null; charityId: string | null },
  payoutId: bigint,
): AccountSpec {
  if (p.source === "funds") {
    if (p.userId === null) throw new LedgerRefusal(`withdrawal ${payoutId} names no person`);
    return fundsOf(p.userId);
  }
  if (p.payeeKind === "charity") {
    if (!p.charityId) throw new LedgerRefusal(`charity payout ${payoutId} names no charity`);
    return charityOf(p.charityId);
  }
  if (p.userId === null) throw new LedgerRefusal(`payout ${payoutId} names no recipient`);
  return earningsOf(p.userId);
}

/** payerOf for a payouts row. */
const payerOfRow = (p: {
  id: bigint;
  source?: "earnings" | "funds";
  payee_kind: "user" | "charity";
  user_id: bigint | null;
  charity_id: string | null;
}): AccountSpec =>
  payerOf({ source: p.source, payeeKind: p.payee_kind, userId: p.user_id === null ? null : Number(p.user_id), charityId: p.charity_id }, BigInt(p.id));

const must = (r: TransferResult): Transfer => {
  if (!r.ok) throw new LedgerRefusal(r.reason);
  return r.transfer;
};

/**
 * A payout is formed: a charity's share is donated to it first, donor by donor (a charity payout
 * may gather several people's awards), then the payout's amount is reserved (pending) for the wallet.
 */
async function reservePayout(
  tx: Queryable,
  p: { id: bigint; payeeKind: "user" | "charity"; userId: number | null; charityId: string | null; sats: bigint },
  awards: ReadonlyArray<{ recipient_id: bigint; sats: bigint }>,
): Promise<void> {
  const payer = payerOf(p, p.id);
  const byDonor = new Map<number, bigint>();
  for (const a of awards) byDonor.set(Number(a.recipient_id), (byDonor.get(Number(a.recipient_id)) ?? 0n) + BigInt(a.sats));
  for (const [userId, sats] of byDonor) if (sats <= 0n) byDonor.delete(userId);
  await lockAccounts(tx, [payer, WALLET, ...[...byDonor.keys()].map(earningsOf)]);
  if (p.payeeKind === "charity") {
    for (const [userId, sats] of [...byDonor].sort(([a], [b]) => a - b)) {
      await mustTransfer(tx, {
        key: `donation:${p.id}:${userId}`,
        debit: earningsOf(userId),
        credit: payer,
        sats,
        kind: "donation",
        ref: { payout: p.id.toString(), user: String(userId) },
      });
    }
  } else if ([...byDonor.keys()].some((u) => u !== p.userId)) {
    throw new LedgerRefusal(`payout ${p.id} to user ${p.userId} holds someone else's award`);
  }
  await mustTransfer(tx, {
    key: `payout:${p.id}`,
    debit: payer,
    credit: WALLET,
    sats: p.sats,
    kind: "payout",
    pending: { timeoutAt: null },
    ref: { payout: p.id.toString() },
  });
}

/** The key of a payout's open (neither posted nor voided) pending transfer, if it has one. */
async function openPayoutPending(tx: Queryable, payoutId: bigint): Promise<string | null> {
  const rows = await tx.query<{ key: string }>(
    `SELECT p.key FROM ledger_transfers p
     WHERE p.kind = 'payout' AND p.phase = 'pending' AND p.ref->>'payout' = $1
       AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id)
     ORDER BY p.id`,
    [payoutId.toString()],
  );
  if (rows.length > 1) throw new LedgerRefusal(`payout ${payoutId} has ${rows.length} open pending transfers`);
  return rows[0]?.key ?? null;
}

async function mustOpenPayoutPending(tx: Queryable, payoutId: bigint): Promise<string> {
  const key = await openPayoutPending(tx, payoutId);
  if (!key) throw new LedgerRefusal(`payout ${payoutId} has no open pending transfer on the ledger`);
  return key;
}

/**
 * A stored transaction's fee (or a bump's extra fee) paid to the network (`paid`), of which the
 * treasury is charged `sats`: all of it, less the shares its withdrawals paid (recorded before).
 */
async function recordFee(tx: Queryable, txid: string, sats: bigint, paid: bigint = sats): Promise<void> {
  if (sats < 0n || sats > paid) throw new LedgerRefusal(`transaction ${txid}: the treasury's part ${sats} of its fee ${paid} is out of range`);
  const ref = { txid };
  if (sats > 0n) await mustTransfer(tx, { key: `fee:${txid}`, debit: TREASURY, credit: FEES, sats, kind: "fee", ref });
  if (paid > 0n) await mustTransfer(tx, { key: `fee_paid:${txid}`, debit: FEES, credit: WALLET, sats: paid, kind: "fee_paid", ref });
}

/** Withdrawals' fee shares recorded for a transaction (`fee:<txid>:withdrawal:<payout id>`), or for one payout, not undone. */
async function feeShares(tx: Queryable, by: { txid: string } | { payoutId: bigint }): Promise<Array<{ key: string; sats: bigint; userId: number; txid: string }>> {
  const [field, value] = "txid" in by ? ["txid", by.txid] : ["payout", by.payoutId.toString()];
  const rows = await tx.query<{ key: string; sats: bigint; user_id: string; txid: string }>(
    `SELECT t.key, t.sats, t.ref->>'user' AS user_id, t.ref->>'txid' AS txid FROM ledger_transfers t
     WHERE t.kind = 'fee' AND t.ref->>'share' = 'withdrawal' AND t.ref->>'${field}' = $1
       AND NOT EXISTS (SELECT 1 FROM ledger_transfers u WHERE u.key = t.key || ':undo')
     ORDER BY t.id`,
    [value],
  );
  return rows.map((r) => ({ key: r.key, sats: BigInt(r.sats), userId: Number(r.user_id), txid: r.txid }));
}

/** A withdrawal's fee share back to its funds (its transaction can never confirm). Idempotent by key. */
async function undoFeeShare(tx: Queryable, s: { key: string; sats: bigint; userId: number; txid: string }): Promise<void> {
  await mustTransfer(tx, {
    key: `${s.key}:undo`,
    debit: FEES,
    credit: fundsOf(s.userId),
    sats: s.sats,
    kind: "correction",
    ref: { txid: s.txid, undoes: s.key, user: String(s.userId) },
  });
}

/**
 * The fee a replacement chain (a transaction and its fee bumps, transitively) has on the ledger is
 * the fee of the one that confirmed. Each stored transaction recorded its fee over the one it
 * replaces (fee:<txid>), so the fees along the path from the chain's first transaction to the
 * confirmed one add up to its fee. A transaction's recorded fee stands while it, or a bump of it,
 * confirmed or (with none confirmed) may still confirm; otherwise it is undone by
 * `fee:<txid>:undo` (fees → treasury) and `fee_paid:<txid>:undo` (wallet → fees), once. With
 * nothing confirmed and nothing live left, every fee of the chain is undone. Called after any
 * transaction of the chain changes state; migration 10 applies the same rule.
 */
async function settleChainFees(tx: Queryable, txId: bigint): Promise<void> {
  const dead = await tx.query<{ txid: string }>(
    `WITH RECURSIVE up AS (
       SELECT id, replaces_tx_id FROM payout_txs WHERE id = $1
       UNION ALL SELECT t.id, t.replaces_tx_id FROM payout_txs t JOIN up ON t.id = up.replaces_tx_id
     ), tree AS (
       SELECT id FROM up WHERE replaces_tx_id IS NULL
       UNION ALL SELECT t.id FROM payout_txs t JOIN tree ON t.replaces_tx_id = tree.id
     ), pairs AS (
       SELECT id AS d, id AS a FROM tree
       UNION ALL SELECT t.id, p.a FROM payout_txs t JOIN pairs p ON t.replaces_tx_id = p.d
     ), standing AS (
       SELECT x.id FROM payout_txs x JOIN tree ON tree.id = x.id
       WHERE x.state = 'confirmed'
          OR (x.state IN ('signed', 'broadcast')
              AND NOT EXISTS (SELECT 1 FROM payout_txs c JOIN tree t2 ON t2.id = c.id WHERE c.state = 'confirmed'))
     )
     SELECT x.txid FROM payout_txs x JOIN tree ON tree.id = x.id
     WHERE NOT EXISTS (SELECT 1 FROM pairs p JOIN standing s ON s.id = p.d WHERE p.a = x.id)
     ORDER BY x.id`,
    [txId],
  );
  if (dead.length === 0) return;
  const shares = (await Promise.all(dead.map(({ txid }) => feeShares(tx, { txid })))).flat();
  await lockAccounts(tx, [FEES, TREASURY, WALLET, ...shares.map((s) => fundsOf(s.userId))]);
  for (const { txid } of dead) {
    // A withdrawal's share goes back to its funds; the treasury gets back only what it paid.
    for (const s of shares.filter((x) => x.txid === txid)) await undoFeeShare(tx, s);
    const fee = await findTransfer(tx, `fee:${txid}`);
    if (fee && !(await findTransfer(tx, `fee:${txid}:undo`))) {
      await mustTransfer(tx, { key: `fee:${txid}:undo`, debit: FEES, credit: TREASURY, sats: fee.sats, kind: "correction", ref: { txid, undoes: fee.key } });
    }
    const paid = await findTransfer(tx, `fee_paid:${txid}`);
    if (paid && !(await findTransfer(tx, `fee_paid:${txid}:undo`))) {
      await mustTransfer(tx, { key: `fee_paid:${txid}:undo`, debit: WALLET, credit: FEES, sats: paid.sats, kind: "correction", ref: { txid, undoes: paid.key } });
    }
  }
}

type PayoutRow = {
  id: bigint;
  payee_kind: "user" | "charity";
  user_id: bigint | null;
  login: string | null;
  charity_id: string | null;
  charity_name: string | null;
  address: string;
  address_type: string;
  network: string;
  sats: bigint;
  state: PayoutState;
  tx_id: bigint | null;
  txid: string | null;
  vout: number | null;
  wait_reason: string | null;
  approved_by: string | null;
  over_tx_cap: "requested" | "approved" | null;
  source: "earnings" | "funds";
  requested_sats: bigint | null;
  fee_share_sats: bigint | null;
  created_at: Date;
};

const toPayout = (r: PayoutRow): PayoutRecord => ({
  id: BigInt(r.id),
  kind: r.payee_kind,
  userId: r.user_id === null ? null : Number(r.user_id),
  login: r.login,
  charityId: r.charity_id,
  charityName: r.charity_name,
  address: r.address,
  addressType: r.address_type,
  network: r.network,
  sats: BigInt(r.sats),
  state: r.state,
  txId: r.tx_id === null ? null : BigInt(r.tx_id),
  txid: r.txid,
  vout: r.vout === null ? null : Number(r.vout),
  waitReason: r.wait_reason,
  approvedBy: r.approved_by,
  overTxCap: r.over_tx_cap ?? null,
  source: r.source ?? "earnings",
  requestedSats: r.requested_sats === null || r.requested_sats === undefined ? null : BigInt(r.requested_sats),
  feeShareSats: r.fee_share_sats === null || r.fee_share_sats === undefined ? null : BigInt(r.fee_share_sats),
  createdAt: new Date(r.created_at),
});

export async function listPayouts(db: Queryable, opts: { state?: PayoutState; ids?: bigint[] } = {}): Promise<PayoutRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.state) {
    params.push(opts.state);
    where.push(`p.state = $${params.length}`);
  }
  if (opts.ids) {
    params.push(opts.ids.map(String));
    where.push(`p.id = ANY($${params.length}::bigint[])`);
  }
  const rows = await db.query<PayoutRow>(
    `SELECT p.*, t.txid FROM payouts p LEFT JOIN payout_txs t ON t.id = p.tx_id
     ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY p.id`,
    params,
  );
  return rows.map(toPayout);
}

/** A signed batch pays a payout whose recipient now wants the money elsewhere: it must not be stored. */
export class DestinationChangedError extends Error {
  constructor(readonly payoutIds: bigint[]) {
    super(`the recipient of payout ${payoutIds.join(", ")} changed wallets after it was formed; not storing that batch`);
    this.name = "DestinationChangedError";
  }
}

/**
 * Payouts not yet signed (of `ids`, or all) that pay somewhere an award in them no longer goes:
 * its recipient linked, changed or removed a wallet, switched between an address and a charity, or
 * linked one after the award was bound for the unclaimed charity. Checked award by award, so a
 * donor's share in a charity payout several donors share counts too. Mirrors destinationOf in
 * src/payouts/plan.ts: a payout formed again is never stale at once.
 */
async function staleDestinations(db: Queryable, ids?: bigint[]): Promise<bigint[]> {
  const rows = await db.query<{ id: bigint }>(
    `SELECT DISTINCT p.id FROM payouts p JOIN awards a ON a.payout_id = p.id LEFT JOIN wallets w ON w.user_id = a.recipient_id
     WHERE p.state IN ('awaiting_approval', 'queued') AND ($1::bigint[] IS NULL OR p.id = ANY($1::bigint[]))
       AND CASE WHEN w.user_id IS NULL
             THEN p.payee_kind <> 'charity' OR p.address IS DISTINCT FROM a.unclaimed_charity->>'address'
             ELSE w.address <> p.address OR w.kind <> CASE p.payee_kind WHEN 'charity' THEN 'charity' ELSE 'address' END
           END
     ORDER BY p.id`,
    [ids ? ids.map(String) : null],
  );
  return rows.map((r) => BigInt(r.id));
}

/**
 * Payouts not yet signed that pay somewhere their recipients no longer want (staleDestinations)
 * are taken apart, so the next forming pays where each recipient wants now. Nothing signed is ever
 * touched. Returns how many.
 */
export async function dissolveStalePayouts(db: Db): Promise<number> {
  return db.transaction(async (tx) => {
    const ids = await staleDestinations(tx);
    if (ids.length === 0) return 0;
    const stale = await tx.query<{
      id: bigint;
      user_id: bigint | null;
      address: string;
      sats: bigint;
      payee_kind: "user" | "charity";
      charity_id: string | null;
    }>(
      `SELECT id, user_id, address, sats, payee_kind, charity_id FROM payouts
       WHERE id = ANY($1::bigint[]) AND state IN ('awaiting_approval', 'queued')
       ORDER BY id FOR UPDATE`,
      [ids.map(String)],
    );
    for (const p of stale) {
      const awards = await tx.query<{ id: bigint; bounty_id: bigint; recipient_id: bigint; sats: bigint }>(
        "UPDATE awards SET payout_id = NULL, updated_at = now() WHERE payout_id = $1 RETURNING id, bounty_id, recipient_id, sats",
        [p.id],
      );
      await releasePayout(tx, { id: BigInt(p.id), payeeKind: p.payee_kind, charityId: p.charity_id }, awards);
      for (const bountyId of new Set(awards.map((a) => String(a.bounty_id)))) {
        await appendEvent(tx, {
          bountyId: BigInt(bountyId),
          userId: p.user_id === null ? null : Number(p.user_id),
          kind: "payout_dissolved",
          data: { payout_id: String(p.id), address: p.address, sats: String(p.sats), reason: "a recipient's wallet changed before it was paid" },
          cause: SYSTEM_CAUSE,
        });
      }
      await tx.query("DELETE FROM payouts WHERE id = $1", [p.id]);
      await refreshBounties(tx, { awardIds: awards.map((a) => BigInt(a.id)) }, SYSTEM_CAUSE);
    }
    return stale.length;
  });
}

/** A payout taken apart before it was signed: its reservation is voided and its donations are undone. */
async function releasePayout(
  tx: Queryable,
  p: { id: bigint; payeeKind: "user" | "charity"; charityId: string | null },
  _awards: ReadonlyArray<{ recipient_id: bigint; sats: bigint }>,
): Promise<void> {
  const pending = await mustOpenPayoutPending(tx, p.id);
  if (p.payeeKind !== "charity") {
    must(await voidPending(tx, pending, { key: `${pending}:void`, ref: { payout: p.id.toString(), reason: "dissolved" } }));
    return;
  }
  const charity = payerOf({ payeeKind: "charity", userId: null, charityId: p.charityId }, p.id);
  // The donations as recorded (awards, and any other earnings the payout took), undone exactly.
  const byDonor = new Map<number, bigint>();
  for (const t of await listTransfers(tx, { kinds: ["donation"], refKey: "payout", refValue: p.id.toString() })) {
    if (t.key !== `donation:${p.id}:${t.ref.user}`) continue;
    byDonor.set(Number(t.ref.user), (byDonor.get(Number(t.ref.user)) ?? 0n) + t.sats);
  }
  await lockAccounts(tx, [WALLET, charity, ...[...byDonor.keys()].map(earningsOf)]);
  must(await voidPending(tx, pending, { key: `${pending}:void`, ref: { payout: p.id.toString(), reason: "dissolved" } }));
  for (const [userId, sats] of [...byDonor].sort(([a], [b]) => a - b)) {
    await mustTransfer(tx, {
      key: `donation:${p.id}:${userId}:undo`,
      debit: charity,
      credit: earningsOf(userId),
      sats,
      kind: "correction",
      ref: { payout: p.id.toString(), user: String(userId), undoes: `donation:${p.id}:${userId}` },
    });
  }
}

/** Says why queued payouts are still waiting (shown by `payouts list`). */
export async function setWaitReason(db: Queryable, ids: bigint[], reason: string | null): Promise<void> {
  if (ids.length === 0) return;
  await db.query("UPDATE payouts SET wait_reason = $2, updated_at = now() WHERE id = ANY($1::bigint[]) AND state = 'queued'", [
    ids.map(String),
    reason,
  ]);
}

/**
 * By itself over PAYOUT_MAX_TX_SATS: the payout stops retrying and waits for an operator's
 * approval, with `reason` (shown by `payouts list`). False if it was no longer queued.
 */
export async function holdOverTxCap(db: Db, id: bigint, reason: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [p] = await tx.query<{ user_id: bigint | null; sats: bigint; address: string }>(
      `UPDATE payouts SET state = 'awaiting_approval', over_tx_cap = 'requested', wait_reason = $2, updated_at = now()
       WHERE id = $1 AND state = 'queued' AND over_tx_cap IS NULL RETURNING user_id, sats, address`,
      [id, reason],
    );
    if (!p) return false;
    const bounties = await tx.query<{ bounty_id: bigint }>("SELECT DISTINCT bounty_id FROM awards WHERE payout_id = $1 ORDER BY bounty_id", [id]);
    for (const b of bounties) {
      await appendEvent(tx, {
        bountyId: BigInt(b.bounty_id),
        userId: p.user_id === null ? null : Number(p.user_id),
        kind: "payout_held",
        data: { payout_id: String(id), sats: String(p.sats), address: p.address, reason },
        cause: SYSTEM_CAUSE,
      });
    }
    return true;
  });
}

/**
 * An operator releases payouts awaiting approval to the next run. Named by id, a payout over
 * PAYOUT_MAX_TX_SATS is approved to go above it in a transaction of its own; "all" releases only
 * the payouts PAYOUT_MODE=approve holds, never one over the cap. Returns the ids that moved.
 */
export async function approvePayouts(db: Db, ids: bigint[] | "all", by: string): Promise<bigint[]> {
  return db.transaction(async (tx) => {
    const set = `SET state = 'queued', approved_by = $1, approved_at = now(), updated_at = now(), wait_reason = NULL,
                     over_tx_cap = CASE WHEN over_tx_cap = 'requested' THEN 'approved' ELSE over_tx_cap END`;
    type Row = { id: bigint; user_id: bigint | null; over_tx_cap: string | null; sats: bigint; address: string };
    const rows =
      ids === "all"
        ? await tx.query<Row>(
            `UPDATE payouts ${set} WHERE state = 'awaiting_approval' AND over_tx_cap IS NULL
             RETURNING id, user_id, over_tx_cap, sats, address`,
            [by],
          )
        : await tx.query<Row>(
            `UPDATE payouts ${set} WHERE state = 'awaiting_approval' AND id = ANY($2::bigint[])
             RETURNING id, user_id, over_tx_cap, sats, address`,
            [by, ids.map(String)],
          );
    for (const r of rows) {
      await appendEvent(tx, {
        userId: r.user_id === null ? null : Number(r.user_id),
        kind: "payout_approved",
        data:
          r.over_tx_cap === "approved"
            ? { payout_id: String(r.id), over_tx_cap: true, sats: String(r.sats), address: r.address }
            : { payout_id: String(r.id) },
        cause: { actor: { id: null, login: by }, deliveryId: null },
      });
    }
    return rows.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  });
}

// ---------------------------------------------------------------------------- transactions

type TxRow = {
  id: bigint;
  txid: string;
  hex: string;
  network: string;
  fee_sats: bigint;
  fee_rate_sat_kvb: bigint;
  vsize: number;
  payout_sats: bigint;
  inputs: unknown;
  input_refs: unknown;
  outputs: unknown;
  change: unknown;
  replaces_tx_id: bigint | null;
  day_utc: string;
  state: PayoutTxState;
  state_reason: string | null;
  signed_at: Date;
  broadcast_at: Date | null;
  confirmed_at: Date | null;
  block_height: number | null;
  last_error: string | null;
};

const toTx = (r: TxRow): PayoutTx => ({
  id: BigInt(r.id),
  txid: r.txid,
  hex: r.hex,
  network: r.network,
  feeSats: BigInt(r.fee_sats),
  feeRateSatKvb: BigInt(r.fee_rate_sat_kvb),
  vsize: Number(r.vsize),
  payoutSats: BigInt(r.payout_sats),
  inputs: fromJson<string[]>(r.inputs),
  inputRefs: r.input_refs ? fromJson<InputRefJson[]>(r.input_refs).map((i) => ({ ...i, sats: BigInt(i.sats) })) : [],
  outputs: fromJson<PayoutTxOutput[]>(r.outputs),
  change: r.change ? ((c) => ({ ...c, sats: BigInt(c.sats) }))(fromJson<{ vout: number; sats: string; address: string; index: number }>(r.change)) : null,
  replacesTxId: r.replaces_tx_id === null ? null : BigInt(r.replaces_tx_id),
  dayUtc: r.day_utc,
  state: r.state,
  stateReason: r.state_reason,
  signedAt: new Date(r.signed_at),
  broadcastAt: r.broadcast_at ? new Date(r.broadcast_at) : null,
  confirmedAt: r.confirmed_at ? new Date(r.confirmed_at) : null,
  blockHeight: r.block_height === null ? null : Number(r.block_height),
  lastError: r.last_error,
});

export async function listPayoutTxs(db: Queryable, states?: PayoutTxState[]): Promise<PayoutTx[]> {
  const rows = states
    ? await db.query<TxRow>("SELECT * FROM payout_txs WHERE state = ANY($1::text[]) ORDER BY id", [states])
    : await db.query<TxRow>("SELECT * FROM payout_txs ORDER BY id");
  return rows.map(toTx);
}

/** Coins spent by transactions that may still confirm: never offered to coin selection. */
export async function liveInputs(db: Queryable): Promise<Set<string>> {
  const txs = await listPayoutTxs(db, ["signed", "broadcast"]);
  return new Set(txs.flatMap((t) => t.inputs));
}

export interface InputRef {
  txid: string;
  vout: number;
  sats: bigint;
  chain: 0 | 1 | 2; // 2: the deposit chain (bitcoin/keys.ts DEPOSIT)
  index: number;
}
type InputRefJson = Omit<InputRef, "sats"> & { sats: string };

export interface SignedTxRecord {
  txid: string;
  hex: string;
  network: string;
  feeSats: bigint;
  feeRateSatKvb: bigint;
  vsize: number;
  payoutSats: bigint;
  inputs: string[];
  /** Each input's key (derivation chain and index) and value: what a fee bump needs to sign them again. */
  inputRefs: InputRef[];
  change: { vout: number; sats: bigint; address: string; index: number } | undefined;
  /** Set on a fee bump: the transaction it replaces. */
  replacesTxId?: bigint;
  dayUtc: string;
  /** payout id → vout */
  outputs: Map<bigint, number>;
}

/**
 * Stores a signed transaction and moves its payouts from queued to signed, in the caller's
 * database transaction, before anything is broadcast. Throws if a payout is no longer queued, and
 * DestinationChangedError if a recipient's wallet no longer says where the payout goes: their
 * wallet rows stay locked until the caller commits, so a `/wallet` either came first (and wins)
 * or comes after the payout is signed.
 */
export async function storeSignedTx(tx: Queryable, t: SignedTxRecord): Promise<bigint> {
  const ids = [...t.outputs.keys()];
  const payouts = await tx.query<{
    id: bigint;
    sats: bigint;
    address: string;
    address_type: string;
    user_id: bigint | null;
    payee_kind: "user" | "charity";
    charity_id: string | null;
    source: "earnings" | "funds";
    requested_sats: bigint | null;
  }>(
    `SELECT id, sats, address, address_type, user_id, payee_kind, charity_id, source, requested_sats FROM payouts
     WHERE id = ANY($1::bigint[]) AND state = 'queued' FOR UPDATE`,
    [ids.map(String)],
  );
  if (payouts.length !== t.outputs.size) throw new Error(`payouts of ${t.txid} are no longer all queued; not storing it`);
  await tx.query(
    "SELECT user_id FROM wallets WHERE user_id IN (SELECT recipient_id FROM awards WHERE payout_id = ANY($1::bigint[])) FOR SHARE",
    [ids.map(String)],
  );
  const stale = await staleDestinations(tx, ids);
  if (stale.length) throw new DestinationChangedError(stale);
  // A withdrawal's output pays the amount asked less its share of the fee, fixed now at the batch's rate.
  const shares = new Map<string, bigint>();
  for (const p of payouts) {
    if (p.source !== "funds") continue;
    const share = withdrawalFeeShare(p.address_type, t.feeRateSatKvb);
    if (p.requested_sats === null || BigInt(p.requested_sats) - share <= 0n) throw new Error(`withdrawal ${p.id} cannot pay its fee share of ${share} sats`);
    shares.set(String(p.id), share);
  }
  const outputs: PayoutTxOutput[] = payouts.map((p) => ({
    payoutId: String(p.id),
    vout: t.outputs.get(BigInt(p.id))!,
    sats: String(shares.has(String(p.id)) ? BigInt(p.requested_sats!) - shares.get(String(p.id))! : BigInt(p.sats)),
    address: p.address,
  }));
  outputs.sort((a, b) => a.vout - b.vout);
  const listed = outputs.reduce((sum, o) => sum + BigInt(o.sats), 0n);
  // A withdrawal's output was sized by the run at the same rate: signed otherwise, its share would be wrong.
  if (shares.size && listed !== t.payoutSats) throw new Error(`${t.txid} pays ${t.payoutSats} sats but its payouts come to ${listed}; not storing it`);
  const sharesSats = [...shares.values()].reduce((a, b) => a + b, 0n);
  const txId = await insertTx(tx, t, outputs);
  // Every account this step moves, locked at once in key order (no deadlock with other transfers).
  const payers = payouts.map(payerOfRow);
  await lockAccounts(tx, [...payers, WALLET, TREASURY, FEES]);
  for (const o of outputs) {
    await tx.query(
      "UPDATE payouts SET state = 'signed', tx_id = $2, vout = $3, wait_reason = NULL, updated_at = now() WHERE id = $1",
      [o.payoutId, txId, o.vout],
    );
    // Signed and stored, the payout's money is spent: its reservation is posted.
    const pending = await mustOpenPayoutPending(tx, BigInt(o.payoutId));
    const share = shares.get(o.payoutId);
    if (share === undefined) {
      must(await postPending(tx, pending, { key: `${pending}:post`, ref: { payout: o.payoutId, txid: t.txid } }));
      continue;
    }
    // A withdrawal: only its output is posted (the share returns to its funds), then the share pays the fee.
    const p = payouts.find((x) => String(x.id) === o.payoutId)!;
    await tx.query("UPDATE payouts SET sats = $2, fee_share_sats = $3 WHERE id = $1", [o.payoutId, o.sats, share]);
    must(await postPending(tx, pending, { key: `${pending}:post`, sats: BigInt(o.sats), ref: { payout: o.payoutId, txid: t.txid } }));
    if (share > 0n) {
      await mustTransfer(tx, {
        key: `fee:${t.txid}:withdrawal:${o.payoutId}`,
        debit: fundsOf(Number(p.user_id)),
        credit: FEES,
        sats: share,
        kind: "fee",
        ref: { txid: t.txid, payout: o.payoutId, user: String(p.user_id), share: "withdrawal" },
      });
    }
  }
  await recordFee(tx, t.txid, t.feeSats - sharesSats, t.feeSats);
  await payoutEvents(tx, txId, "payout_signed", { txid: t.txid, fee_sats: t.feeSats.toString(), vsize: t.vsize });
  return txId;
}

async function insertTx(tx: Queryable, t: SignedTxRecord, outputs: PayoutTxOutput[]): Promise<bigint> {
  const [row] = await tx.query<{ id: bigint }>(
    `INSERT INTO payout_txs (txid, hex, network, fee_sats, fee_rate_sat_kvb, vsize, payout_sats, inputs, input_refs, outputs,
                             change, day_utc, replaces_tx_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
    [
      t.txid,
      t.hex,
      t.network,
      t.feeSats,
      t.feeRateSatKvb,
      t.vsize,
      t.payoutSats,
      JSON.stringify(t.inputs),
      JSON.stringify(t.inputRefs.map((i) => ({ ...i, sats: i.sats.toString() }))),
      JSON.stringify(outputs),
      t.change ? JSON.stringify({ ...t.change, sats: t.change.sats.toString() }) : null,
      t.dayUtc,
      t.replacesTxId ?? null,
    ],
  );
  return BigInt(row!.id);
}

/**
 * Stores a fee bump of `old` and binds old's payouts to it (they stay 'broadcast': the old
 * transaction is on the network until the bump replaces it). Both transactions stay live until one
 * confirms; whichever does, the payouts follow it (adoptPayouts), so they are never paid twice.
 */
export async function storeBumpTx(tx: Queryable, t: SignedTxRecord, old: PayoutTx): Promise<bigint> {
  const bound = await tx.query<{ id: bigint; sats: bigint; address: string }>(
    "SELECT id, sats, address FROM payouts WHERE tx_id = $1 AND state = 'broadcast' FOR UPDATE",
    [old.id],
  );
  const ids = new Set(bound.map((p) => String(p.id)));
  if (bound.length !== t.outputs.size || [...t.outputs.keys()].some((id) => !ids.has(String(id)))) {
    throw new Error(`the payouts of ${old.txid} changed; not storing its fee bump ${t.txid}`);
  }
  const outputs: PayoutTxOutput[] = bound
    .map((p) => ({ payoutId: String(p.id), vout: t.outputs.get(BigInt(p.id))!, sats: String(p.sats), address: p.address }))
    .sort((a, b) => a.vout - b.vout);
  const [prev] = await tx.query<{ fee_sats: bigint }>("SELECT fee_sats FROM payout_txs WHERE id = $1", [old.id]);
  const extra = t.feeSats - BigInt(prev!.fee_sats);
  // BIP125: a replacement pays a higher absolute fee; anything else would make the chain's fees wrong.
  if (extra <= 0n) throw new Error(`fee bump ${t.txid} pays ${t.feeSats} sats, not more than the ${prev!.fee_sats} of ${old.txid}`);
  const txId = await insertTx(tx, { ...t, replacesTxId: old.id }, outputs);
  for (const o of outputs) {
    await tx.query("UPDATE payouts SET tx_id = $2, vout = $3, updated_at = now() WHERE id = $1", [o.payoutId, txId, o.vout]);
  }
  await lockAccounts(tx, [WALLET, TREASURY, FEES]);
  await recordFee(tx, t.txid, extra);
  await payoutEvents(tx, txId, "payout_fee_bumped", { txid: t.txid, replaces: old.txid, fee_sats: t.feeSats.toString(), vsize: t.vsize });
  return txId;
}

/**
 * Stores a replacement of `old` that adds payouts to it (a join, src/bitcoin/join.ts): old's
 * payouts are bound to it as to a fee bump (they stay 'broadcast'), and the added ones, queued
 * until now, are signed with it as storeSignedTx signs them (their reservations posted). Its fee on
 * the ledger is only its extra over old's (fee:<txid>). Whichever of the two confirms, old's payouts
 * follow it (adoptPayouts); if old does, this one is replaced and the added payouts are queued
 * again (markReplaced). Throws when old is no longer broadcast with every payout it pays bound to
 * it, when an added payout is not queued or is a withdrawal (its fee share is fixed at a batch's
 * own rate), and DestinationChangedError like storeSignedTx.
 */
export async function storeJoinTx(tx: Queryable, t: SignedTxRecord, old: PayoutTx): Promise<bigint> {
  const [prev] = await tx.query<{ state: PayoutTxState; fee_sats: bigint }>("SELECT state, fee_sats FROM payout_txs WHERE id = $1 FOR UPDATE", [old.id]);
  if (prev?.state !== "broadcast") throw new Error(`${old.txid} is no longer broadcast; not storing the replacement ${t.txid} that adds payouts to it`);
  const bound = await tx.query<{ id: bigint; sats: bigint; address: string }>(
    "SELECT id, sats, address FROM payouts WHERE tx_id = $1 AND state = 'broadcast' ORDER BY id FOR UPDATE",
    [old.id],
  );
  const oldIds = new Set(old.outputs.map((o) => o.payoutId));
  if (bound.length !== oldIds.size || bound.some((p) => !oldIds.has(String(p.id)) || !t.outputs.has(BigInt(p.id)))) {
    throw new Error(`the payouts of ${old.txid} changed; not storing the replacement ${t.txid} that adds payouts to it`);
  }
  const addedIds = [...t.outputs.keys()].filter((id) => !oldIds.has(String(id)));
  if (addedIds.length === 0) throw new Error(`${t.txid} adds no payouts to ${old.txid}`);
  const added = await tx.query<{
    id: bigint;
    sats: bigint;
    address: string;
    user_id: bigint | null;
    payee_kind: "user" | "charity";
    charity_id: string | null;
    source: "earnings" | "funds";
  }>(
    `SELECT id, sats, address, user_id, payee_kind, charity_id, source FROM payouts
     WHERE id = ANY($1::bigint[]) AND state = 'queued' ORDER BY id FOR UPDATE`,
    [addedIds.map(String)],
  );
  if (added.length !== addedIds.length) throw new Error(`payouts added by ${t.txid} are no longer all queued; not storing it`);
  if (added.some((p) => p.source === "funds")) throw new Error(`${t.txid} adds a withdrawal to ${old.txid}; withdrawals go in a batch of their own rate`);
  await tx.query(
    "SELECT user_id FROM wallets WHERE user_id IN (SELECT recipient_id FROM awards WHERE payout_id = ANY($1::bigint[])) FOR SHARE",
    [addedIds.map(String)],
  );
  const stale = await staleDestinations(tx, addedIds);
  if (stale.length) throw new DestinationChangedError(stale);
  const outputs: PayoutTxOutput[] = [...bound, ...added]
    .map((p) => ({ payoutId: String(p.id), vout: t.outputs.get(BigInt(p.id))!, sats: String(p.sats), address: p.address }))
    .sort((a, b) => a.vout - b.vout);
  const listed = outputs.reduce((sum, o) => sum + BigInt(o.sats), 0n);
  if (listed !== t.payoutSats) throw new Error(`${t.txid} pays ${t.payoutSats} sats but its payouts come to ${listed}; not storing it`);
  const extra = t.feeSats - BigInt(prev.fee_sats);
  // BIP125: a replacement pays a higher absolute fee; anything else would make the chain's fees wrong.
  if (extra <= 0n) throw new Error(`replacement ${t.txid} pays ${t.feeSats} sats, not more than the ${prev.fee_sats} of ${old.txid}`);
  const txId = await insertTx(tx, { ...t, replacesTxId: old.id }, outputs);
  for (const p of bound) {
    await tx.query("UPDATE payouts SET tx_id = $2, vout = $3, updated_at = now() WHERE id = $1", [p.id, txId, t.outputs.get(BigInt(p.id))]);
  }
  await payoutEvents(tx, txId, "payout_fee_bumped", { txid: t.txid, replaces: old.txid, fee_sats: t.feeSats.toString(), vsize: t.vsize, joined: addedIds.length });
  await lockAccounts(tx, [...added.map(payerOfRow), WALLET, TREASURY, FEES]);
  for (const p of added) {
    await tx.query(
      "UPDATE payouts SET state = 'signed', tx_id = $2, vout = $3, wait_reason = NULL, updated_at = now() WHERE id = $1",
      [p.id, txId, t.outputs.get(BigInt(p.id))],
    );
    // Signed and stored, the payout's money is spent: its reservation is posted.
    const pending = await mustOpenPayoutPending(tx, BigInt(p.id));
    must(await postPending(tx, pending, { key: `${pending}:post`, ref: { payout: String(p.id), txid: t.txid } }));
  }
  await recordFee(tx, t.txid, extra);
  await payoutEvents(tx, txId, "payout_signed", { txid: t.txid, fee_sats: t.feeSats.toString(), vsize: t.vsize, replaces: old.txid }, addedIds);
  return txId;
}

/**
 * The payouts a transaction pays are bound to it again: used when it (and not a fee bump of it, or
 * the original a bump replaced) is the one the chain kept.
 */
export async function adoptPayouts(tx: Queryable, txId: bigint, state: "broadcast" | "confirmed"): Promise<void> {
  const [t] = await tx.query<{ outputs: unknown }>("SELECT outputs FROM payout_txs WHERE id = $1", [txId]);
  for (const o of fromJson<PayoutTxOutput[]>(t!.outputs)) {
    await tx.query(
      `UPDATE payouts SET tx_id = $2, vout = $3, state = CASE WHEN state = 'confirmed' OR $4 = 'confirmed' THEN 'confirmed' ELSE 'broadcast' END,
         updated_at = now() WHERE id = $1 AND state IN ('signed', 'broadcast', 'confirmed')`,
      [o.payoutId, txId, o.vout, state],
    );
  }
}

/** A fee bump the network refused outright: the payouts go back to the transaction it was to replace. */
export async function abandonBump(tx: Queryable, bump: PayoutTx, reason: string): Promise<void> {
  if (bump.replacesTxId === null) throw new Error(`${bump.txid} is not a fee bump`);
  await adoptPayouts(tx, bump.replacesTxId, "broadcast");
  await tx.query("UPDATE payout_txs SET state = 'replaced', state_reason = $2 WHERE id = $1 AND state = 'signed'", [bump.id, reason]);
  await tx.query("DELETE FROM spend_reservations WHERE txid = $1", [bump.txid]);
  await settleChainFees(tx, bump.id);
}

/** Our own payout transaction with this txid (or row id), if it is one. */
export async function findPayoutTx(db: Queryable, key: string | bigint): Promise<PayoutTx | null> {
  const rows =
    typeof key === "bigint"
      ? await db.query<TxRow>("SELECT * FROM payout_txs WHERE id = $1", [key])
      : await db.query<TxRow>("SELECT * FROM payout_txs WHERE txid = $1", [key]);
  return rows[0] ? toTx(rows[0]) : null;
}

/** How many payouts are bound to a transaction now (zero for one a fee bump took over). */
export async function boundPayouts(db: Queryable, txId: bigint): Promise<number> {
  const [r] = await db.query<{ n: bigint }>("SELECT count(*) AS n FROM payouts WHERE tx_id = $1", [txId]);
  return Number(r!.n);
}

/** The transaction reached the network (or the network already had it). */
export async function markBroadcast(tx: Queryable, txId: bigint): Promise<boolean> {
  const rows = await tx.query<{ txid: string }>(
    `UPDATE payout_txs SET state = 'broadcast', broadcast_at = coalesce(broadcast_at, now()), last_error = NULL
     WHERE id = $1 AND state = 'signed' RETURNING txid`,
    [txId],
  );
  if (rows.length === 0) return false;
  await tx.query("UPDATE payouts SET state = 'broadcast', updated_at = now() WHERE tx_id = $1 AND state = 'signed'", [txId]);
  await payoutEvents(tx, txId, "payout_broadcast", { txid: rows[0]!.txid });
  await refreshBounties(tx, { payoutIds: await payoutsOf(tx, txId) }, SYSTEM_CAUSE);
  return true;
}

export async function markConfirmed(tx: Queryable, txId: bigint, blockHeight: number): Promise<boolean> {
  const rows = await tx.query<{ txid: string }>(
    `UPDATE payout_txs SET state = 'confirmed', broadcast_at = coalesce(broadcast_at, now()), confirmed_at = now(),
       block_height = $2, last_error = NULL
     WHERE id = $1 AND state IN ('signed', 'broadcast') RETURNING txid`,
    [txId, blockHeight],
  );
  if (rows.length === 0) return false;
  await adoptPayouts(tx, txId, "confirmed");
  await settleChainFees(tx, txId);
  await payoutEvents(tx, txId, "payout_confirmed", { txid: rows[0]!.txid, block_height: blockHeight });
  await refreshBounties(tx, { payoutIds: await payoutsOf(tx, txId) }, SYSTEM_CAUSE);
  return true;
}

/**
 * A confirmed transaction spent this one's coins: it can never confirm, so its payouts go back to
 * the queue (the only way a payout is ever queued again).
 */
export async function markReplaced(tx: Queryable, txId: bigint, reason: string): Promise<boolean> {
  const rows = await tx.query<{ txid: string }>(
    `UPDATE payout_txs SET state = 'replaced', state_reason = $2 WHERE id = $1 AND state IN ('signed', 'broadcast') RETURNING txid`,
    [txId, reason],
  );
  if (rows.length === 0) return false;
  await payoutEvents(tx, txId, "payout_requeued", { txid: rows[0]!.txid, reason });
  const payoutIds = await payoutsOf(tx, txId);
  // A withdrawal is for the amount asked again (its fee share is fixed when it is signed again).
  const requeued = await tx.query<{
    id: bigint;
    payee_kind: "user" | "charity";
    user_id: bigint | null;
    charity_id: string | null;
    sats: bigint;
    posted_sats: bigint;
    source: "earnings" | "funds";
  }>(
    `UPDATE payouts p SET state = 'queued', tx_id = NULL, vout = NULL, wait_reason = $2, updated_at = now(),
       sats = coalesce(p.requested_sats, p.sats), fee_share_sats = NULL
     FROM (SELECT id, sats FROM payouts WHERE tx_id = $1 FOR UPDATE) o
     WHERE p.id = o.id RETURNING p.id, p.payee_kind, p.user_id, p.charity_id, p.sats, o.sats AS posted_sats, p.source`,
    [txId, `transaction ${rows[0]!.txid} was replaced: ${reason}`],
  );
  const payers = requeued.map(payerOfRow);
  if (requeued.length) await lockAccounts(tx, [...payers, WALLET, TREASURY, FEES]);
  for (const p of requeued) await unspendPayout(tx, p, rows[0]!.txid);
  await settleChainFees(tx, txId);
  await tx.query("DELETE FROM spend_reservations WHERE txid = $1", [rows[0]!.txid]);
  await refreshBounties(tx, { payoutIds }, SYSTEM_CAUSE);
  return true;
}

/**
 * A payout whose transaction can never confirm is queued again: the post of its reservation is
 * undone (wallet → payer) and a new reservation is made for the transaction that will pay it.
 */
async function unspendPayout(
  tx: Queryable,
  p: {
    id: bigint;
    payee_kind: "user" | "charity";
    user_id: bigint | null;
    charity_id: string | null;
    sats: bigint;
    posted_sats: bigint;
    source: "earnings" | "funds";
  },
  txid: string,
): Promise<void> {
  const id = BigInt(p.id);
  const sats = BigInt(p.sats);
  const payer = payerOfRow(p);
  const ref = { payout: id.toString(), txid };
  // A withdrawal's fee share comes back first, so its funds cover the new reservation for the amount asked.
  if (p.source === "funds") for (const s of await feeShares(tx, { payoutId: id })) await undoFeeShare(tx, s);
  await mustTransfer(tx, { key: `payout:${id}:${txid}:undo`, debit: WALLET, credit: payer, sats: BigInt(p.posted_sats), kind: "correction", ref });
  await mustTransfer(tx, { key: `payout:${id}:${txid}:retry`, debit: payer, credit: WALLET, sats, kind: "payout", pending: { timeoutAt: null }, ref });
}

export async function recordTxError(db: Queryable, txId: bigint, error: string): Promise<void> {
  await db.query("UPDATE payout_txs SET last_error = $2 WHERE id = $1", [txId, error]);
}

/**
 * Cap reservations whose transaction was never stored (the process died between signing and
 * storing): nothing with that txid can reach the network, so the reservation is released.
 * Call only while holding the payout-run lock.
 */
export async function releaseOrphanReservations(db: Queryable): Promise<number> {
  const rows = await db.query(
    `DELETE FROM spend_reservations r WHERE NOT EXISTS (SELECT 1 FROM payout_txs t WHERE t.txid = r.txid) RETURNING txid`,
  );
  return rows.length;
}

/** An event for each bounty of each payout bound to the transaction (only those of `ids`, if given). */
async function payoutEvents(tx: Queryable, txId: bigint, kind: string, data: Record<string, unknown>, ids?: readonly bigint[]): Promise<void> {
  const rows = await tx.query<{ payout_id: bigint; user_id: bigint | null; bounty_id: bigint; vout: number | null; sats: bigint }>(
    `SELECT p.id AS payout_id, p.user_id, a.bounty_id, p.vout, p.sats FROM payouts p JOIN awards a ON a.payout_id = p.id
     WHERE p.tx_id = $1 AND ($2::bigint[] IS NULL OR p.id = ANY($2::bigint[])) ORDER BY p.id, a.bounty_id`,
    [txId, ids ? ids.map(String) : null],
  );
  const seen = new Set<string>();
  for (const r of rows) {
    const k = `${r.payout_id}/${r.bounty_id}`;
    if (seen.has(k)) continue;
    seen.add(k);
    await appendEvent(tx, {
      bountyId: BigInt(r.bounty_id),
      userId: r.user_id === null ? null : Number(r.user_id),
      kind,
      data: { ...data, payout_id: String(r.payout_id), vout: r.vout, sats: String(r.sats) },
      cause: SYSTEM_CAUSE,
    });
  }
}

async function payoutsOf(tx: Queryable, txId: bigint): Promise<bigint[]> {
  const rows = await tx.query<{ id: bigint }>("SELECT id FROM payouts WHERE tx_id = $1", [txId]);
  return rows.map((r) => BigInt(r.id));
}

/**
 * Awards past their hold that a payout run could not price (prices missing or disputed): recorded
 * once per award in the audit log, with why, and their cards shown again to say they wait for a
 * reliable price. An award that merely waits for the next run has no such record.
 */
export async function noteWaitingForPrice(tx: Queryable, waits: ReadonlyArray<{ awardId: bigint; reason: string }>): Promise<number> {
  if (waits.length === 0) return 0;
  const rows = await tx.query<{ id: bigint; bounty_id: bigint; recipient_id: bigint }>(
    `SELECT a.id, a.bounty_id, a.recipient_id FROM awards a
     WHERE a.id = ANY($1::bigint[]) AND a.state = 'held'
       AND NOT EXISTS (SELECT 1 FROM events e WHERE e.bounty_id = a.bounty_id AND e.kind = 'award_price_wait'
                       AND e.data->>'award_id' = a.id::text)
     ORDER BY a.id`,
    [waits.map((w) => String(w.awardId))],
  );
  for (const r of rows) {
    await appendEvent(tx, {
      bountyId: BigInt(r.bounty_id),
      userId: Number(r.recipient_id),
      kind: "award_price_wait",
      data: { award_id: String(r.id), reason: waits.find((w) => w.awardId === BigInt(r.id))!.reason },
      cause: SYSTEM_CAUSE,
    });
  }
  if (rows.length) await refreshBounties(tx, { awardIds: rows.map((r) => BigInt(r.id)) }, SYSTEM_CAUSE);
  return rows.length;
}

/** What the payout comments say about one award paid in a transaction. */
export interface PaidAward {
  awardId: bigint;
  bountyId: bigint;
  installationId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  pr: { owner: string; repo: string; number: number } | null;
  recipientLogin: string;
  sats: bigint;
  amounts: Amount[];
  rates: AwardRates;
  payout: { id: bigint; sats: bigint; kind: "user" | "charity"; charityName: string | null; address: string; vout: number };
}

export async function paidAwards(db: Queryable, txId: bigint): Promise<PaidAward[]> {
  const rows = await db.query<{
    award_id: bigint;
    bounty_id: bigint;
    installation_id: bigint;
    repo_owner: string;
    repo_name: string;
    issue_number: number;
    pr_owner: string | null;
    pr_repo: string | null;
    pr_number: number | null;
    recipient_login: string;
    sats: bigint;
    amounts: unknown;
    rates: unknown;
    payout_id: bigint;
    payout_sats: bigint;
    payee_kind: "user" | "charity";
    charity_name: string | null;
    address: string;
    vout: number;
  }>(
    `SELECT a.id AS award_id, a.bounty_id, b.installation_id, b.repo_owner, b.repo_name, b.issue_number,
            a.pr_owner, a.pr_repo, a.pr_number, a.recipient_login, a.sats, a.amounts, a.rates,
            p.id AS payout_id, p.sats AS payout_sats, p.payee_kind, p.charity_name, p.address, p.vout
     FROM awards a JOIN payouts p ON p.id = a.payout_id JOIN bounties b ON b.id = a.bounty_id
     WHERE p.tx_id = $1 ORDER BY a.id`,
    [txId],
  );
  return rows.map((r) => ({
    awardId: BigInt(r.award_id),
    bountyId: BigInt(r.bounty_id),
    installationId: Number(r.installation_id),
    owner: r.repo_owner,
    repo: r.repo_name,
    issueNumber: Number(r.issue_number),
    pr: r.pr_owner && r.pr_repo && r.pr_number !== null ? { owner: r.pr_owner, repo: r.pr_repo, number: Number(r.pr_number) } : null,
    recipientLogin: r.recipient_login,
    sats: BigInt(r.sats),
    amounts: amountsFromJson(r.amounts),
    rates: r.rates ? fromJson<AwardRates>(r.rates) : {},
    payout: {
      id: BigInt(r.payout_id),
      sats: BigInt(r.payout_sats),
      kind: r.payee_kind,
      charityName: r.charity_name,
      address: r.address,
      vout: Number(r.vout),
    },
  }));
}
