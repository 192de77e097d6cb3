import type { Queryable } from "../../src/store/db.js";

/**
 * What must hold of the ledger after any bounty flow: the balances sum to zero (posted, and
 * pending debits equal pending credits), every account's row equals the sums of its transfers,
 * and each person's earnings available are exactly their credited awards not in a payout.
 * Returns the problems found (empty when all hold), so a failing test says which.
 */
export async function ledgerProblems(db: Queryable): Promise<string[]> {
  const problems: string[] = [];
  const [sum] = await db.query<{ posted: string; pending: string }>(
    `SELECT coalesce(sum(credits_posted - debits_posted), 0)::text AS posted,
            coalesce(sum(credits_pending - debits_pending), 0)::text AS pending FROM ledger_accounts`,
  );
  if (sum!.posted !== "0") problems.push(`posted balances sum to ${sum!.posted}, not 0`);
  if (sum!.pending !== "0") problems.push(`pending balances sum to ${sum!.pending}, not 0`);
  const rows = await db.query<{ key: string; row: string; sums: string }>(
    `SELECT a.key,
            concat_ws('/', a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) AS row,
            concat_ws('/',
              coalesce((SELECT sum(t.sats) FROM ledger_transfers t WHERE t.debit_account_id = a.id AND t.phase IN ('single', 'post')), 0),
              coalesce((SELECT sum(t.sats) FROM ledger_transfers t WHERE t.credit_account_id = a.id AND t.phase IN ('single', 'post')), 0),
              coalesce((SELECT sum(t.sats) FROM ledger_transfers t WHERE t.debit_account_id = a.id AND t.phase = 'pending'
                        AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)), 0),
              coalesce((SELECT sum(t.sats) FROM ledger_transfers t WHERE t.credit_account_id = a.id AND t.phase = 'pending'
                        AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)), 0)) AS sums
     FROM ledger_accounts a ORDER BY a.key`,
  );
  for (const r of rows) if (r.row !== r.sums) problems.push(`${r.key}: row ${r.row} but its transfers sum to ${r.sums}`);
  const people = await db.query<{ user_id: string; available: string; unpaid: string }>(
    `WITH e AS (SELECT user_id, credits_posted - debits_posted - debits_pending AS available FROM ledger_accounts WHERE kind = 'earnings'),
          u AS (SELECT recipient_id AS user_id, sum(sats) AS unpaid FROM awards WHERE state = 'credited' AND payout_id IS NULL GROUP BY 1)
     SELECT coalesce(e.user_id, u.user_id)::text AS user_id, coalesce(e.available, 0)::text AS available, coalesce(u.unpaid, 0)::text AS unpaid
     FROM e FULL JOIN u ON u.user_id = e.user_id ORDER BY 1`,
  );
  for (const p of people) {
    if (p.available !== p.unpaid) problems.push(`user ${p.user_id}: earnings available ${p.available}, unpaid credited awards ${p.unpaid}`);
  }
  // Each unsigned payout holds an open reservation; each signed one has none left open.
  const payouts = await db.query<{ id: string; state: string; open: string }>(
    `SELECT p.id::text, p.state, (SELECT count(*) FROM ledger_transfers t WHERE t.kind = 'payout' AND t.phase = 'pending'
              AND t.ref->>'payout' = p.id::text AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id))::text AS open
     FROM payouts p ORDER BY p.id`,
  );
  for (const p of payouts) {
    const want = p.state === "queued" || p.state === "awaiting_approval" ? "1" : "0";
    if (p.open !== want) problems.push(`payout ${p.id} (${p.state}) has ${p.open} open reservations, not ${want}`);
  }
  return problems;
}
