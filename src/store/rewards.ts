/**
 * Rewards through the rewards API: one row per (token, Idempotency-Key), written in the same
 * transaction as its ledger transfer `reward:<token id>:<key hash>` (grant:<token> →
 * earnings:<recipient>), so a reward is recorded whole or not at all and a retry finds it.
 */
import { earningsOf, grantOf, malformed, type TransferRequest } from "../ledger/rules.js";
import type { Db, Queryable } from "./db.js";
import { transfer } from "./ledger.js";
import { queueReply, type RepoRef } from "./outbox.js";
import { budgetLeft } from "./tokens.js";

export interface Reward {
  id: bigint;
  tokenId: bigint;
  keyHash: string;
  requestHash: string;
  recipientId: number;
  recipientLogin: string;
  sats: bigint;
  currency: string;
  minor: bigint;
  rate: string | null;
  reason: string;
  url: string | null;
  notify: string | null;
  createdAt: Date;
  /** The state of the first payout to the recipient formed after the reward; null: none yet. */
  payoutState: string | null;
}

type Raw = {
  id: bigint;
  token_id: bigint;
  key_hash: string;
  request_hash: string;
  recipient_id: bigint;
  recipient_login: string;
  sats: bigint;
  currency: string;
  minor: bigint;
  rate: string | null;
  reason: string;
  url: string | null;
  notify: string | null;
  created_at: Date;
  payout_state?: string | null;
};

const toReward = (r: Raw): Reward => ({
  id: BigInt(r.id),
  tokenId: BigInt(r.token_id),
  keyHash: r.key_hash,
  requestHash: r.request_hash,
  recipientId: Number(r.recipient_id),
  recipientLogin: r.recipient_login,
  sats: BigInt(r.sats),
  currency: r.currency,
  minor: BigInt(r.minor),
  rate: r.rate,
  reason: r.reason,
  url: r.url,
  notify: r.notify,
  createdAt: new Date(r.created_at),
  payoutState: r.payout_state ?? null,
});

const SELECT = `SELECT r.*,
  (SELECT p.state FROM payouts p WHERE p.payee_kind = 'user' AND p.user_id = r.recipient_id AND p.created_at >= r.created_at
   ORDER BY p.created_at, p.id LIMIT 1) AS payout_state
  FROM api_rewards r`;

/** Why a reward was not recorded; nothing of it was. */
export class RewardRefused extends Error {
  constructor(
    readonly why: "in_flight" | "budget" | "cap" | "revoked",
    /** What is left: of the budget (budget), or of the recipient's cap (cap). */
    readonly leftSats: bigint,
    message: string,
  ) {
    super(message);
    this.name = "RewardRefused";
  }
}

/** A reward as a call asks it: what is stored, less what the store gives it. */
export type NewReward = Omit<Reward, "id" | "createdAt" | "payoutState">;

export interface RecordOptions {
  /** The most this token may give the recipient within `windowMs`, counted from these rows. */
  cap?: { sats: bigint; windowMs: number };
  /** A comment to queue on an issue, mentioning the recipient (sent by the outbox). */
  reply?: { where: RepoRef & { issueNumber: number }; body: (r: Reward) => string };
  /** Called after the commit, before the answer (tests make the answer fail there). */
  committed?: (r: Reward) => void | Promise<void>;
}

/**
 * The reward a live token recorded under an Idempotency-Key, if any; none once the token is
 * revoked (its caller is refused then, even while its token is remembered in a process).
 */
export async function findReward(db: Queryable, tokenId: bigint, keyHash: string): Promise<Reward | null> {
  const [row] = await db.query<Raw>(
    `${SELECT} WHERE r.token_id = $1 AND r.key_hash = $2 AND EXISTS (SELECT 1 FROM api_tokens t WHERE t.id = $1 AND t.revoked_at IS NULL)`,
    [tokenId, keyHash],
    { name: "api-reward-find" },
  );
  return row ? toReward(row) : null;
}

/** One of a token's rewards by id (another token's is none). */
export async function getReward(db: Queryable, tokenId: bigint, id: bigint): Promise<Reward | null> {
  const [row] = await db.query<Raw>(`${SELECT} WHERE r.token_id = $1 AND r.id = $2`, [tokenId, id]);
  return row ? toReward(row) : null;
}

/** A page (1-based) of a token's rewards, oldest first, made at or after `since`; one more than `size` tells there is a next page. */
export async function listRewards(db: Queryable, tokenId: bigint, o: { since: Date | null; page: number; size: number }): Promise<{ rewards: Reward[]; more: boolean }> {
  const rows = await db.query<Raw>(
    `${SELECT} WHERE r.token_id = $1 AND ($2::timestamptz IS NULL OR r.created_at >= $2) ORDER BY r.id LIMIT $3 OFFSET $4`,
    [tokenId, o.since, o.size + 1, (o.page - 1) * o.size],
  );
  return { rewards: rows.slice(0, o.size).map(toReward), more: rows.length > o.size };
}

/** The transfer a reward makes, as the ledger's rules see it. */
const rewardTransfer = (r: NewReward, rewardId: bigint | null): TransferRequest => ({
  key: `reward:${r.tokenId}:${r.keyHash}`,
  debit: grantOf(r.tokenId),
  credit: earningsOf(r.recipientId),
  sats: r.sats,
  kind: "reward",
  ref: { reward: String(rewardId), token: String(r.tokenId) },
});

/** The advisory lock a reward's Idempotency-Key is held by while its call is recorded (any process). */
const keyLock = (r: NewReward) => `api_reward:${r.tokenId}:${r.keyHash}`;

/**
 * Records a reward and its transfer. The same token and key again: the stored reward
 * (`replayed`), whatever the body (the caller compares requestHash). The same key while the first
 * call's transaction runs (here or in another process): RewardRefused "in_flight". Over the budget
 * (the grant account cannot be overdrawn, so concurrent calls cannot overspend) or the
 * recipient's cap: RewardRefused, nothing recorded. A revoked token: RewardRefused "revoked".
 *
 * The common case (a new key, no cap, no comment, the budget covers it) is one statement with no
 * explicit transaction: see `rewardsNow`. Everything else goes the transactional way, which
 * answers it as it always did. A process's API writes through a RewardWriter, which batches.
 */
export async function recordReward(db: Db, r: NewReward, o: RecordOptions = {}): Promise<{ reward: Reward; replayed: boolean }> {
  const [now] = (o.cap || o.reply ? null : await rewardsNow(db, [r])) ?? [];
  if (now) {
    await o.committed?.(now);
    return { reward: now, replayed: false };
  }
  return recordRewardLocked(db, r, o);
}

/** At most this many rewards go in one statement. */
export const BATCH = 64;

/**
 * How one process records its rewards (`recordReward`'s answers), batched per token: while a
 * statement of one token's rewards runs, that token's next calls wait and go together in the next
 * one. Alone, a call waits for nothing; under load one statement (one lock of the grant's row, one
 * commit, one round trip) records many, and this process never queues on its own grant's lock.
 * A batch is all or nothing: when it cannot be written whole, each of its calls goes the
 * transactional way, which answers each as `recordReward` does.
 */
export class RewardWriter {
  readonly #waiting = new Map<bigint, Waiting[]>();
  constructor(readonly db: Db) {}

  async record(r: NewReward, o: RecordOptions = {}): Promise<{ reward: Reward; replayed: boolean }> {
    const now = o.cap || o.reply ? null : await this.#now(r);
    if (now) {
      await o.committed?.(now);
      return { reward: now, replayed: false };
    }
    return recordRewardLocked(this.db, r, o);
  }

  #now(r: NewReward): Promise<Reward | null> {
    return new Promise((resolve, reject) => {
      const w: Waiting = { r, done: (x) => (x instanceof Error ? reject(x) : resolve(x)) };
      const waiting = this.#waiting.get(r.tokenId);
      if (waiting) return void waiting.push(w);
      const fresh = [w];
      this.#waiting.set(r.tokenId, fresh);
      void this.#drain(r.tokenId, fresh);
    });
  }

  /** Writes the token's waiting calls, a batch at a time, until none wait. */
  async #drain(tokenId: bigint, waiting: Waiting[]): Promise<void> {
    while (waiting.length > 0) {
      const batch = waiting.splice(0, BATCH);
      try {
        const written = await rewardsNow(this.db, batch.map((b) => b.r));
        batch.forEach((b, i) => b.done(written ? written[i]! : null));
      } catch (err) {
        // One call's error must not fail the others: each goes the transactional way, which says its own.
        for (const b of batch) b.done(batch.length > 1 ? null : err instanceof Error ? err : new Error(String(err)));
      }
    }
    this.#waiting.delete(tokenId);
  }
}

type Waiting = { r: NewReward; done: (w: Reward | null | Error) => void };

/*
 * Rewards of one token whole in one statement, which PostgreSQL (and PGlite) commits or rolls
 * back as one even without a transaction around it. $1 the token, $2 its grant account's key;
 * $3… one array per column, a row per reward (i).
 *
 *  ok  what can be checked without a lock, in the statement's snapshot: the token is live, the
 *      grant covers the sum, and every key's lock (the transactional way's) is ours.
 *  e   the recipients' earnings, made or credited, locked in key order as `lockAccounts` locks
 *      (earnings:… before grant:…), so this never deadlocks with the transactional way.
 *  r   the rewards' rows; a key used already (a retry, or another call's just now) fails their
 *      UNIQUE, which is the look-up: no plan can make it scan a token's rewards.
 *  t   their transfers.
 *  g   last, the hot row: the grant debited only if, locked and re-read, it still covers the sum
 *      (the ledger's no-overdraft rule, `decideTransfer` in ledger/rules.ts, restated in SQL;
 *      test/store/rewards.test.ts holds the two to agreeing). So it is locked only from here to
 *      the commit. When a concurrent call spent it first, g is empty and the division by its
 *      count fails the whole statement, undoing e, r and t; the caller goes the transactional way.
 */
const REWARDS_NOW_SQL = `
WITH i AS (
  SELECT * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::text[], $9::bigint[], $10::text[], $11::text[],
                       $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
    AS i (key_hash, request_hash, recipient_id, recipient_login, sats, currency, minor, rate, reason, url, notify, key_lock, earnings, transfer)
), ok AS (
  SELECT a.id AS grant_id, (SELECT sum(sats) FROM i)::bigint AS total FROM api_tokens tok, ledger_accounts a
  WHERE tok.id = $1::bigint AND tok.revoked_at IS NULL
    AND a.key = $2::text AND a.credits_posted - a.debits_posted - a.debits_pending >= (SELECT sum(sats) FROM i)
    AND (SELECT bool_and(pg_try_advisory_xact_lock(hashtextextended(i.key_lock, 724200121))) FROM i)
), e AS (
  INSERT INTO ledger_accounts AS a (key, kind, user_id, credits_posted)
  SELECT i.earnings, 'earnings', i.recipient_id, sum(i.sats)::bigint FROM i, ok GROUP BY i.earnings, i.recipient_id ORDER BY i.earnings
  ON CONFLICT (key) DO UPDATE SET credits_posted = a.credits_posted + EXCLUDED.credits_posted
  RETURNING a.id, a.key
), r AS (
  INSERT INTO api_rewards (token_id, key_hash, request_hash, recipient_id, recipient_login, sats, currency, minor, rate, reason, url, notify)
  SELECT $1::bigint, key_hash, request_hash, recipient_id, recipient_login, sats, currency, minor, rate, reason, url, notify FROM i
  WHERE EXISTS (SELECT 1 FROM e)
  RETURNING *
), t AS (
  INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, kind, ref)
  SELECT i.transfer, ok.grant_id, e.id, r.sats, 'single', 'reward', jsonb_build_object('reward', r.id::text, 'token', $1::bigint::text)
  FROM r JOIN i ON i.key_hash = r.key_hash JOIN e ON e.key = i.earnings CROSS JOIN ok
  RETURNING id
), g AS (
  UPDATE ledger_accounts a SET debits_posted = a.debits_posted + ok.total
  FROM ok
  WHERE a.id = ok.grant_id AND a.credits_posted - a.debits_posted - a.debits_pending >= ok.total
    AND (SELECT count(*) FROM t) = (SELECT count(*) FROM i)
  RETURNING a.id
)
SELECT r.id, r.key_hash, r.created_at, 1 / (SELECT count(*) FROM g) AS debited FROM r`;

/** Errors by which REWARDS_NOW_SQL undoes itself (see there), and a deadlock: the transactional way answers them. */
const UNDONE = new Set(["22012", "23505", "40P01"]);

/**
 * New rewards of one token in one statement (REWARDS_NOW_SQL), in the order given; null when that
 * cannot write them all: a revoked token, a used or busy key, a budget that does not cover them
 * all (the transactional way says which, reward by reward).
 */
export async function rewardsNow(db: Queryable, rs: readonly NewReward[]): Promise<Reward[] | null> {
  const tokenId = rs[0]!.tokenId;
  if (rs.some((r) => r.tokenId !== tokenId || malformed(rewardTransfer(r, null)))) return null;
  const column = <T>(f: (r: NewReward) => T) => rs.map(f);
  let rows: Array<{ id: bigint; key_hash: string; created_at: Date; debited: bigint }>;
  try {
    rows = await db.query<{ id: bigint; key_hash: string; created_at: Date; debited: bigint }>(
      REWARDS_NOW_SQL,
      [
        tokenId,
        grantOf(tokenId).key,
        column((r) => r.keyHash),
        column((r) => r.requestHash),
        column((r) => String(r.recipientId)),
        column((r) => r.recipientLogin),
        column((r) => String(r.sats)),
        column((r) => r.currency),
        column((r) => String(r.minor)),
        column((r) => r.rate),
        column((r) => r.reason),
        column((r) => r.url),
        column((r) => r.notify),
        column(keyLock),
        column((r) => earningsOf(r.recipientId).key),
        column((r) => rewardTransfer(r, null).key),
      ],
      { name: "api-rewards-now" },
    );
  } catch (err) {
    if (UNDONE.has((err as { code?: string }).code ?? "")) return null;
    throw err;
  }
  if (rows.length === 0) return null;
  // The statement wrote every reward with its transfer and the grant's debit, or failed whole; anything else is a bug to shout about.
  const byKey = new Map(rows.map((row) => [row.key_hash, row]));
  if (rows.some((row) => Number(row.debited) !== 1) || byKey.size !== rs.length) {
    throw new Error(`rewards of token ${tokenId} were written ${rows.length} of ${rs.length}, with ${Number(rows[0]!.debited)} grant debits`);
  }
  // The rest of each row is what was given.
  return rs.map((r) => {
    const row = byKey.get(r.keyHash)!;
    return { ...r, id: BigInt(row.id), createdAt: new Date(row.created_at), payoutState: null };
  });
}

/** The transactional way: every case, under the key's lock and the accounts' row locks. */
async function recordRewardLocked(db: Db, r: NewReward, o: RecordOptions): Promise<{ reward: Reward; replayed: boolean }> {
  const result = await db.transaction(async (tx) => {
    // The key's lock for this transaction, taken by the statement that writes the row: with it held
    // a stored reward is found, or none can be stored meanwhile (here or by another process).
    const lockKey = keyLock(r);
    // The recipient's earnings account is made here when new, before any account is locked: made
    // later, by lockAccounts, it would be locked after the grant, against the key order, and two
    // first rewards to one person could deadlock.
    const [row] = await tx.query<Raw>(
      `WITH l AS (SELECT pg_try_advisory_xact_lock(hashtextextended($13, 724200121)) AS ok),
       a AS (INSERT INTO ledger_accounts (key, kind, user_id) VALUES ($14, 'earnings', $4) ON CONFLICT (key) DO NOTHING)
       INSERT INTO api_rewards (token_id, key_hash, request_hash, recipient_id, recipient_login, sats, currency, minor, rate, reason, url, notify)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM l
       WHERE l.ok AND EXISTS (SELECT 1 FROM api_tokens t WHERE t.id = $1 AND t.revoked_at IS NULL)
       ON CONFLICT (token_id, key_hash) DO NOTHING RETURNING *`,
      [r.tokenId, r.keyHash, r.requestHash, r.recipientId, r.recipientLogin, r.sats, r.currency, r.minor, r.rate, r.reason, r.url, r.notify, lockKey, earningsOf(r.recipientId).key],
    );
    if (!row) {
      const [lock] = await tx.query<{ ok: boolean; live: boolean }>(
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 724200121)) AS ok, EXISTS (SELECT 1 FROM api_tokens WHERE id = $2 AND revoked_at IS NULL) AS live",
        [lockKey, r.tokenId],
      );
      if (!lock!.live) throw new RewardRefused("revoked", 0n, "this API token was revoked");
      if (!lock!.ok) throw new RewardRefused("in_flight", 0n, "a request with this Idempotency-Key is still being processed");
      const stored = await findReward(tx, r.tokenId, r.keyHash);
      if (!stored) throw new Error(`reward ${r.keyHash} of token ${r.tokenId} was neither written nor found`);
      return { reward: stored, replayed: true };
    }
    const reward = toReward(row);
    const moved = await transfer(tx, rewardTransfer(r, reward.id));
    if (!moved.ok) {
      const left = await budgetLeft(tx, r.tokenId);
      throw new RewardRefused("budget", left, `over this token's budget: ${left} sats are left in this period, ${r.sats} were asked`);
    }
    if (moved.replayed) throw new Error(`reward transfer reward:${r.tokenId}:${r.keyHash} exists without its reward`);
    if (o.cap) {
      // After the transfer: the grant account's row lock orders this token's rewards, so every earlier one is counted.
      const [sum] = await tx.query<{ sats: bigint }>(
        `SELECT coalesce(sum(sats), 0) AS sats FROM api_rewards
         WHERE token_id = $1 AND recipient_id = $2 AND created_at > now() - make_interval(secs => $3::double precision / 1000)`,
        [r.tokenId, r.recipientId, o.cap.windowMs],
      );
      const total = BigInt(sum!.sats);
      if (total > o.cap.sats) {
        const left = o.cap.sats - (total - r.sats);
        throw new RewardRefused("cap", left > 0n ? left : 0n, `over this token's cap for @${r.recipientLogin}: ${left > 0n ? left : 0n} sats are left for them now, ${r.sats} were asked`);
      }
    }
    if (o.reply) await queueReply(tx, `reward:${reward.id}:notify`, o.reply.where, o.reply.body(reward));
    return { reward, replayed: false };
  });
  if (!result.replayed) await o.committed?.(result.reward);
  return result;
}
