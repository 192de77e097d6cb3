/**
 * Tips (migration 18): one row per `/tip` made, keyed by the comment that made it and the tip's
 * place among that comment's `/tip` lines, so a redelivery, a replay under a new delivery id or a
 * second process records it once. The money is on the ledger (an escrow of one slot,
 * escrow:tip:<key>); this row says whose it is, when it becomes payable, and how it ended.
 */
import type { Amount, Currency } from "../core/money.js";
import type { Queryable } from "./db.js";

export type TipState = "held" | "released" | "cancelled";
export type TipPayer = "treasury" | "person";

export interface Tip {
  id: bigint;
  /** `<comment id>.<position>`: names the tip's escrow (escrow:tip:<key>) and budget charge (tip:<key>). */
  key: string;
  commentId: number;
  position: number;
  tipper: { id: number; login: string };
  recipient: { id: number; login: string };
  where: { installationId: number; repoId: number; owner: string; repo: string; issueNumber: number };
  amount: Amount;
  sats: bigint;
  /** Fiat per BTC the sats were fixed at; null for a tip in bitcoin. */
  rate: string | null;
  payer: TipPayer;
  state: TipState;
  payableAt: Date;
  reason: string | null;
  createdAt: Date;
  settledAt: Date | null;
  /** The `/tip cancel` that took it back: `<comment id>.<position>`. */
  cancelKey: string | null;
}

export const tipKey = (commentId: number, position: number): string => `${commentId}.${position}`;

type TipRow = {
  id: bigint;
  comment_id: bigint;
  position: number;
  tipper_id: bigint;
  tipper_login: string;
  recipient_id: bigint;
  recipient_login: string;
  installation_id: bigint;
  repo_id: bigint;
  repo_owner: string;
  repo_name: string;
  issue_number: number;
  currency: Currency;
  amount_minor: bigint;
  sats: bigint;
  rate: string | null;
  payer: TipPayer;
  state: TipState;
  payable_at: Date | string;
  reason: string | null;
  created_at: Date | string;
  settled_at: Date | string | null;
  cancel_key: string | null;
};

const toTip = (r: TipRow): Tip => ({
  id: BigInt(r.id),
  key: tipKey(Number(r.comment_id), Number(r.position)),
  commentId: Number(r.comment_id),
  position: Number(r.position),
  tipper: { id: Number(r.tipper_id), login: r.tipper_login },
  recipient: { id: Number(r.recipient_id), login: r.recipient_login },
  where: {
    installationId: Number(r.installation_id),
    repoId: Number(r.repo_id),
    owner: r.repo_owner,
    repo: r.repo_name,
    issueNumber: Number(r.issue_number),
  },
  amount: { currency: r.currency, minor: BigInt(r.amount_minor) },
  sats: BigInt(r.sats),
  rate: r.rate,
  payer: r.payer,
  state: r.state,
  payableAt: new Date(r.payable_at),
  reason: r.reason,
  createdAt: new Date(r.created_at),
  settledAt: r.settled_at === null ? null : new Date(r.settled_at),
  cancelKey: r.cancel_key,
});

/**
 * Serialises everything done for one tip key (making it, or one `/tip cancel`) across
 * connections until the transaction ends: a second process with the same comment waits, then
 * finds the row the first one wrote.
 */
export async function lockTipKey(tx: Queryable, key: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 18))", [`tip ${key}`]);
}

/** One funder's tips from the treasury are counted against `tips.max_per_day` one after the other. */
export async function lockTipper(tx: Queryable, account: string, userId: number): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 18))", [`tips funder ${account.toLowerCase()} ${userId}`]);
}

export async function findTip(db: Queryable, commentId: number, position: number): Promise<Tip | null> {
  const [r] = await db.query<TipRow>("SELECT * FROM tips WHERE comment_id = $1 AND position = $2", [commentId, position]);
  return r ? toTip(r) : null;
}

export type NewTip = Omit<Tip, "id" | "key" | "state" | "settledAt" | "cancelKey">;

export async function insertTip(tx: Queryable, t: NewTip): Promise<Tip> {
  const [r] = await tx.query<TipRow>(
    `INSERT INTO tips (comment_id, position, tipper_id, tipper_login, recipient_id, recipient_login, installation_id, repo_id,
                       repo_owner, repo_name, issue_number, currency, amount_minor, sats, rate, payer, state, payable_at, reason, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'held', $17, $18, $19) RETURNING *`,
    [
      t.commentId,
      t.position,
      t.tipper.id,
      t.tipper.login,
      t.recipient.id,
      t.recipient.login,
      t.where.installationId,
      t.where.repoId,
      t.where.owner,
      t.where.repo,
      t.where.issueNumber,
      t.amount.currency,
      t.amount.minor,
      t.sats,
      t.rate,
      t.payer,
      t.payableAt,
      t.reason,
      t.createdAt,
    ],
  );
  return toTip(r!);
}

/** The tip a `/tip cancel` took back, if that command ran already. */
export async function tipCancelledBy(db: Queryable, cancelKey: string): Promise<Tip | null> {
  const [r] = await db.query<TipRow>("SELECT * FROM tips WHERE cancel_key = $1", [cancelKey]);
  return r ? toTip(r) : null;
}

/**
 * The most recent tip from `tipperId` to `recipientLogin` (as GitHub spelled it then, any case)
 * on one issue that was not taken back, locked: a cancel and the release sweep decide one after
 * the other.
 */
export async function latestTipTo(
  tx: Queryable,
  q: { repoId: number; issueNumber: number; tipperId: number; recipientLogin: string },
): Promise<Tip | null> {
  const [r] = await tx.query<TipRow>(
    `SELECT * FROM tips WHERE repo_id = $1 AND issue_number = $2 AND tipper_id = $3 AND lower(recipient_login) = lower($4)
       AND state <> 'cancelled' ORDER BY id DESC LIMIT 1 FOR UPDATE`,
    [q.repoId, q.issueNumber, q.tipperId, q.recipientLogin],
  );
  return r ? toTip(r) : null;
}

/** Held tips whose hold has passed, oldest first. */
export async function dueTips(db: Queryable, now: Date, limit = 100): Promise<bigint[]> {
  const rows = await db.query<{ id: bigint }>(
    "SELECT id FROM tips WHERE state = 'held' AND payable_at <= $1 ORDER BY payable_at, id LIMIT $2",
    [now, limit],
  );
  return rows.map((r) => BigInt(r.id));
}

/** One tip, locked for the rest of the transaction. */
export async function lockTip(tx: Queryable, id: bigint): Promise<Tip | null> {
  const [r] = await tx.query<TipRow>("SELECT * FROM tips WHERE id = $1 FOR UPDATE", [id]);
  return r ? toTip(r) : null;
}

/** A held tip paid to its recipient's earnings. False when it was not held any more. */
export async function markReleased(tx: Queryable, id: bigint, at: Date): Promise<boolean> {
  const rows = await tx.query("UPDATE tips SET state = 'released', settled_at = $2 WHERE id = $1 AND state = 'held' RETURNING id", [id, at]);
  return rows.length === 1;
}

/** A held tip taken back by `/tip cancel` (cancelKey names that command). False when it was not held any more. */
export async function markCancelled(tx: Queryable, id: bigint, at: Date, cancelKey: string): Promise<boolean> {
  const rows = await tx.query(
    "UPDATE tips SET state = 'cancelled', settled_at = $2, cancel_key = $3 WHERE id = $1 AND state = 'held' RETURNING id",
    [id, at, cancelKey],
  );
  return rows.length === 1;
}

/** The tips made on one issue, oldest first (for people and tests). */
export async function tipsOnIssue(db: Queryable, repoId: number, issueNumber: number): Promise<Tip[]> {
  const rows = await db.query<TipRow>("SELECT * FROM tips WHERE repo_id = $1 AND issue_number = $2 ORDER BY id", [repoId, issueNumber]);
  return rows.map(toTip);
}

/** Tips to one person still in their hold: pending for them, not yet payable (for /balance). */
export async function heldTipsTo(db: Queryable, userId: number): Promise<{ count: number; sats: bigint; nextPayableAt: Date | null }> {
  const [r] = await db.query<{ n: bigint; sats: bigint | null; next: Date | string | null }>(
    "SELECT count(*) AS n, sum(sats) AS sats, min(payable_at) AS next FROM tips WHERE recipient_id = $1 AND state = 'held'",
    [userId],
  );
  return { count: Number(r?.n ?? 0), sats: BigInt(r?.sats ?? 0n), nextPayableAt: r?.next ? new Date(r.next) : null };
}
