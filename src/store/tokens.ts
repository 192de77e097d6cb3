/**
 * API tokens (the rewards API's callers) and their budgets on the ledger. A token's budget is the
 * account grant:<token id>: at each period (counted from the token's creation) what is left of the
 * period before goes back to the treasury (`grant:<id>:<n-1>:return`) and the full budget comes
 * from the treasury (`grant:<id>:<n>`), so budgets reset rather than accumulate. The ledger's
 * no-overdraft rule on grant accounts is what bounds a token's spending under concurrent calls.
 */
import { timingSafeEqual } from "node:crypto";
import type { Budget } from "../core/budget.js";
import type { Currency } from "../core/money.js";
import { availableBalance, grantOf, TREASURY } from "../ledger/rules.js";
import type { Db, Queryable } from "./db.js";
import { accountBalance, lockAccounts, mustTransfer } from "./ledger.js";

export interface ApiToken {
  id: bigint;
  name: string;
  budget: Budget;
  /** Lower-cased `owner/repo` or `owner/*`; null: not limited. */
  repos: string[] | null;
  recipientCap: Budget | null;
  /** The period last funded, what it was funded with, and at what price (fiat budgets). */
  period: number | null;
  periodSats: bigint | null;
  periodRate: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

type Raw = {
  id: bigint;
  name: string;
  secret_hash: Buffer | Uint8Array;
  budget_currency: string;
  budget_minor: bigint;
  period_ms: bigint;
  repos: string[] | null;
  cap_currency: string | null;
  cap_minor: bigint | null;
  cap_period_ms: bigint | null;
  period: bigint | null;
  period_sats: bigint | null;
  period_rate: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

const COLUMNS = `id, name, secret_hash, budget_currency, budget_minor, period_ms, repos, cap_currency, cap_minor, cap_period_ms,
  period, period_sats, period_rate, created_at, last_used_at, revoked_at`;

const toToken = (r: Raw): ApiToken => ({
  id: BigInt(r.id),
  name: r.name,
  budget: { limit: { currency: r.budget_currency as Currency, minor: BigInt(r.budget_minor) }, windowMs: Number(r.period_ms) },
  repos: r.repos,
  recipientCap:
    r.cap_currency === null ? null : { limit: { currency: r.cap_currency as Currency, minor: BigInt(r.cap_minor!) }, windowMs: Number(r.cap_period_ms) },
  period: r.period === null ? null : Number(r.period),
  periodSats: r.period_sats === null ? null : BigInt(r.period_sats),
  periodRate: r.period_rate,
  createdAt: new Date(r.created_at),
  lastUsedAt: r.last_used_at ? new Date(r.last_used_at) : null,
  revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
});

export class TokenNameTaken extends Error {
  constructor(name: string) {
    super(`a token named "${name}" exists already (revoked tokens keep their names)`);
    this.name = "TokenNameTaken";
  }
}

/** Records a token (its secret's hash only); funding its first period is `fundPeriod(…, 0, …)` in the same transaction. */
export async function insertToken(
  tx: Queryable,
  t: { name: string; secretHash: Buffer; budget: Budget; repos: string[] | null; recipientCap: Budget | null; at?: Date },
): Promise<ApiToken> {
  const rows = await tx.query<Raw>(
    `INSERT INTO api_tokens (name, secret_hash, budget_currency, budget_minor, period_ms, repos, cap_currency, cap_minor, cap_period_ms, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now())) ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
    [
      t.name,
      t.secretHash,
      t.budget.limit.currency,
      t.budget.limit.minor,
      t.budget.windowMs,
      t.repos,
      t.recipientCap?.limit.currency ?? null,
      t.recipientCap?.limit.minor ?? null,
      t.recipientCap?.windowMs ?? null,
      t.at ?? null,
    ],
  );
  if (!rows[0]) throw new TokenNameTaken(t.name);
  return toToken(rows[0]);
}

/** The live token whose secret this is, compared in constant time; null for any other secret or a revoked token. */
export async function authenticate(db: Queryable, id: bigint, hash: Buffer): Promise<ApiToken | null> {
  const [row] = await db.query<Raw>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = $1 AND revoked_at IS NULL`, [id]);
  const stored = row ? Buffer.from(row.secret_hash) : Buffer.alloc(hash.length);
  const same = stored.length === hash.length && timingSafeEqual(stored, hash);
  return row && same ? toToken(row) : null;
}

/** A live token by id, for re-reading one already authenticated. */
export async function liveToken(db: Queryable, id: bigint): Promise<ApiToken | null> {
  const [row] = await db.query<Raw>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = $1 AND revoked_at IS NULL`, [id]);
  return row ? toToken(row) : null;
}

export async function findToken(db: Queryable, name: string): Promise<ApiToken | null> {
  const [row] = await db.query<Raw>(`SELECT ${COLUMNS} FROM api_tokens WHERE name = $1`, [name]);
  return row ? toToken(row) : null;
}

export interface TokenListing extends ApiToken {
  /** What is left on its grant account now. */
  leftSats: bigint;
  /** Rewarded in the period last funded. */
  spentSats: bigint;
}

/** Every token, oldest first, with what is left and spent of the period last funded. */
export async function listTokens(db: Queryable): Promise<TokenListing[]> {
  const rows = await db.query<Raw & { left_sats: bigint | null }>(
    `SELECT t.*,
            (SELECT a.credits_posted - a.debits_posted - a.debits_pending FROM ledger_accounts a WHERE a.key = 'grant:' || t.id) AS left_sats
     FROM api_tokens t ORDER BY t.id`,
  );
  return rows.map((r) => {
    const t = toToken(r);
    const left = r.left_sats === null ? 0n : BigInt(r.left_sats);
    return { ...t, leftSats: left, spentSats: t.revokedAt ? 0n : t.periodSats === null ? 0n : t.periodSats - left };
  });
}

/** Notes a use, at most once a minute per token, outside the reward's transaction (no hot row in it). */
export async function touchToken(db: Queryable, id: bigint, at: Date): Promise<void> {
  await db.query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')", [id, at]);
}

/** Returns what is left on the token's grant account to the treasury, keyed by the period it was funded for. */
async function returnLeft(tx: Queryable, tokenId: bigint, period: number): Promise<bigint> {
  const grant = grantOf(tokenId);
  const accounts = await lockAccounts(tx, [grant, TREASURY]);
  const left = availableBalance(accounts.get(grant.key)!);
  if (left > 0n) {
    await mustTransfer(tx, { key: `grant:${tokenId}:${period}:return`, debit: grant, credit: TREASURY, sats: left, kind: "grant_return", ref: { token: String(tokenId), period: String(period) } });
  }
  return left;
}

/**
 * Funds period `n` of a token with `sats` from the treasury, after returning what is left of the
 * period funded before. Under the token row's lock: a period is funded once however many calls
 * race for it; false (nothing done) when it is funded already or the token is revoked.
 */
export async function fundPeriod(tx: Queryable, tokenId: bigint, n: number, sats: bigint, rate: string | null): Promise<boolean> {
  const [row] = await tx.query<{ period: bigint | null; revoked_at: Date | null }>("SELECT period, revoked_at FROM api_tokens WHERE id = $1 FOR UPDATE", [tokenId]);
  if (!row || row.revoked_at !== null) return false;
  if (row.period !== null && Number(row.period) >= n) return false;
  if (row.period !== null) await returnLeft(tx, tokenId, Number(row.period));
  await mustTransfer(tx, { key: `grant:${tokenId}:${n}`, debit: TREASURY, credit: grantOf(tokenId), sats, kind: "grant", ref: { token: String(tokenId), period: String(n) } });
  await tx.query("UPDATE api_tokens SET period = $2, period_sats = $3, period_rate = $4 WHERE id = $1", [tokenId, n, sats, rate]);
  return true;
}

/** Revokes a token and returns what is left of its budget to the treasury; null when there is no such live token. */
export async function revokeToken(db: Db, name: string): Promise<{ token: ApiToken; returnedSats: bigint } | null> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<Raw>(`SELECT ${COLUMNS} FROM api_tokens WHERE name = $1 AND revoked_at IS NULL FOR UPDATE`, [name]);
    if (!row) return null;
    const token = toToken(row);
    const returnedSats = token.period === null ? 0n : await returnLeft(tx, token.id, token.period);
    await tx.query("UPDATE api_tokens SET revoked_at = now() WHERE id = $1", [token.id]);
    return { token: { ...token, revokedAt: new Date() }, returnedSats };
  });
}

/** What is left on a token's grant account. */
export async function budgetLeft(db: Queryable, tokenId: bigint): Promise<bigint> {
  return availableBalance(await accountBalance(db, grantOf(tokenId)));
}
