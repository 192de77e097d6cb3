import type { Db, Queryable } from "./db.js";

export interface Delivery {
  id: string;
  event: string;
  action: string | null;
  installationId: number | null;
  payload: unknown;
  attempts: number;
}

/**
 * What storing a delivery did: a new delivery to process; a parked one GitHub redelivered (same
 * id), armed again; a redelivery of one already stored, which does nothing; or a new delivery id
 * for a GitHub object another delivery already carries (a replay), kept as a duplicate that does
 * nothing.
 */
export type StoreOutcome = "stored" | "rearmed" | "redelivery" | "duplicate";

/** Stores a delivery before GitHub is answered; only "stored" and "rearmed" are to be processed. */
export async function storeDelivery(
  db: Db,
  d: { id: string; event: string; action?: string | null; installationId?: number | null; payload: unknown; objectKey?: string | null },
): Promise<StoreOutcome> {
  const row = [d.id, d.event, d.action ?? null, d.installationId ?? null];
  // No conflict target: a taken delivery id and a taken object key are both "not new".
  const inserted = await db.query(
    `INSERT INTO webhook_inbox (delivery_id, event, action, installation_id, payload, object_key)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING delivery_id`,
    [...row, JSON.stringify(d.payload), d.objectKey ?? null],
  );
  if (inserted.length === 1) return "stored";
  const rearmed = await db.query(
    `UPDATE webhook_inbox SET parked_at = NULL, attempts = 0, next_attempt_at = now(), outcome = NULL
     WHERE delivery_id = $1 AND parked_at IS NOT NULL RETURNING delivery_id`,
    [d.id],
  );
  if (rearmed.length === 1) return "rearmed";
  if ((await db.query("SELECT 1 FROM webhook_inbox WHERE delivery_id = $1", [d.id])).length === 1) return "redelivery";
  // The object key is taken: a replay. Kept (without its payload) so the log shows it, never processed.
  await db.query(
    `INSERT INTO webhook_inbox (delivery_id, event, action, installation_id, payload, duplicate_of, processed_at, outcome)
     VALUES ($1, $2, $3, $4, NULL, (SELECT delivery_id FROM webhook_inbox WHERE object_key = $5), now(), 'duplicate')
     ON CONFLICT (delivery_id) DO NOTHING`,
    [...row, d.objectKey ?? null],
  );
  return "duplicate";
}

/**
 * The issue (or pull request) a delivery is about, as SQL on its payload: repository id and
 * number; NULL for a delivery about neither, which waits for nothing.
 */
const LANE = (t: string) =>
  `(${t}.payload->'repository'->>'id') || '#' || coalesce(${t}.payload->'issue'->>'number', ${t}.payload->'pull_request'->>'number', ${t}.payload->'discussion'->>'number')`;

/**
 * Deliveries due for processing, oldest first; parked ones wait for a redelivery or a retry.
 * Within one issue deliveries go in arrival order: a delivery waits while an earlier one of its
 * issue is unprocessed (e.g. backing off after a GitHub error), deliveries of other issues do not.
 */
export async function pendingDeliveries(db: Db, limit = 100): Promise<Delivery[]> {
  const rows = await db.query<{
    delivery_id: string;
    event: string;
    action: string | null;
    installation_id: bigint | null;
    payload: unknown;
    attempts: number;
  }>(
    `SELECT delivery_id, event, action, installation_id, payload, attempts FROM webhook_inbox w
     WHERE processed_at IS NULL AND parked_at IS NULL AND next_attempt_at <= now()
       AND NOT EXISTS (SELECT 1 FROM webhook_inbox e
                        WHERE e.processed_at IS NULL AND e.parked_at IS NULL AND ${LANE("e")} = ${LANE("w")}
                          AND (e.received_at, e.delivery_id) < (w.received_at, w.delivery_id))
     ORDER BY received_at, delivery_id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.delivery_id,
    event: r.event,
    action: r.action,
    installationId: r.installation_id === null ? null : Number(r.installation_id),
    payload: typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload,
    attempts: Number(r.attempts),
  }));
}

/**
 * Marks a delivery processed inside the transaction that records its effects. False when another
 * worker got there first: the caller must then roll back, so the delivery acts at most once.
 */
export async function completeDelivery(tx: Queryable, id: string, outcome: string): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE webhook_inbox SET processed_at = now(), outcome = $2, last_error = NULL
     WHERE delivery_id = $1 AND processed_at IS NULL AND parked_at IS NULL RETURNING delivery_id`,
    [id, outcome.slice(0, 500)],
  );
  return rows.length === 1;
}

/**
 * Records a failed attempt; after maxAttempts the delivery is parked with its error: never
 * processed, never pruned, until GitHub redelivers it or `bounty-bot deliveries retry` arms it.
 */
export async function failDelivery(db: Db, id: string, error: string, maxAttempts: number): Promise<"retry" | "parked"> {
  const rows = await db.query<{ parked: boolean }>(
    `UPDATE webhook_inbox SET attempts = attempts + 1, last_error = $2,
       next_attempt_at = now() + make_interval(secs => least(300, power(2, attempts + 1)::int)),
       parked_at = CASE WHEN attempts + 1 >= $3 THEN now() ELSE NULL END,
       outcome = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE NULL END
     WHERE delivery_id = $1 AND processed_at IS NULL AND parked_at IS NULL RETURNING parked_at IS NOT NULL AS parked`,
    [id, error.slice(0, 2000), maxAttempts],
  );
  return rows[0]?.parked ? "parked" : "retry";
}

/** A delivery as an operator sees it. */
export interface DeliveryRecord {
  id: string;
  event: string;
  action: string | null;
  state: "pending" | "retrying" | "parked" | "done" | "ignored" | "duplicate";
  attempts: number;
  receivedAt: Date;
  lastError: string | null;
  duplicateOf: string | null;
  /** Its payload was pruned after INBOX_RETENTION; the tombstone still guards against replays. */
  pruned: boolean;
}

const RECORD = `SELECT delivery_id, event, action, attempts, received_at, processed_at, parked_at, outcome, last_error,
       duplicate_of, payload IS NULL AND duplicate_of IS NULL AND outcome IS DISTINCT FROM 'duplicate' AS pruned
  FROM webhook_inbox`;

function toRecord(r: Record<string, any>): DeliveryRecord {
  const state: DeliveryRecord["state"] =
    r.parked_at !== null
      ? "parked"
      : r.processed_at === null
        ? Number(r.attempts) > 0
          ? "retrying"
          : "pending"
        : r.outcome === "duplicate"
          ? "duplicate"
          : r.outcome === "ignored"
            ? "ignored"
            : "done";
  return {
    id: r.delivery_id,
    event: r.event,
    action: r.action,
    state,
    attempts: Number(r.attempts),
    receivedAt: new Date(r.received_at),
    lastError: r.last_error,
    duplicateOf: r.duplicate_of,
    pruned: Boolean(r.pruned),
  };
}

/** The latest deliveries (newest first), only parked ones with `failed`, or the ones named. */
export async function listDeliveries(db: Db, opts: { failed?: boolean; ids?: string[]; limit?: number } = {}): Promise<DeliveryRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.failed) where.push("parked_at IS NOT NULL");
  if (opts.ids) {
    params.push(opts.ids);
    where.push(`delivery_id = ANY($${params.length}::text[])`);
  }
  params.push(opts.limit ?? 100);
  const rows = await db.query<Record<string, any>>(
    `${RECORD} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY received_at DESC, delivery_id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toRecord);
}

/** Arms parked deliveries again (all of them, or the ones named); returns the ids armed. */
export async function retryDeliveries(db: Db, ids: string[] | "all"): Promise<string[]> {
  const rows = await db.query<{ delivery_id: string }>(
    `UPDATE webhook_inbox SET parked_at = NULL, attempts = 0, next_attempt_at = now(), outcome = NULL
     WHERE parked_at IS NOT NULL ${ids === "all" ? "" : "AND delivery_id = ANY($1::text[])"}
     RETURNING delivery_id`,
    ids === "all" ? [] : [ids],
  );
  return rows.map((r) => r.delivery_id).sort();
}

/**
 * INBOX_RETENTION: processed deliveries older than `olderThanMs` lose their payload but keep a
 * tombstone row, because a captured signed body can be replayed at any time (a signature has no
 * expiry) and only the stored object key recognises it. Duplicate rows guard nothing and are
 * deleted. Parked and unprocessed deliveries are kept whole; the audit log is another table.
 */
export async function pruneInbox(db: Db, olderThanMs: number): Promise<{ pruned: number; deleted: number }> {
  const secs = Math.floor(olderThanMs / 1000);
  const deleted = await db.query(
    `DELETE FROM webhook_inbox WHERE outcome = 'duplicate' AND processed_at < now() - make_interval(secs => $1) RETURNING delivery_id`,
    [secs],
  );
  const pruned = await db.query(
    `UPDATE webhook_inbox SET payload = NULL
     WHERE processed_at IS NOT NULL AND parked_at IS NULL AND payload IS NOT NULL AND processed_at < now() - make_interval(secs => $1)
     RETURNING delivery_id`,
    [secs],
  );
  return { pruned: pruned.length, deleted: deleted.length };
}
