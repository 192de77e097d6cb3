/**
 * Rewards through the rewards API: one row per (token, Idempotency-Key), written in the same
 * transaction as its ledger transfer `reward:<token id>:<key hash>` (grant:<token> →
 * earnings:<recipient>), so a reward is recorded whole or not at all and a retry finds it.
 */
import { earningsOf, grantOf } from "../ledger/rules.js";
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
    readonly why: "in_flight" | "budget" | "cap",
    /** What is left: of the budget (budget), or of the recipient's cap (cap). */
    readonly leftSats: bigint,
    message: string,
  ) {
    super(message);
    this.name = "RewardRefused";
  }
}

export interface NewReward {
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
}

export interface RecordOptions {
  /** The most this token may give the recipient within `windowMs`, counted from these rows. */
  cap?: { sats: bigint; windowMs: number };
  /** A comment to queue on an issue, mentioning the recipient (sent by the outbox). */
  reply?: { where: RepoRef & { issueNumber: number }; body: (r: Reward) => string };
  /** Called after the commit, before the answer (tests make the answer fail there). */
  committed?: (r: Reward) => void | Promise<void>;
}

/** The reward a token recorded under an Idempotency-Key, if any. */
export async function findReward(db: Queryable, tokenId: bigint, keyHash: string): Promise<Reward | null> {
  const [row] = await db.query<Raw>(`${SELECT} WHERE r.token_id = $1 AND r.key_hash = $2`, [tokenId, keyHash]);
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

/**
 * Records a reward and its transfer in one transaction. The same token and key again: the stored
 * reward (`replayed`), whatever the body (the caller compares requestHash). The same key while the
 * first call's transaction runs (here or in another process): RewardRefused "in_flight". Over the
 * budget (the grant account cannot be overdrawn, so concurrent calls cannot overspend) or the
 * recipient's cap: RewardRefused, nothing recorded.
 */
export async function recordReward(db: Db, r: NewReward, o: RecordOptions = {}): Promise<{ reward: Reward; replayed: boolean }> {
  const result = await db.transaction(async (tx) => {
    // The key's lock for this transaction, taken by the statement that writes the row: with it held
    // a stored reward is found, or none can be stored meanwhile (here or by another process).
    const lockKey = `api_reward:${r.tokenId}:${r.keyHash}`;
    const [row] = await tx.query<Raw>(
      `WITH l AS (SELECT pg_try_advisory_xact_lock(hashtextextended($13, 724200121)) AS ok)
       INSERT INTO api_rewards (token_id, key_hash, request_hash, recipient_id, recipient_login, sats, currency, minor, rate, reason, url, notify)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM l WHERE l.ok
       ON CONFLICT (token_id, key_hash) DO NOTHING RETURNING *`,
      [r.tokenId, r.keyHash, r.requestHash, r.recipientId, r.recipientLogin, r.sats, r.currency, r.minor, r.rate, r.reason, r.url, r.notify, lockKey],
    );
    if (!row) {
      const [lock] = await tx.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 724200121)) AS ok", [lockKey]);
      if (!lock!.ok) throw new RewardRefused("in_flight", 0n, "a request with this Idempotency-Key is still being processed");
      const stored = await findReward(tx, r.tokenId, r.keyHash);
      if (!stored) throw new Error(`reward ${r.keyHash} of token ${r.tokenId} was neither written nor found`);
      return { reward: stored, replayed: true };
    }
    const reward = toReward(row);
    const moved = await transfer(tx, {
      key: `reward:${r.tokenId}:${r.keyHash}`,
      debit: grantOf(r.tokenId),
      credit: earningsOf(r.recipientId),
      sats: r.sats,
      kind: "reward",
      ref: { reward: String(reward.id), token: String(r.tokenId) },
    });
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
