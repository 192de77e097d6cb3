import type { FeeRate } from "../bitcoin/sizes.js";
import type { Queryable } from "./db.js";

/**
 * fee_observations (migration 23): the fee rate each payout run observed while PAYOUT_MAX_DELAY
 * timing is on, the history src/payouts/timing.ts judges "low" against. Rows older than `keepMs`
 * are deleted as new ones come.
 */

export async function recordFeeRate(db: Queryable, at: Date, rate: FeeRate, keepMs: number): Promise<void> {
  await db.query("INSERT INTO fee_observations (observed_at, rate_sat_kvb) VALUES ($1, $2)", [at, rate.toString()]);
  await db.query("DELETE FROM fee_observations WHERE observed_at < $1", [new Date(at.getTime() - keepMs)]);
}

/** The rates observed after `since` (sat/kvB). */
export async function feeRatesSince(db: Queryable, since: Date): Promise<FeeRate[]> {
  const rows = await db.query<{ rate: string }>("SELECT rate_sat_kvb::text AS rate FROM fee_observations WHERE observed_at > $1 ORDER BY observed_at", [since]);
  return rows.map((r) => BigInt(r.rate));
}

/** The observations after `since`, with when each was made (oldest first): timing's weekly forecast reads them. */
export async function feeObservationsSince(db: Queryable, since: Date): Promise<Array<{ at: number; rate: FeeRate }>> {
  const rows = await db.query<{ at: Date; rate: string }>(
    "SELECT observed_at AS at, rate_sat_kvb::text AS rate FROM fee_observations WHERE observed_at > $1 ORDER BY observed_at",
    [since],
  );
  return rows.map((r) => ({ at: new Date(r.at).getTime(), rate: BigInt(r.rate) }));
}
