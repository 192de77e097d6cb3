/**
 * Cards keyed by what they show (`question:<id>`, later `survey:<id>`): one bot comment each,
 * edited in place. A change bumps `version`; the syncer holding the lease edits until the version
 * it showed is the latest (the bounty card keeps the same fields on its bounties row).
 */
import type { Db, Queryable } from "./db.js";
import type { ThreadWhere } from "./outbox.js";

export interface CardRow {
  key: string;
  installationId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  /** The Discussion's node id when the card is in a Discussion; null in an issue. */
  discussionId: string | null;
  commentId: number | null;
  /** In a Discussion: the card comment's node id (GraphQL edits by it). */
  commentNodeId: string | null;
  version: bigint;
  syncedVersion: bigint;
}

type Raw = {
  key: string;
  installation_id: bigint;
  repo_owner: string;
  repo_name: string;
  issue_number: number;
  discussion_id: string | null;
  comment_id: bigint | null;
  comment_node_id: string | null;
  version: bigint;
  synced_version: bigint;
};

const toCard = (r: Raw): CardRow => ({
  key: r.key,
  installationId: Number(r.installation_id),
  owner: r.repo_owner,
  repo: r.repo_name,
  issueNumber: Number(r.issue_number),
  discussionId: r.discussion_id,
  commentId: r.comment_id === null ? null : Number(r.comment_id),
  commentNodeId: r.comment_node_id,
  version: BigInt(r.version),
  syncedVersion: BigInt(r.synced_version),
});

/** Marks a card changed (creating its row on first use), in the caller's transaction. */
export async function touchCard(tx: Queryable, key: string, where: ThreadWhere): Promise<void> {
  await tx.query(
    `INSERT INTO cards (key, installation_id, repo_owner, repo_name, issue_number, discussion_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (key) DO UPDATE SET version = cards.version + 1, updated_at = now()`,
    [key, where.installationId, where.owner, where.repo, where.issueNumber, where.discussionId ?? null],
  );
}

export async function getCard(db: Queryable, key: string): Promise<CardRow | null> {
  const [r] = await db.query<Raw>("SELECT * FROM cards WHERE key = $1", [key]);
  return r ? toCard(r) : null;
}

/** One syncer at a time (across processes) edits a card. */
export async function leaseCard(db: Db, key: string, seconds: number): Promise<boolean> {
  const rows = await db.query(
    `UPDATE cards SET lease_until = now() + make_interval(secs => $2)
     WHERE key = $1 AND (lease_until IS NULL OR lease_until < now()) RETURNING key`,
    [key, seconds],
  );
  return rows.length === 1;
}

/** The version shown, and the comment that shows it (null: nothing shown, the comment kept as it was). */
export async function recordCardSynced(db: Db, key: string, v: { version: bigint; commentId: number | null; commentNodeId?: string | null }): Promise<void> {
  await db.query(
    `UPDATE cards SET synced_version = greatest(synced_version, $2), comment_id = coalesce($3, comment_id),
       comment_node_id = coalesce($4, comment_node_id) WHERE key = $1`,
    [key, v.version, v.commentId, v.commentNodeId ?? null],
  );
}

/** Gives the lease back only if nothing changed since the version just shown (else the holder edits again). */
export async function releaseCard(db: Db, key: string): Promise<boolean> {
  const rows = await db.query("UPDATE cards SET lease_until = NULL WHERE key = $1 AND synced_version >= version RETURNING key", [key]);
  return rows.length === 1;
}

/** After a failure: the next sweep tries again. */
export async function abandonCard(db: Db, key: string): Promise<void> {
  await db.query("UPDATE cards SET lease_until = now() + interval '30 seconds' WHERE key = $1", [key]);
}

/** Cards whose latest change is not shown yet and that nobody is editing. */
export async function staleCards(db: Queryable, limit = 100): Promise<string[]> {
  const rows = await db.query<{ key: string }>(
    `SELECT key FROM cards WHERE synced_version < version AND (lease_until IS NULL OR lease_until < now())
     ORDER BY updated_at LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.key);
}
