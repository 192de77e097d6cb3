/**
 * Pure rules of the webhook intake: which deliveries bounty-bot acts on, which account a delivery
 * belongs to, and the key of the GitHub object whose effects a delivery carries.
 */

/** The deliveries bounty-bot acts on; everything else is acknowledged and dropped. */
export const HANDLED: Readonly<Record<string, ReadonlySet<string>>> = {
  issue_comment: new Set(["created"]),
  // Commands in a GitHub Discussion's comments (the features act on discussion.answered too).
  discussion_comment: new Set(["created"]),
  issues: new Set(["closed", "reopened", "labeled", "unlabeled"]),
  pull_request: new Set(["closed"]),
};

export function isHandled(event: string, action: string | null | undefined): boolean {
  return HANDLED[event]?.has(action ?? "") ?? false;
}

type Payload = Record<string, any>;

/** The account (user or organisation login) a delivery comes from: the repository's owner, else the installation's account. */
export function deliveryAccount(payload: unknown): string | null {
  const p = (payload ?? {}) as Payload;
  const login = p.repository?.owner?.login ?? p.installation?.account?.login;
  return typeof login === "string" && login !== "" ? login : null;
}

/** Comma-separated logins → their lower-cased set; an empty list is refused by the caller. */
export function parseAccounts(text: string): string[] {
  return [...new Set(text.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean))];
}

const LOGIN = /^[a-z\d](?:[a-z\d]|-(?=[a-z\d])){0,38}$/i;
export function isLogin(text: string): boolean {
  return LOGIN.test(text);
}

/**
 * The GitHub object a delivery acts on, so that a signed body replayed under a fresh delivery id
 * is recognised: effects run once per comment, once per merged pull request, once per label
 * change and once per close or reopen of an issue. GitHub's payloads carry no event id for
 * label, close and reopen events, so the issue's own timestamps (which GitHub moves on each such
 * change) tell one change from the next. Null when the payload lacks what a key needs; such a
 * delivery is guarded by its delivery id alone.
 */
export function objectKey(event: string, action: string | null | undefined, payload: unknown): string | null {
  const p = (payload ?? {}) as Payload;
  const repoId = p.repository?.id;
  if (typeof repoId !== "number") return null;
  const part = (v: unknown): string | null => (typeof v === "number" || (typeof v === "string" && v !== "") ? String(v) : null);
  // JSON, so that a label name with a colon in it cannot make two changes look alike.
  const key = (...parts: Array<string | null>): string | null => (parts.every((x) => x !== null) ? JSON.stringify(parts) : null);
  switch (`${event}.${action ?? ""}`) {
    case "issue_comment.created":
      // Comment ids are unique across GitHub; one comment's commands run once.
      return key("comment", part(p.comment?.id));
    case "discussion_comment.created":
      // Discussion comment ids are GitHub's too, but of another table than issue comments'.
      return key("discussion-comment", part(p.comment?.id));
    case "discussion.answered":
      // A Discussion's answer may be unmarked and marked again: each (Discussion, comment) once.
      return key("discussion-answered", String(repoId), part(p.discussion?.number), part(p.answer?.id));
    case "pull_request.closed": {
      const pr = p.pull_request;
      // A pull request merges once; an unmerged one may be closed again after a reopen.
      if (pr?.merged === true) return key("pr-merged", String(repoId), part(pr.number));
      return key("pr-closed", String(repoId), part(pr?.number), part(pr?.closed_at));
    }
    case "issues.closed":
      return key("issue-closed", String(repoId), part(p.issue?.number), part(p.issue?.closed_at ?? p.issue?.updated_at));
    case "issues.reopened":
      return key("issue-reopened", String(repoId), part(p.issue?.number), part(p.issue?.updated_at));
    case "issues.labeled":
    case "issues.unlabeled":
      return key(`issue-${action}`, String(repoId), part(p.issue?.number), part(p.label?.name), part(p.issue?.updated_at));
    default:
      return null;
  }
}
