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
 * Stores a delivery before GitHub is answered. Returns false for a delivery id seen before
 * (GitHub's redeliveries keep the id), which is then never processed again.
 */
export async function storeDelivery(
  db: Db,
  d: { id: string; event: string; action?: string | null; installationId?: number | null; payload: unknown },
): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO webhook_inbox (delivery_id, event, action, installation_id, payload)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id`,
    [d.id, d.event, d.action ?? null, d.installationId ?? null, JSON.stringify(d.payload)],
  );
  return rows.length === 1;
}

/** Deliveries due for processing, oldest first. */
export async function pendingDeliveries(db: Db, limit = 100): Promise<Delivery[]> {
  const rows = await db.query<{
    delivery_id: string;
    event: string;
    action: string | null;
    installation_id: bigint | null;
    payload: unknown;
    attempts: number;
  }>(
    `SELECT delivery_id, event, action, installation_id, payload, attempts FROM webhook_inbox
     WHERE processed_at IS NULL AND next_attempt_at <= now()
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
     WHERE delivery_id = $1 AND processed_at IS NULL RETURNING delivery_id`,
    [id, outcome.slice(0, 500)],
  );
  return rows.length === 1;
}

/** Records a failed attempt; after maxAttempts the delivery is given up (kept, with its error). */
export async function failDelivery(db: Db, id: string, error: string, maxAttempts: number): Promise<"retry" | "gave-up"> {
  const rows = await db.query<{ attempts: number }>(
    `UPDATE webhook_inbox SET attempts = attempts + 1, last_error = $2,
       next_attempt_at = now() + make_interval(secs => least(300, power(2, attempts + 1)::int)),
       processed_at = CASE WHEN attempts + 1 >= $3 THEN now() ELSE NULL END,
       outcome = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE NULL END
     WHERE delivery_id = $1 AND processed_at IS NULL RETURNING attempts`,
    [id, error.slice(0, 2000), maxAttempts],
  );
  return rows.length === 1 && Number(rows[0]!.attempts) >= maxAttempts ? "gave-up" : "retry";
}
