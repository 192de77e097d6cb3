/**
 * Where the bot writes: an issue (or pull request) by number through REST, or a GitHub Discussion
 * by its node id through GraphQL. Replies, reactions and cards go through here, so every writer
 * works in both kinds of thread and none of them tells them apart.
 */
import type { IssueComment, RepoGitHub } from "./client.js";

/** A thread of one repository: its number, and its Discussion node id when it is a Discussion. */
export interface ThreadRef {
  issueNumber: number;
  /** The Discussion's GraphQL node id; null or absent for an issue or pull request. */
  discussionId?: string | null;
}

/** A comment the bot wrote or found: its database id, and its node id in a Discussion. */
export interface CommentRef {
  id: number;
  nodeId: string | null;
}

export type ThreadComment = IssueComment & { nodeId: string | null };

export const isDiscussion = (t: ThreadRef): t is ThreadRef & { discussionId: string } => typeof t.discussionId === "string" && t.discussionId !== "";

export async function listThreadComments(gh: RepoGitHub, t: ThreadRef): Promise<ThreadComment[]> {
  if (isDiscussion(t)) return gh.discussionComments(t.discussionId);
  return (await gh.listComments(t.issueNumber)).map((c) => ({ ...c, nodeId: null }));
}

export async function createThreadComment(gh: RepoGitHub, t: ThreadRef, body: string): Promise<CommentRef> {
  if (isDiscussion(t)) return gh.addDiscussionComment(t.discussionId, body);
  return { id: await gh.createComment(t.issueNumber, body), nodeId: null };
}

export async function updateThreadComment(gh: RepoGitHub, t: ThreadRef, c: CommentRef, body: string): Promise<void> {
  if (!isDiscussion(t)) return gh.updateComment(c.id, body);
  if (c.nodeId === null) throw new Error(`a Discussion comment (${c.id}) without its node id cannot be edited`);
  return gh.updateDiscussionComment(c.nodeId, body);
}

export async function reactInThread(gh: RepoGitHub, t: ThreadRef, c: CommentRef, content: "+1" | "eyes" | "confused"): Promise<void> {
  if (!isDiscussion(t)) return gh.addReaction(c.id, content);
  if (c.nodeId === null) throw new Error(`a Discussion comment (${c.id}) without its node id cannot be reacted to`);
  return gh.addDiscussionReaction(c.nodeId, content);
}

/** A comment's address on github.com, for links in cards. */
export function threadCommentUrl(repo: { owner: string; repo: string }, t: ThreadRef, commentId: number): string {
  return isDiscussion(t)
    ? `https://github.com/${repo.owner}/${repo.repo}/discussions/${t.issueNumber}#discussioncomment-${commentId}`
    : `https://github.com/${repo.owner}/${repo.repo}/issues/${t.issueNumber}#issuecomment-${commentId}`;
}

/** "issue" or "Discussion", for replies that name where they are. */
export const threadNoun = (discussionId: string | null | undefined): string => (discussionId ? "Discussion" : "issue");
