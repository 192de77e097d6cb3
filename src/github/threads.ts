/**
 * Where the bot writes: an issue (or pull request) by number through REST, or a GitHub Discussion
 * by its node id through GraphQL. Replies, reactions and cards go through here, so every writer
 * works in both kinds of thread and none of them tells them apart.
 */
import { isDiscussion, type ThreadRef } from "../core/threads.js";
import type { IssueComment, RepoGitHub } from "./client.js";

/** A comment the bot wrote or found: its database id, and its node id in a Discussion. */
export interface CommentRef {
  id: number;
  nodeId: string | null;
}

export type ThreadComment = IssueComment & { nodeId: string | null };

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
