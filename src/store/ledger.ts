/**
 * The double-entry ledger's SQL: accounts with their totals on the row, and immutable transfers.
 * The rules (what may be debited, how a pending transfer resolves) are src/ledger/rules.ts; this
 * module locks the rows, asks the rules, and writes what they decided, in the caller's transaction.
 */
import {
  accountFromKey,
  decideResolve,
  decideTransfer,
  lockOrder,
  malformed,
  type AccountSpec,
  type Balance,
  type Phase,
  type PendingTransfer,
  type TransferKind,
  type TransferRequest,
} from "../ledger/rules.js";
import { fromJson, type Db, type Queryable } from "./db.js";

export interface Transfer {
  id: bigint;
  key: string;
  debit: string;
  credit: string;
  sats: bigint;
  phase: Phase;
  /** For a post or void: the pending transfer it resolves. */
  pendingId: bigint | null;
  timeoutAt: Date | null;
  kind: TransferKind;
  ref: Record<string, string>;
  at: Date;
}

export type TransferResult = { ok: true; transfer: Transfer; replayed: boolean } | { ok: false; reason: string };

/** A transfer the rules refused, thrown by callers that must roll back their whole transaction. */
export class LedgerRefusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "LedgerRefusal";
  }
}

/** A key reused for a different movement: a bug in the caller, never a retry. */
export class TransferKeyConflict extends Error {
  constructor(key: string) {
    super(`ledger transfer key ${key} was already used for a different transfer`);
    this.name = "TransferKeyConflict";
  }
}

export interface AccountRow extends Balance {
  id: bigint;
  key: string;
  kind: AccountSpec["kind"];
  userId: number | null;
}

type RawAccount = {
  id: bigint;
  key: string;
  kind: AccountSpec["kind"];
  user_id: bigint | null;
  debits_posted: bigint;
  credits_posted: bigint;
  debits_pending: bigint;
  credits_pending: bigint;
};

const ACCOUNT_COLUMNS = "id, key, kind, user_id, debits_posted, credits_posted, debits_pending, credits_pending";

const toAccount = (r: RawAccount): AccountRow => ({
  id: BigInt(r.id),
  key: r.key,
  kind: r.kind,
  userId: r.user_id === null ? null : Number(r.user_id),
  debitsPosted: BigInt(r.debits_posted),
  creditsPosted: BigInt(r.credits_posted),
  debitsPending: BigInt(r.debits_pending),
  creditsPending: BigInt(r.credits_pending),
});

/**
 * Locks the accounts' rows in key order (created when missing), so that two transfers over the
 * same accounts always take their locks in the same order and never deadlock.
 */
export async function lockAccounts(tx: Queryable, specs: readonly AccountSpec[]): Promise<Map<string, AccountRow>> {
  const keys = lockOrder(specs.map((s) => s.key));
  const spec = (key: string) => specs.find((s) => s.key === key)!;
  // One statement takes every row in key order, making the missing ones as it goes: an upsert
  // whose DO UPDATE never updates (WHERE false) still locks the row it meets. Locking the rows that
  // exist first and making the missing ones after would take those out of key order, and two
  // transactions making one new account beside others could deadlock.
  await tx.query(
    `INSERT INTO ledger_accounts (key, kind, user_id)
     SELECT k, kd, u FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x (k, kd, u) ORDER BY k
     ON CONFLICT (key) DO UPDATE SET kind = ledger_accounts.kind WHERE false`,
    [keys, keys.map((k) => spec(k).kind), keys.map((k) => spec(k).userId)],
  );
  const rows = await tx.query<RawAccount>(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE key = ANY($1::text[]) ORDER BY key`, [keys]);
  if (rows.length !== keys.length) throw new Error(`ledger accounts ${keys.join(", ")} were not all made`);
  return new Map(rows.map((r) => [r.key, toAccount(r)]));
}

type RawTransfer = {
  id: bigint;
  key: string;
  debit: string;
  credit: string;
  sats: bigint;
  phase: Phase;
  pending_id: bigint | null;
  timeout_at: Date | null;
  kind: TransferKind;
  ref: unknown;
  at: Date;
};

const TRANSFER_SELECT = `SELECT t.id, t.key, d.key AS debit, c.key AS credit, t.sats, t.phase, t.pending_id, t.timeout_at, t.kind, t.ref, t.at
  FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id`;

const toTransfer = (r: RawTransfer): Transfer => ({
  id: BigInt(r.id),
  key: r.key,
  debit: r.debit,
  credit: r.credit,
  sats: BigInt(r.sats),
  phase: r.phase,
  pendingId: r.pending_id === null ? null : BigInt(r.pending_id),
  timeoutAt: r.timeout_at ? new Date(r.timeout_at) : null,
  kind: r.kind,
  ref: fromJson<Record<string, string>>(r.ref) ?? {},
  at: new Date(r.at),
});

export async function findTransfer(db: Queryable, key: string): Promise<Transfer | null> {
  const [row] = await db.query<RawTransfer>(`${TRANSFER_SELECT} WHERE t.key = $1`, [key]);
  return row ? toTransfer(row) : null;
}

const sameMovement = (t: Transfer, debit: string, credit: string, sats: bigint, phase: Phase): boolean =>
  t.debit === debit && t.credit === credit && t.sats === sats && t.phase === phase;

async function insertAndApply(
  tx: Queryable,
  row: {
    key: string;
    debit: AccountRow;
    credit: AccountRow;
    sats: bigint;
    phase: Phase;
    pendingId: bigint | null;
    timeoutAt: Date | null;
    kind: TransferKind;
    ref: Record<string, string>;
  },
  debit: Balance,
  credit: Balance,
): Promise<Transfer | null> {
  // The transfer and both balances in one statement: the rows are locked, so the totals written are
  // the ones the rules computed. ON CONFLICT: the key (or, for a post or void, the pending
  // transfer) was taken by someone else first; then nothing is written.
  const rows = await tx.query<{ id: bigint; at: Date }>(
    `WITH t AS (
       INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, pending_id, timeout_at, kind, ref)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id, at
     ), u AS (
       UPDATE ledger_accounts a
       SET debits_posted = v.dp, credits_posted = v.cp, debits_pending = v.dq, credits_pending = v.cq
       FROM (VALUES ($2::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint),
                    ($3::bigint, $14::bigint, $15::bigint, $16::bigint, $17::bigint)) AS v (id, dp, cp, dq, cq)
       WHERE a.id = v.id AND EXISTS (SELECT 1 FROM t)
       RETURNING a.id
     )
     SELECT t.id, t.at, (SELECT count(*) FROM u) AS updated FROM t`,
    [
      row.key,
      row.debit.id,
      row.credit.id,
      row.sats,
      row.phase,
      row.pendingId,
      row.timeoutAt,
      row.kind,
      JSON.stringify(row.ref),
      debit.debitsPosted,
      debit.creditsPosted,
      debit.debitsPending,
      debit.creditsPending,
      credit.debitsPosted,
      credit.creditsPosted,
      credit.debitsPending,
      credit.creditsPending,
    ],
  );
  const [r] = rows;
  if (!r) return null;
  return {
    id: BigInt(r.id),
    key: row.key,
    debit: row.debit.key,
    credit: row.credit.key,
    sats: row.sats,
    phase: row.phase,
    pendingId: row.pendingId,
    timeoutAt: row.timeoutAt,
    kind: row.kind,
    ref: row.ref,
    at: new Date(r.at),
  };
}

/**
 * Records one transfer (single-phase, or pending when `pending` is given) in the caller's
 * transaction. A retry with the same key and the same movement records nothing and answers
 * `replayed`; a refused transfer records nothing and says why.
 */
export async function transfer(tx: Queryable, t: TransferRequest): Promise<TransferResult> {
  const bad = malformed(t);
  if (bad) return { ok: false, reason: bad };
  const phase: Phase = t.pending ? "pending" : "single";
  const accounts = await lockAccounts(tx, [t.debit, t.credit]);
  const debit = accounts.get(t.debit.key)!;
  const credit = accounts.get(t.credit.key)!;
  const replay = async (): Promise<TransferResult | null> => {
    const existing = await findTransfer(tx, t.key);
    if (!existing) return null;
    if (!sameMovement(existing, t.debit.key, t.credit.key, t.sats, phase)) throw new TransferKeyConflict(t.key);
    return { ok: true, transfer: existing, replayed: true };
  };
  const decision = decideTransfer(t, debit, credit);
  if (!decision.ok) return (await replay()) ?? decision;
  const written = await insertAndApply(
    tx,
    {
      key: t.key,
      debit,
      credit,
      sats: t.sats,
      phase,
      pendingId: null,
      timeoutAt: t.pending?.timeoutAt ?? null,
      kind: t.kind,
      ref: t.ref ?? {},
    },
    decision.debit,
    decision.credit,
  );
  if (written) return { ok: true, transfer: written, replayed: false };
  const again = await replay();
  if (!again) throw new Error(`ledger transfer ${t.key} was neither written nor found`);
  return again;
}

/**
 * `transfer` in a transaction of its own. The common case (both accounts exist, the rules accept,
 * the key is new) takes two statements and no explicit transaction: see `transferUnlocked`.
 * Everything else goes the locked way, which answers it exactly as `transfer` does.
 */
export async function transferNow(db: Db, t: TransferRequest): Promise<TransferResult> {
  const bad = malformed(t);
  if (bad) return { ok: false, reason: bad };
  return (await transferUnlocked(db, t)) ?? db.transaction((tx) => transfer(tx, t));
}

/*
 * Writes the transfer and both totals only if both rows, locked in key order, still hold exactly
 * the totals the rules decided on (compare and set); otherwise writes nothing and returns no row.
 * All in one statement, so it commits or fails as one even without a transaction around it.
 * $1 key, $2 debit id, $3 credit id, $4 sats, $5 phase, $6 timeout, $7 kind, $8 ref; $9–$12 and
 * $13–$16 the debit's and credit's totals as read, $17–$20 and $21–$24 as the rules decided.
 */
const COMPARE_AND_SET_SQL = `
WITH l AS (
  SELECT id, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts
  WHERE id IN ($2::bigint, $3::bigint) ORDER BY key FOR UPDATE
), t AS (
  INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, timeout_at, kind, ref)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8
  WHERE (SELECT count(*) FROM l
         WHERE (id = $2 AND debits_posted = $9 AND credits_posted = $10 AND debits_pending = $11 AND credits_pending = $12)
            OR (id = $3 AND debits_posted = $13 AND credits_posted = $14 AND debits_pending = $15 AND credits_pending = $16)) = 2
  ON CONFLICT DO NOTHING RETURNING id, at
), u AS (
  UPDATE ledger_accounts
  SET debits_posted = CASE WHEN id = $2 THEN $17::bigint ELSE $21::bigint END,
      credits_posted = CASE WHEN id = $2 THEN $18::bigint ELSE $22::bigint END,
      debits_pending = CASE WHEN id = $2 THEN $19::bigint ELSE $23::bigint END,
      credits_pending = CASE WHEN id = $2 THEN $20::bigint ELSE $24::bigint END
  WHERE id IN ($2, $3) AND EXISTS (SELECT 1 FROM t)
  RETURNING id
)
SELECT t.id, t.at, (SELECT count(*) FROM u) AS updated FROM t`;

/**
 * The optimistic way for a transfer on its own: the two rows read without a lock, the rules
 * (src/ledger/rules.ts, as in `transfer`) decide on what was read, and COMPARE_AND_SET_SQL writes
 * the decision only if the rows are still what was read. The rules never see anything but the
 * totals they decide on, under the lock that writes them. Null when this way cannot answer: an
 * account not made yet, a refusal or a replay (the locked way says which), or a row that moved
 * meanwhile.
 */
async function transferUnlocked(db: Queryable, t: TransferRequest): Promise<TransferResult | null> {
  const rows = await db.query<RawAccount>(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE key IN ($1, $2)`, [t.debit.key, t.credit.key], {
    name: "ledger-read-two",
  });
  if (rows.length !== 2) return null;
  const accounts = new Map(rows.map((r) => [r.key, toAccount(r)]));
  const debit = accounts.get(t.debit.key)!;
  const credit = accounts.get(t.credit.key)!;
  const decision = decideTransfer(t, debit, credit);
  if (!decision.ok) return null;
  const phase: Phase = t.pending ? "pending" : "single";
  const timeoutAt = t.pending?.timeoutAt ?? null;
  const ref = t.ref ?? {};
  const totals = (b: Balance) => [b.debitsPosted, b.creditsPosted, b.debitsPending, b.creditsPending];
  const [r] = await db.query<{ id: bigint; at: Date; updated: bigint }>(COMPARE_AND_SET_SQL, [
    t.key,
    debit.id,
    credit.id,
    t.sats,
    phase,
    timeoutAt,
    t.kind,
    JSON.stringify(ref),
    ...totals(debit),
    ...totals(credit),
    ...totals(decision.debit),
    ...totals(decision.credit),
  ], { name: "ledger-compare-and-set" });
  if (!r) return null;
  // Both rows were locked by the statement that wrote the transfer; anything else is a bug to shout about.
  if (Number(r.updated) !== 2) throw new Error(`ledger transfer ${t.key} was written with ${Number(r.updated)} of its 2 balances`);
  return {
    ok: true,
    replayed: false,
    transfer: { id: BigInt(r.id), key: t.key, debit: debit.key, credit: credit.key, sats: t.sats, phase, pendingId: null, timeoutAt, kind: t.kind, ref, at: new Date(r.at) },
  };
}

/** `transfer` that throws LedgerRefusal instead of answering a refusal (the caller's transaction rolls back). */
export async function mustTransfer(tx: Queryable, t: TransferRequest): Promise<Transfer> {
  const r = await transfer(tx, t);
  if (!r.ok) throw new LedgerRefusal(r.reason);
  return r.transfer;
}

/** A pending transfer locked for resolving, with whether it has been resolved already. */
async function lockPending(tx: Queryable, pendingKey: string): Promise<PendingTransfer | null> {
  const [row] = await tx.query<RawTransfer>(`${TRANSFER_SELECT} WHERE t.key = $1 AND t.phase = 'pending' FOR UPDATE OF t`, [pendingKey]);
  if (!row) return null;
  const [res] = await tx.query<{ phase: Phase }>("SELECT phase FROM ledger_transfers WHERE pending_id = $1", [row.id]);
  const debit = accountFromKey(row.debit);
  const credit = accountFromKey(row.credit);
  if (!debit || !credit) throw new Error(`pending transfer ${pendingKey} names accounts the ledger does not know`);
  return {
    id: BigInt(row.id),
    key: row.key,
    sats: BigInt(row.sats),
    debit,
    credit,
    timeoutAt: row.timeout_at ? new Date(row.timeout_at) : null,
    resolved: res ? (res.phase === "post" ? "posted" : "voided") : null,
  };
}

/**
 * Posts a pending transfer: `sats` of it (default all) move for good, the rest returns to the
 * debit account. Exactly once: a second post or void of it is refused, a retry with the same
 * key is `replayed`.
 */
export async function postPending(
  tx: Queryable,
  pendingKey: string,
  opts: { key: string; sats?: bigint; ref?: Record<string, string> },
): Promise<TransferResult> {
  return resolve(tx, pendingKey, opts, "post");
}

/** Voids a pending transfer: all of it returns to the debit account, exactly once. */
export async function voidPending(tx: Queryable, pendingKey: string, opts: { key: string; ref?: Record<string, string> }): Promise<TransferResult> {
  return resolve(tx, pendingKey, opts, "void");
}

async function resolve(
  tx: Queryable,
  pendingKey: string,
  opts: { key: string; sats?: bigint; ref?: Record<string, string> },
  how: "post" | "void",
): Promise<TransferResult> {
  if (!opts.key || opts.key.length > 200) return { ok: false, reason: "a transfer needs a key of 1 to 200 characters" };
  const p = await lockPending(tx, pendingKey);
  if (!p) return { ok: false, reason: `no pending transfer ${pendingKey}` };
  const sats = how === "void" ? p.sats : (opts.sats ?? p.sats);
  const existing = await findTransfer(tx, opts.key);
  if (existing) {
    if (existing.pendingId !== p.id || !sameMovement(existing, p.debit.key, p.credit.key, sats, how)) throw new TransferKeyConflict(opts.key);
    return { ok: true, transfer: existing, replayed: true };
  }
  const accounts = await lockAccounts(tx, [p.debit, p.credit]);
  const debit = accounts.get(p.debit.key)!;
  const credit = accounts.get(p.credit.key)!;
  const decision = decideResolve(p, how === "void" ? "void" : { post: sats }, debit, credit);
  if (!decision.ok) return decision;
  const [orig] = await tx.query<{ kind: TransferKind }>("SELECT kind FROM ledger_transfers WHERE id = $1", [p.id]);
  const written = await insertAndApply(
    tx,
    {
      key: opts.key,
      debit,
      credit,
      sats,
      phase: how,
      pendingId: p.id,
      timeoutAt: null,
      kind: orig!.kind,
      ref: opts.ref ?? {},
    },
    decision.debit,
    decision.credit,
  );
  if (!written) return { ok: false, reason: `pending transfer ${pendingKey} was resolved meanwhile` };
  return { ok: true, transfer: written, replayed: false };
}

/** Whether a pending transfer is still open, posted or voided (null: no such pending transfer). */
export async function pendingState(db: Queryable, pendingKey: string): Promise<"pending" | "posted" | "voided" | null> {
  const [row] = await db.query<{ phase: Phase | null }>(
    `SELECT r.phase FROM ledger_transfers p LEFT JOIN ledger_transfers r ON r.pending_id = p.id
     WHERE p.key = $1 AND p.phase = 'pending'`,
    [pendingKey],
  );
  if (!row) return null;
  return row.phase === null ? "pending" : row.phase === "post" ? "posted" : "voided";
}

/** Voids every pending transfer whose timeout has passed, each in a transaction of its own; returns how many. */
export async function voidExpired(db: Db, now: Date, limit = 500): Promise<number> {
  const rows = await db.query<{ key: string }>(
    `SELECT p.key FROM ledger_transfers p
     WHERE p.phase = 'pending' AND p.timeout_at <= $1
       AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id)
     ORDER BY p.timeout_at LIMIT ${Math.max(1, Math.floor(limit))}`,
    [now],
  );
  let voided = 0;
  for (const { key } of rows) {
    const r = await db.transaction((tx) => voidPending(tx, key, { key: `timeout:${key}`, ref: { reason: "timeout" } }));
    if (r.ok && !r.replayed) voided++;
  }
  return voided;
}

/** An account's totals; zero for an account that has never moved money. */
export async function accountBalance(db: Queryable, spec: AccountSpec): Promise<AccountRow> {
  const [row] = await db.query<RawAccount>(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE key = $1`, [spec.key]);
  if (row) return toAccount(row);
  return { id: 0n, key: spec.key, kind: spec.kind, userId: spec.userId, debitsPosted: 0n, creditsPosted: 0n, debitsPending: 0n, creditsPending: 0n };
}

/** Every account (or those of one person), by key. */
export async function listAccounts(db: Queryable, opts: { userId?: number; kinds?: AccountSpec["kind"][] } = {}): Promise<AccountRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.userId !== undefined) {
    params.push(opts.userId);
    where.push(`user_id = $${params.length}`);
  }
  if (opts.kinds?.length) {
    params.push(opts.kinds);
    where.push(`kind = ANY($${params.length}::text[])`);
  }
  const rows = await db.query<RawAccount>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY key`,
    params,
  );
  return rows.map(toAccount);
}

/** Transfers oldest first, a page at a time: after `afterId`, touching `account` when given, at or after `since`. */
export async function listTransfers(
  db: Queryable,
  opts: { account?: string; since?: Date; afterId?: bigint; limit?: number; kinds?: TransferKind[]; refKey?: string; refValue?: string } = {},
): Promise<Transfer[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.afterId !== undefined) {
    params.push(opts.afterId);
    where.push(`t.id > $${params.length}`);
  }
  if (opts.account !== undefined) {
    params.push(opts.account);
    where.push(`(d.key = $${params.length} OR c.key = $${params.length})`);
  }
  if (opts.since !== undefined) {
    params.push(opts.since);
    where.push(`t.at >= $${params.length}`);
  }
  if (opts.kinds?.length) {
    params.push(opts.kinds);
    where.push(`t.kind = ANY($${params.length}::text[])`);
  }
  if (opts.refKey !== undefined && opts.refValue !== undefined) {
    params.push(JSON.stringify({ [opts.refKey]: opts.refValue }));
    where.push(`t.ref @> $${params.length}::jsonb`);
  }
  const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? 1000)), 10_000);
  const rows = await db.query<RawTransfer>(
    `${TRANSFER_SELECT} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY t.id LIMIT ${limit}`,
    params,
  );
  return rows.map(toTransfer);
}
