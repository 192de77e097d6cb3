/**
 * People's balances as /balance and the public solvency report read them, from the ledger's
 * account rows (their totals are kept there by store/ledger.ts), held awards and wallets. Reads
 * only; what a leaf of the solvency tree counts is ledger/merkle.ts owedSats.
 */
import type { Amount } from "../core/money.js";
import { ZERO, type Balance } from "../ledger/rules.js";
import { amountsFromJson } from "./awards.js";
import type { Queryable } from "./db.js";
import { getWallet, type Wallet } from "./wallets.js";

export interface HeldAward {
  id: bigint;
  /** Known once the award is priced; until then its pledged amounts. */
  sats: bigint | null;
  amounts: Amount[];
}

export interface PersonBalance {
  userId: number;
  funds: Balance;
  earnings: Balance;
  /** Reserved from their funds or earnings by pending transfers into escrow (backed pledges, questions…): still theirs until released. */
  inEscrow: bigint;
  /** Reserved from their earnings or funds by payouts formed but not yet signed. */
  inPayouts: bigint;
  /** Pending transfers to their accounts, not yet posted. */
  pendingCredits: bigint;
  /** Awards to them still in their hold, not yet credited. */
  heldAwards: HeldAward[];
  /** Where their payouts go; null when they have not linked a wallet. */
  wallet: Wallet | null;
}

type RawBalance = { debits_posted: bigint; credits_posted: bigint; debits_pending: bigint; credits_pending: bigint };
const toBalance = (r: RawBalance | undefined): Balance =>
  r
    ? {
        debitsPosted: BigInt(r.debits_posted),
        creditsPosted: BigInt(r.credits_posted),
        debitsPending: BigInt(r.debits_pending),
        creditsPending: BigInt(r.credits_pending),
      }
    : ZERO;

/** Everything /balance shows for one person; zeros for someone the ledger has never seen. */
export async function personBalance(db: Queryable, userId: number): Promise<PersonBalance> {
  const accounts = await db.query<RawBalance & { kind: string }>(
    `SELECT kind, debits_posted, credits_posted, debits_pending, credits_pending
       FROM ledger_accounts WHERE user_id = $1 AND kind IN ('funds', 'earnings')`,
    [userId],
  );
  // Pending transfers out of their accounts not yet posted or voided, by where they go.
  const [reserved] = await db.query<{ escrow: bigint | null; payouts: bigint | null }>(
    `SELECT sum(t.sats) FILTER (WHERE c.kind = 'escrow') AS escrow,
            sum(t.sats) FILTER (WHERE c.kind = 'wallet') AS payouts
       FROM ledger_transfers t
       JOIN ledger_accounts d ON d.id = t.debit_account_id
       JOIN ledger_accounts c ON c.id = t.credit_account_id
      WHERE t.phase = 'pending' AND d.user_id = $1
        AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)`,
    [userId],
  );
  const held = await db.query<{ id: bigint; sats: bigint | null; amounts: unknown }>(
    "SELECT id, sats, amounts FROM awards WHERE recipient_id = $1 AND state = 'held' ORDER BY id",
    [userId],
  );
  // Escrow held for them by someone else (a tip in its hold names its recipient: ref.to).
  const [forThem] = await db.query<{ sats: bigint | null }>(
    `SELECT sum(t.sats) AS sats FROM ledger_transfers t
      WHERE t.phase = 'pending' AND t.kind = 'escrow' AND t.ref->>'to' = $1
        AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)`,
    [String(userId)],
  );
  const funds = toBalance(accounts.find((a) => a.kind === "funds"));
  const earnings = toBalance(accounts.find((a) => a.kind === "earnings"));
  return {
    userId,
    funds,
    earnings,
    inEscrow: BigInt(reserved?.escrow ?? 0n),
    inPayouts: BigInt(reserved?.payouts ?? 0n),
    pendingCredits: funds.creditsPending + earnings.creditsPending + BigInt(forThem?.sats ?? 0n),
    heldAwards: held.map((h) => ({ id: BigInt(h.id), sats: h.sats === null ? null : BigInt(h.sats), amounts: amountsFromJson(h.amounts) })),
    wallet: await getWallet(db, userId),
  };
}

export interface OwedRow {
  userId: number;
  fundsPosted: bigint;
  earningsPosted: bigint;
}

/** Every person with a funds or earnings account, with each account's posted balance (credits less debits). */
export async function owedBalances(db: Queryable): Promise<OwedRow[]> {
  const rows = await db.query<{ user_id: bigint; funds: bigint; earnings: bigint }>(
    `SELECT user_id,
            coalesce(sum(credits_posted - debits_posted) FILTER (WHERE kind = 'funds'), 0) AS funds,
            coalesce(sum(credits_posted - debits_posted) FILTER (WHERE kind = 'earnings'), 0) AS earnings
       FROM ledger_accounts WHERE kind IN ('funds', 'earnings') GROUP BY user_id ORDER BY user_id`,
  );
  return rows.map((r) => ({ userId: Number(r.user_id), fundsPosted: BigInt(r.funds), earningsPosted: BigInt(r.earnings) }));
}

/** What charities and escrow accounts hold, posted (an escrow reserved by a pending transfer is still its payer's). */
export async function otherLiabilities(db: Queryable): Promise<{ charities: Array<{ id: string; sats: bigint }>; escrowSats: bigint }> {
  const rows = await db.query<{ key: string; kind: string; balance: bigint }>(
    `SELECT key, kind, credits_posted - debits_posted AS balance FROM ledger_accounts
      WHERE kind IN ('charity', 'escrow') AND credits_posted - debits_posted > 0 ORDER BY key`,
  );
  return {
    charities: rows.filter((r) => r.kind === "charity").map((r) => ({ id: r.key.slice("charity:".length), sats: BigInt(r.balance) })),
    escrowSats: rows.filter((r) => r.kind === "escrow").reduce((s, r) => s + BigInt(r.balance), 0n),
  };
}

/**
 * Who each login is, as bounty-bot last saw it (a wallet linked, an award, a pledge, an event it
 * recorded, a deposit address handed out): lowercase login → numeric id. Logins can be renamed and
 * reused: for each login the most recent sighting wins. Read once per solvency report, so a proof
 * lookup costs no query.
 */
export async function loginIds(db: Queryable): Promise<Map<string, number>> {
  const rows = await db.query<{ login: string; user_id: bigint }>(
    `SELECT DISTINCT ON (login) login, user_id FROM (
        SELECT lower(login) AS login, user_id, updated_at AS at FROM wallets
        UNION ALL SELECT lower(recipient_login), recipient_id, updated_at FROM awards
        UNION ALL SELECT lower(funder_login), funder_id, updated_at FROM pledges WHERE funder_id IS NOT NULL
        UNION ALL SELECT lower(actor_login), actor_id, at FROM events WHERE actor_id IS NOT NULL
        UNION ALL SELECT lower(login), user_id, issued_at FROM deposit_addresses
        UNION ALL SELECT lower(responder_login), responder_id, answered_at FROM question_answers
        UNION ALL SELECT lower(recipient_login), recipient_id, created_at FROM tips
        UNION ALL SELECT lower(recipient_login), recipient_id, created_at FROM api_rewards
      ) seen ORDER BY login, at DESC`,
  );
  return new Map(rows.map((r) => [r.login, Number(r.user_id)]));
}

/** The key that salts the solvency tree's leaves (migration 13 made it). */
export async function solvencySecret(db: Queryable): Promise<Buffer> {
  const [row] = await db.query<{ key: Uint8Array }>("SELECT key FROM solvency_secret WHERE id");
  if (!row) throw new Error("the solvency secret is missing (migration 13 makes it)");
  return Buffer.from(row.key);
}
