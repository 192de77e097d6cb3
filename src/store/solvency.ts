/**
 * The solvency check's SQL: what the app owes people by kind, the stored payout transactions and
 * payouts with their ledger transfers, which account each payout is paid from, and the last check's
 * outcome (shown by `payouts list`). The rules are src/ledger/solvency.ts.
 */
import type { AccountKind } from "../ledger/rules.js";
import type { LiveTx, PayoutFacts, PeopleLiabilities } from "../ledger/solvency.js";
import { fromJson, type Queryable } from "./db.js";
import { listPayoutTxs } from "./payouts.js";

/** The migration that records payouts in the ledger (and backfills the older ones). */
const FLOWS_MIGRATION = 10;

/** A payout's (p.id) latest pending payout transfer, through migration 10's index on ref->>'payout'. */
const LATEST_PENDING = `SELECT t.id, t.sats, t.debit_account_id FROM ledger_transfers t
  WHERE t.kind = 'payout' AND t.phase = 'pending' AND t.ref->>'payout' = p.id::text ORDER BY t.id DESC LIMIT 1`;

/**
 * Funds: every funds account's positive posted balance. Escrow from funds: per escrow account, its
 * posted balance, but no more than what was posted into it from funds accounts (what left it is
 * taken to have left from its other sources first, so the reserve is never understated).
 */
export async function peopleLiabilities(db: Queryable): Promise<PeopleLiabilities> {
  const [r] = await db.query<{ funds: string; escrow: string }>(
    `SELECT
       (SELECT coalesce(sum(greatest(credits_posted - debits_posted, 0)), 0) FROM ledger_accounts WHERE kind = 'funds')::text AS funds,
       (SELECT coalesce(sum(least(greatest(e.credits_posted - e.debits_posted, 0), coalesce(f.sats, 0))), 0)
        FROM ledger_accounts e
        LEFT JOIN (SELECT t.credit_account_id AS id, sum(t.sats) AS sats
                   FROM ledger_accounts c
                   JOIN ledger_transfers t ON t.credit_account_id = c.id
                   JOIN ledger_accounts d ON d.id = t.debit_account_id
                   WHERE c.kind = 'escrow' AND d.kind = 'funds' AND t.phase IN ('single', 'post')
                   GROUP BY t.credit_account_id) f ON f.id = e.id
        WHERE e.kind = 'escrow')::text AS escrow`,
  );
  return { funds: BigInt(r!.funds), escrow: BigInt(r!.escrow) };
}

/** Transactions that are or may be on the chain: signed, broadcast or confirmed (not replaced). */
export async function liveTxs(db: Queryable): Promise<LiveTx[]> {
  const txs = await listPayoutTxs(db, ["signed", "broadcast", "confirmed"]);
  return txs.map((t) => ({
    id: t.id,
    txid: t.txid,
    hex: t.hex,
    network: t.network,
    state: t.state as LiveTx["state"],
    inputs: t.inputs,
    outputs: t.outputs.map((o) => ({ payoutId: String(o.payoutId), vout: Number(o.vout), sats: BigInt(o.sats), address: o.address })),
    payoutSats: t.payoutSats,
    feeSats: t.feeSats,
  }));
}

/**
 * Every payout with its latest pending payout transfer (by its ref's payout id: `payout:<id>`, or
 * the `payout:<id>:<txid>:retry` of a payout queued again) and how that was resolved. Its transfers
 * are required when it was formed after the ledger began recording payouts (migration 10, which
 * backfills the older ones; `requiredSince` overrides that time); before, they are checked where
 * they exist.
 */
export async function payoutFacts(db: Queryable, opts: { requiredSince?: Date | null } = {}): Promise<PayoutFacts[]> {
  const since =
    opts.requiredSince !== undefined
      ? opts.requiredSince
      : ((await db.query<{ at: Date }>("SELECT applied_at AS at FROM schema_migrations WHERE version = $1", [FLOWS_MIGRATION]))[0]?.at ?? null);
  const rows = await db.query<{
    id: bigint;
    state: PayoutFacts["state"];
    sats: bigint;
    address: string;
    tx_id: bigint | null;
    vout: number | null;
    required: boolean;
    pending_sats: bigint | null;
    resolution: "post" | "void" | null;
    resolved_sats: bigint | null;
  }>(
    `SELECT p.id, p.state, p.sats, p.address, p.tx_id, p.vout,
            ($1::timestamptz IS NOT NULL AND p.created_at >= $1::timestamptz) AS required,
            pt.sats AS pending_sats, r.phase AS resolution, r.sats AS resolved_sats
     FROM payouts p
     LEFT JOIN LATERAL (${LATEST_PENDING}) pt ON true
     LEFT JOIN ledger_transfers r ON r.pending_id = pt.id
     ORDER BY p.id`,
    [since],
  );
  return rows.map((r) => ({
    id: BigInt(r.id),
    state: r.state,
    sats: BigInt(r.sats),
    address: r.address,
    txId: r.tx_id === null ? null : BigInt(r.tx_id),
    vout: r.vout === null ? null : Number(r.vout),
    transfersRequired: r.required,
    pending:
      r.pending_sats === null
        ? null
        : {
            sats: BigInt(r.pending_sats),
            resolution: r.resolution,
            postedSats: r.resolution === "post" && r.resolved_sats !== null ? BigInt(r.resolved_sats) : null,
          },
  }));
}

/**
 * The kind of account each payout is paid from (its latest pending payout transfer's debit):
 * funds (people's deposits) or earnings / charity (the treasury's debt). Payouts without one are
 * absent: they pay awards, which the treasury funds.
 */
export async function payoutSources(db: Queryable, ids: readonly bigint[]): Promise<Map<string, AccountKind>> {
  if (ids.length === 0) return new Map();
  const rows = await db.query<{ id: bigint; kind: AccountKind }>(
    `SELECT p.id, d.kind FROM unnest($1::bigint[]) AS p (id)
     JOIN LATERAL (${LATEST_PENDING}) pt ON true JOIN ledger_accounts d ON d.id = pt.debit_account_id`,
    [ids.map(String)],
  );
  return new Map(rows.map((r) => [String(r.id), r.kind]));
}

export interface SolvencyRecord {
  checkedAt: Date;
  ok: boolean;
  problems: string[];
  summary: string;
}

/** Keeps the outcome of the latest check before a payout run, for `payouts list`. */
export async function recordSolvency(db: Queryable, r: SolvencyRecord): Promise<void> {
  await db.query(
    `INSERT INTO solvency_state (id, checked_at, ok, problems, summary) VALUES (true, $1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET checked_at = EXCLUDED.checked_at, ok = EXCLUDED.ok, problems = EXCLUDED.problems, summary = EXCLUDED.summary`,
    [r.checkedAt, r.ok, JSON.stringify(r.problems), r.summary],
  );
}

export async function lastSolvency(db: Queryable): Promise<SolvencyRecord | null> {
  const [r] = await db.query<{ checked_at: Date; ok: boolean; problems: unknown; summary: string }>(
    "SELECT checked_at, ok, problems, summary FROM solvency_state",
  );
  return r ? { checkedAt: new Date(r.checked_at), ok: r.ok, problems: fromJson<string[]>(r.problems), summary: r.summary } : null;
}
