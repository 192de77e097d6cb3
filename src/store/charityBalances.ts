/**
 * A charity's own balance: what was credited to `charity:<id>` directly (answers donated by
 * `/price … donate`), not passing through a person's payout as `/wallet donate` donations do. The
 * payout run pays it to the address the answers recorded; when they recorded none, or more than
 * one (two repositories' configs naming different charities by the same id), it is not paid and
 * the run says why: the money stays in the charity's account.
 */
import type { Queryable } from "./db.js";

export interface CharityBalance {
  charityId: string;
  /** Available: posted, less what pending payouts reserve. */
  sats: bigint;
  /** The distinct addresses its answers recorded (with a name each). */
  destinations: Array<{ name: string | null; address: string }>;
}

export async function charityBalances(db: Queryable): Promise<CharityBalance[]> {
  const rows = await db.query<{ charity_id: string; sats: bigint; destinations: unknown }>(
    `SELECT substr(a.key, 9) AS charity_id, a.credits_posted - a.debits_posted - a.debits_pending AS sats,
            COALESCE((SELECT json_agg(json_build_object('name', d.name, 'address', d.address) ORDER BY d.address)
                        FROM (SELECT q.charity_address AS address, max(q.charity_name) AS name FROM question_answers q
                               WHERE q.charity_id = substr(a.key, 9) AND q.charity_address IS NOT NULL GROUP BY q.charity_address) d), '[]'::json) AS destinations
       FROM ledger_accounts a
      WHERE a.kind = 'charity' AND a.credits_posted - a.debits_posted - a.debits_pending > 0
      ORDER BY a.key`,
  );
  return rows.map((r) => {
    const d = (typeof r.destinations === "string" ? JSON.parse(r.destinations) : r.destinations) as Array<{ name: string | null; address: string }>;
    return { charityId: r.charity_id, sats: BigInt(r.sats), destinations: d };
  });
}
