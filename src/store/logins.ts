/**
 * GitHub logins of the people the ledger knows by numeric id, as the app last saw them: from their
 * linked wallet, else from their awards. Logins can change hands; ids cannot, so the ledger keeps ids.
 */
import type { Queryable } from "./db.js";

/** The user ids a login has been seen with (case-insensitive, as GitHub compares logins). */
export async function userIdsOfLogin(db: Queryable, login: string): Promise<number[]> {
  const rows = await db.query<{ id: bigint }>(
    `SELECT user_id AS id FROM wallets WHERE lower(login) = lower($1)
     UNION SELECT recipient_id FROM awards WHERE lower(recipient_login) = lower($1)
     ORDER BY id`,
    [login],
  );
  return rows.map((r) => Number(r.id));
}

/** The latest login seen for each of `ids` (a linked wallet's, else the newest award's). */
export async function loginsOf(db: Queryable, ids: readonly number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.query<{ id: bigint; login: string }>(
    `SELECT u.id, coalesce(w.login, (SELECT a.recipient_login FROM awards a WHERE a.recipient_id = u.id ORDER BY a.id DESC LIMIT 1)) AS login
     FROM unnest($1::bigint[]) AS u (id) LEFT JOIN wallets w ON w.user_id = u.id`,
    [ids.map(String)],
  );
  return new Map(rows.filter((r) => r.login !== null).map((r) => [Number(r.id), r.login]));
}
