/**
 * The ledger's own consistency check, in SQL: every account row's four totals equal what its
 * transfers say, the rows sum to zero, no transfer moves nothing or less, and every post or void
 * resolves one pending transfer, once, within what it reserved. The totals are one statement (one
 * snapshot, while transfers keep committing) over one pass of the transfers aggregated per
 * account, so it stays fast over millions of them; the resolutions, immutable, are a second.
 */
import type { Queryable } from "./db.js";

export interface LedgerCheck {
  ok: boolean;
  /** Readable, with the figures: what is wrong and where. Empty when ok. */
  problems: string[];
  accounts: number;
  transfers: bigint;
}

/** At most this many problems of one sort are listed; the rest are counted. */
const LISTED = 20;

const TOTALS = ["debits_posted", "credits_posted", "debits_pending", "credits_pending"] as const;
type Totals = Record<(typeof TOTALS)[number], string>;

type Mismatch = { key: string; row: Totals | null; by: Totals };

type Summary = {
  accounts: bigint;
  transfers: bigint | null;
  not_positive: bigint | null;
  dp: string | null;
  cp: string | null;
  dq: string | null;
  cq: string | null;
  mismatched: bigint;
  mismatches: Mismatch[] | string | null;
};

/*
 * The money: what each transfer does to its accounts (src/ledger/rules.ts, restated as sums).
 * single and post: their sats posted on both sides; pending: its sats pending on both sides until
 * a post or void resolves it (a post's own sats are what it posts). So an account's pending totals
 * are the sum of its open pending transfers. One scan of the transfers, each counted on its debit
 * side and its credit side at once (grouping sets), the resolved ones known from the pending_id
 * index; then compared with the rows. One statement: one snapshot, while transfers commit.
 */
const TOTALS_SQL = `
WITH sides AS (
  SELECT t.debit_account_id AS d, t.credit_account_id AS c, GROUPING(t.debit_account_id, t.credit_account_id) AS g,
         sum(t.sats) FILTER (WHERE t.phase IN ('single', 'post')) AS posted,
         sum(t.sats) FILTER (WHERE t.phase = 'pending' AND r.pending_id IS NULL) AS open,
         count(*) AS n, count(*) FILTER (WHERE t.sats <= 0) AS not_positive
  FROM ledger_transfers t
  LEFT JOIN (SELECT DISTINCT pending_id FROM ledger_transfers WHERE pending_id IS NOT NULL) r ON r.pending_id = t.id
  GROUP BY GROUPING SETS ((t.debit_account_id), (t.credit_account_id))
),
expected AS (
  SELECT CASE g WHEN 1 THEN d ELSE c END AS account,
         coalesce(sum(posted) FILTER (WHERE g = 1), 0) AS dp, coalesce(sum(posted) FILTER (WHERE g = 2), 0) AS cp,
         coalesce(sum(open) FILTER (WHERE g = 1), 0) AS dq, coalesce(sum(open) FILTER (WHERE g = 2), 0) AS cq
  FROM sides GROUP BY 1
),
compared AS (
  SELECT coalesce(a.key, '#' || e.account) AS key, a.id IS NULL AS no_row,
         a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending,
         coalesce(e.dp, 0) AS dp, coalesce(e.cp, 0) AS cp, coalesce(e.dq, 0) AS dq, coalesce(e.cq, 0) AS cq
  FROM ledger_accounts a FULL JOIN expected e ON e.account = a.id
  WHERE a.id IS NULL
     OR a.debits_posted <> coalesce(e.dp, 0) OR a.credits_posted <> coalesce(e.cp, 0)
     OR a.debits_pending <> coalesce(e.dq, 0) OR a.credits_pending <> coalesce(e.cq, 0)
)
SELECT
  (SELECT count(*) FROM ledger_accounts) AS accounts,
  (SELECT sum(n) FROM sides WHERE g = 1) AS transfers,
  (SELECT sum(not_positive) FROM sides WHERE g = 1) AS not_positive,
  s.dp::text AS dp, s.cp::text AS cp, s.dq::text AS dq, s.cq::text AS cq,
  (SELECT count(*) FROM compared) AS mismatched,
  (SELECT json_agg(json_build_object(
      'key', key,
      'row', CASE WHEN no_row THEN NULL ELSE json_build_object('debits_posted', debits_posted::text, 'credits_posted', credits_posted::text,
                                                               'debits_pending', debits_pending::text, 'credits_pending', credits_pending::text) END,
      'by', json_build_object('debits_posted', dp::text, 'credits_posted', cp::text, 'debits_pending', dq::text, 'credits_pending', cq::text)))
   FROM (SELECT * FROM compared ORDER BY key LIMIT ${LISTED}) m) AS mismatches
FROM (SELECT sum(debits_posted) AS dp, sum(credits_posted) AS cp, sum(debits_pending) AS dq, sum(credits_pending) AS cq FROM ledger_accounts) s`;

type Resolution = {
  key: string;
  phase: "post" | "void";
  sats: string;
  pending: string | null;
  pphase: string | null;
  psats: string | null;
  same: boolean | null;
  times: bigint;
  total: bigint;
};

/*
 * Every post or void against the pending transfer it names: that one is pending, resolved by it
 * alone, between the same accounts, and reserved at least what is posted (all of what is voided).
 * Transfers never change once written, so this needs no common snapshot with the totals.
 */
const RESOLUTIONS_SQL = `
SELECT r.key, r.phase, r.sats::text AS sats, p.key AS pending, p.phase AS pphase, p.sats::text AS psats,
       (r.debit_account_id = p.debit_account_id AND r.credit_account_id = p.credit_account_id) AS same, r.times,
       count(*) OVER () AS total
FROM (SELECT id, key, phase, sats, debit_account_id, credit_account_id, pending_id, count(*) OVER (PARTITION BY pending_id) AS times
      FROM ledger_transfers WHERE pending_id IS NOT NULL) r
LEFT JOIN ledger_transfers p ON p.id = r.pending_id
WHERE p.id IS NULL OR p.phase <> 'pending' OR r.times > 1
   OR r.debit_account_id <> p.debit_account_id OR r.credit_account_id <> p.credit_account_id
   OR (r.phase = 'post' AND r.sats > p.sats) OR (r.phase = 'void' AND r.sats <> p.sats)
ORDER BY r.id LIMIT ${LISTED}`;

const big = (v: string | bigint | number | null | undefined): bigint => (v === null || v === undefined ? 0n : BigInt(v));
const parsed = <T>(v: T[] | string | null): T[] => (v === null ? [] : typeof v === "string" ? (JSON.parse(v) as T[]) : v);
const more = (listed: number, total: bigint, what: string): string[] =>
  total > BigInt(listed) ? [`… and ${total - BigInt(listed)} more ${what} not listed`] : [];

/**
 * Checks the ledger's totals against its transfers. Called by `ledger check` and before every
 * payout run (through the solvency check); read-only.
 */
export async function checkLedgerTotals(db: Queryable): Promise<LedgerCheck> {
  const [s] = await db.query<Summary>(TOTALS_SQL);
  if (!s) throw new Error("the ledger check returned nothing");
  const problems: string[] = [];
  const dp = big(s.dp);
  const cp = big(s.cp);
  const dq = big(s.dq);
  const cq = big(s.cq);
  if (dp !== cp) problems.push(`the ledger does not sum to zero: posted debits are ${dp} and posted credits ${cp} over all accounts (${dp - cp} apart)`);
  if (dq !== cq) problems.push(`the ledger does not sum to zero: pending debits are ${dq} and pending credits ${cq} over all accounts (${dq - cq} apart)`);

  const mismatches = parsed(s.mismatches);
  for (const m of mismatches) {
    if (!m.row) {
      problems.push(`transfers name account id ${m.key.slice(1)}, which has no row`);
      continue;
    }
    for (const col of TOTALS) {
      if (m.row[col] !== m.by[col]) problems.push(`account ${m.key}: ${col} is ${m.row[col]} on its row, ${m.by[col]} by its transfers`);
    }
  }
  problems.push(...more(mismatches.length, big(s.mismatched), "accounts whose totals differ"));

  const notPositive = big(s.not_positive);
  if (notPositive > 0n) {
    const rows = await db.query<{ key: string; sats: bigint }>(`SELECT key, sats FROM ledger_transfers WHERE sats <= 0 ORDER BY id LIMIT ${LISTED}`);
    for (const r of rows) problems.push(`transfer ${r.key} moves ${big(r.sats)} sats; every transfer moves a positive amount`);
    problems.push(...more(rows.length, notPositive, "transfers of no positive amount"));
  }

  const resolutions = await db.query<Resolution>(RESOLUTIONS_SQL);
  for (const r of resolutions) {
    const what = `${r.phase} ${r.key}`;
    if (r.pending === null) {
      problems.push(`${what} resolves a transfer that does not exist`);
      continue;
    }
    if (r.pphase !== "pending") {
      problems.push(`${what} resolves transfer ${r.pending}, which is ${r.pphase}, not pending`);
      continue;
    }
    if (big(r.times) > 1n) problems.push(`pending transfer ${r.pending} is resolved ${big(r.times)} times (${what} is one)`);
    if (!r.same) problems.push(`${what} moves between other accounts than pending transfer ${r.pending}`);
    if (r.phase === "post" && big(r.sats) > big(r.psats)) problems.push(`${what} posts ${r.sats} sats of pending transfer ${r.pending}, which reserved ${r.psats}`);
    if (r.phase === "void" && r.sats !== r.psats) problems.push(`${what} returns ${r.sats} sats of pending transfer ${r.pending}, which reserved ${r.psats}`);
  }
  problems.push(...more(resolutions.length, resolutions.length > 0 ? big(resolutions[0]!.total) : 0n, "faulty posts or voids"));

  return { ok: problems.length === 0, problems, accounts: Number(s.accounts), transfers: big(s.transfers) };
}
