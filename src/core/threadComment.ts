/**
 * A comment in a thread, read from the payload that carried it: `issue_comment.created` (an issue
 * or pull request), `discussion_comment.created` (a GitHub Discussion) or `discussion.answered`
 * (the Discussion's accepted answer). Commands, answers and survey responses read this one shape,
 * so each works in issues and in Discussions with the same rules. Pure.
 */

export interface Commenter {
  id: number;
  login: string;
  type: string;
}

export interface ThreadCommentEvent {
  installationId: number;
  /** ownerType: "Organization" or "User" (GitHub's repository.owner.type), "" when not said. */
  repository: { id: number; name: string; owner: string; ownerType: string };
  thread: {
    number: number;
    title: string;
    state: string;
    /** The issue's or Discussion's description (a survey's questions). */
    body: string;
    isPullRequest: boolean;
    /** The Discussion's node id; null for an issue or pull request. */
    discussionId: string | null;
  };
  comment: { id: number; nodeId: string | null; body: string | null; createdAt: Date | null; user: Commenter };
  /** discussion.answered: the comment was marked the Discussion's answer. */
  accepted: boolean;
}

type Raw = Record<string, any>;

const num = (v: unknown): number | null => (typeof v === "number" && Number.isSafeInteger(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function commenter(u: Raw | null | undefined): Commenter | null {
  const id = num(u?.id);
  const login = str(u?.login);
  return id !== null && login ? { id, login, type: str(u?.type) ?? "User" } : null;
}

function commentOf(c: Raw | null | undefined): ThreadCommentEvent["comment"] | null {
  const id = num(c?.id);
  const user = commenter(c?.user);
  if (id === null || !user) return null;
  const at = str(c?.created_at);
  const createdAt = at && !Number.isNaN(Date.parse(at)) ? new Date(at) : null;
  return { id, nodeId: str(c?.node_id), body: str(c?.body), createdAt, user };
}

/** The comment event of a delivery, or null when it is not one (or lacks what is read). */
export function threadComment(event: string, payload: unknown): ThreadCommentEvent | null {
  const p = (payload ?? {}) as Raw;
  const installationId = num(p.installation?.id);
  const repoId = num(p.repository?.id);
  const name = str(p.repository?.name);
  const owner = str(p.repository?.owner?.login);
  if (installationId === null || repoId === null || !name || !owner) return null;
  const repository = { id: repoId, name, owner, ownerType: str(p.repository?.owner?.type) ?? "" };
  if (event === "issue_comment" && p.action === "created") {
    const number = num(p.issue?.number);
    const comment = commentOf(p.comment);
    if (number === null || !comment) return null;
    return {
      installationId,
      repository,
      thread: {
        number,
        title: str(p.issue.title) ?? "",
        state: str(p.issue.state) ?? "open",
        body: str(p.issue.body) ?? "",
        isPullRequest: Boolean(p.issue.pull_request),
        discussionId: null,
      },
      comment,
      accepted: false,
    };
  }
  const discussion = p.discussion as Raw | undefined;
  const number = num(discussion?.number);
  const discussionId = str(discussion?.node_id);
  if (number === null || !discussionId) return null;
  const thread = {
    number,
    title: str(discussion!.title) ?? "",
    // A locked Discussion takes no comments: like a closed issue.
    state: discussion!.locked === true ? "locked" : (str(discussion!.state) ?? "open"),
    body: str(discussion!.body) ?? "",
    isPullRequest: false,
    discussionId,
  };
  if (event === "discussion_comment" && p.action === "created") {
    const comment = commentOf(p.comment);
    return comment ? { installationId, repository, thread, comment, accepted: false } : null;
  }
  if (event === "discussion" && p.action === "answered") {
    const comment = commentOf(p.answer);
    return comment ? { installationId, repository, thread, comment, accepted: true } : null;
  }
  return null;
}
