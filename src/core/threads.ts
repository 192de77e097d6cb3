/**
 * Which thread a comment is in: an issue (or pull request) by number, or a GitHub Discussion, whose
 * number shares the repository's sequence and whose GraphQL node id is what writes to it. Pure;
 * github/threads.ts writes to either.
 */

/** A thread of one repository: its number, and its Discussion node id when it is a Discussion. */
export interface ThreadRef {
  issueNumber: number;
  /** The Discussion's GraphQL node id; null or absent for an issue or pull request. */
  discussionId?: string | null;
}

export const isDiscussion = (t: ThreadRef): t is ThreadRef & { discussionId: string } => typeof t.discussionId === "string" && t.discussionId !== "";

/** A comment's address on github.com, for links in cards. */
export function threadCommentUrl(repo: { owner: string; repo: string }, t: ThreadRef, commentId: number): string {
  return isDiscussion(t)
    ? `https://github.com/${repo.owner}/${repo.repo}/discussions/${t.issueNumber}#discussioncomment-${commentId}`
    : `https://github.com/${repo.owner}/${repo.repo}/issues/${t.issueNumber}#issuecomment-${commentId}`;
}

/** "issue" or "Discussion", for replies that name where they are. */
export const threadNoun = (discussionId: string | null | undefined): string => (discussionId ? "Discussion" : "issue");
