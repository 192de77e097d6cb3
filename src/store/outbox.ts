import type { ThreadRef } from "../core/threads.js";
import type { Db, Queryable } from "./db.js";

export interface RepoRef {
  installationId: number;
  owner: string;
  repo: string;
}

/** An issue by number, or a Discussion: its number and GraphQL node id (core/threads.ts). */
export interface ThreadWhere extends RepoRef, ThreadRef {}

export interface OutboxItem extends RepoRef {
  id: bigint;
  kind: "reply" | "reaction";
  issueNumber: number;
  discussionId: string | null;
  commentId: number | null;
  commentNodeId: string | null;
  body: string;
  attempts: number;
}

/** Queues a comment on an issue or a Discussion; the same dedupe key never queues twice. */
export async function queueReply(tx: Queryable, dedupeKey: string, where: ThreadWhere, body: string): Promise<void> {
  await tx.query(
    `INSERT INTO outbox (dedupe_key, installation_id, repo_owner, repo_name, kind, issue_number, discussion_id, body)
     VALUES ($1, $2, $3, $4, 'reply', $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING`,
    [dedupeKey, where.installationId, where.owner, where.repo, where.issueNumber, where.discussionId ?? null, body],
  );
}

/** Queues a reaction (e.g. "+1") on a comment; a Discussion comment is reacted to by its node id. */
export async function queueReaction(
  tx: Queryable,
  dedupeKey: string,
  where: ThreadWhere & { commentId: number; commentNodeId?: string | null },
  content: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO outbox (dedupe_key, installation_id, repo_owner, repo_name, kind, issue_number, discussion_id, comment_id, comment_node_id, body)
     VALUES ($1, $2, $3, $4, 'reaction', $5, $6, $7, $8, $9) ON CONFLICT (dedupe_key) DO NOTHING`,
    [dedupeKey, where.installationId, where.owner, where.repo, where.issueNumber, where.discussionId ?? null, where.commentId, where.commentNodeId ?? null, content],
  );
}

export async function pendingOutbox(db: Db, limit = 50): Promise<OutboxItem[]> {
  const rows = await db.query<{
    id: bigint;
    installation_id: bigint;
    repo_owner: string;
    repo_name: string;
    kind: "reply" | "reaction";
    issue_number: number;
    discussion_id: string | null;
    comment_id: bigint | null;
    comment_node_id: string | null;
    body: string;
    attempts: number;
  }>(
    `SELECT id, installation_id, repo_owner, repo_name, kind, issue_number, discussion_id, comment_id, comment_node_id, body, attempts
     FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= now() ORDER BY id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    installationId: Number(r.installation_id),
    owner: r.repo_owner,
    repo: r.repo_name,
    kind: r.kind,
    issueNumber: Number(r.issue_number),
    discussionId: r.discussion_id,
    commentId: r.comment_id === null ? null : Number(r.comment_id),
    commentNodeId: r.comment_node_id,
    body: r.body,
    attempts: Number(r.attempts),
  }));
}

/**
 * Claims an item so that only one sender posts it. The claim is a short lease: a sender that
 * dies mid-send leaves the item to be retried after the lease, never posted twice at once.
 */
export async function claimOutbox(db: Db, id: bigint, leaseSeconds = 120): Promise<boolean> {
  const rows = await db.query(
    `UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2)
     WHERE id = $1 AND sent_at IS NULL AND next_attempt_at <= now() RETURNING id`,
    [id, leaseSeconds],
  );
  return rows.length === 1;
}

export async function markSent(db: Db, id: bigint): Promise<void> {
  await db.query("UPDATE outbox SET sent_at = now(), last_error = NULL WHERE id = $1", [id]);
}

/** A failed send is retried with backoff; after maxAttempts it stays unsent with its error. */
export async function markFailed(db: Db, id: bigint, error: string, maxAttempts: number): Promise<void> {
  await db.query(
    `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
       next_attempt_at = CASE WHEN attempts + 1 >= $3 THEN 'infinity'::timestamptz
                              ELSE now() + make_interval(secs => least(600, power(2, attempts + 1)::int)) END
     WHERE id = $1`,
    [id, error.slice(0, 2000), maxAttempts],
  );
}
