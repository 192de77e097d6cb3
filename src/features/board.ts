/**
 * The public board (issue 13) as a feature: the /board command, and what the board shows of an
 * issue beyond its bounty, recorded from every issue delivery the app receives: its labels, its
 * GitHub assignees (Prow's /assign sets them; issues.assigned/unassigned are taken in for that),
 * its title when edited, and whether its repository is private (repository.privatized / publicized
 * hide or show it at once, without waiting for the next delivery about one of its issues).
 */
import { board as boardCommand } from "../commands/board.js";
import { extractCommands } from "../core/commands.js";
import { issueOnBoard, recordIssueFacts, recordRepoVisibility, type IssueFacts } from "../store/board.js";
import { setIssueTitle } from "../store/bounties.js";
import type { Feature, FeatureHandler } from "./types.js";

type Payload = Record<string, any>;

/** What a delivery's payload says about its issue and repository; null when it lacks the repository. */
export function issueFacts(payload: unknown): IssueFacts | null {
  const p = (payload ?? {}) as Payload;
  const repo = p.repository;
  if (typeof repo?.id !== "number" || typeof repo.full_name !== "string" || typeof repo.private !== "boolean") return null;
  const issue = p.issue;
  const at = new Date(typeof issue?.updated_at === "string" ? issue.updated_at : Date.now());
  const labels: string[] = Array.isArray(issue?.labels) ? issue.labels.map((l: any) => (typeof l === "string" ? l : l?.name)).filter((n: unknown) => typeof n === "string") : [];
  const assignees = Array.isArray(issue?.assignees)
    ? issue.assignees.filter((a: any) => typeof a?.id === "number" && typeof a?.login === "string").map((a: any) => ({ id: a.id, login: a.login }))
    : [];
  return {
    repoId: repo.id,
    fullName: repo.full_name,
    private: repo.private,
    issueNumber: typeof issue?.number === "number" ? issue.number : null,
    labels,
    assignees,
    htmlUrl: typeof issue?.html_url === "string" && issue.html_url.startsWith("https://") ? issue.html_url : null,
    at: Number.isNaN(at.getTime()) ? new Date() : at,
  };
}

const record: FeatureHandler = async (d, deps) => {
  const facts = issueFacts(d.payload);
  if (!facts) return null;
  if (d.event === "repository") {
    // At the repository's own clock, so deliveries arriving out of order are put back in order.
    const at = Date.parse(((d.payload ?? {}) as Payload).repository?.updated_at ?? "");
    const r = { repoId: facts.repoId, fullName: facts.fullName, private: facts.private, at: Number.isNaN(at) ? new Date() : new Date(at) };
    return async (tx) => {
      await recordRepoVisibility(tx, r);
      return { bountyIds: [] };
    };
  }
  if (d.event === "issues" && d.action === "edited") {
    const p = (d.payload ?? {}) as Payload;
    const title = p.issue?.title;
    // Only a title change matters here; other edits (the description) leave the board as it is.
    if (typeof p.changes?.title?.from !== "string" || typeof title !== "string" || facts.issueNumber === null) return null;
    const number = facts.issueNumber;
    if (!(await issueOnBoard(deps.db, facts.repoId, number))) return null;
    return async (tx) => {
      await recordIssueFacts(tx, facts);
      await setIssueTitle(tx, facts.repoId, number, title);
      return { bountyIds: [] };
    };
  }
  // Most comments are on issues the board does not show: record only those that carry a slash
  // command (which may place a bounty, a question or a survey, or be Prow's /assign) or are on an
  // issue the board shows.
  if (d.event === "issue_comment") {
    const body = ((d.payload ?? {}) as Payload).comment?.body;
    const commands = extractCommands(typeof body === "string" ? body : null).length > 0;
    if (!commands && (facts.issueNumber === null || !(await issueOnBoard(deps.db, facts.repoId, facts.issueNumber)))) return null;
  }
  return async (tx) => {
    await recordIssueFacts(tx, facts);
    return { bountyIds: [] };
  };
};

/** An assignment changes the issue's updated_at; the assignee tells two changes of one moment apart. */
const assignmentKey = (action: string) => (payload: unknown): string | null => {
  const p = (payload ?? {}) as Payload;
  const parts = [p.repository?.id, p.issue?.number, p.assignee?.id, p.issue?.updated_at];
  return parts.every((x) => typeof x === "number" || (typeof x === "string" && x !== "")) ? JSON.stringify([`issue-${action}`, ...parts.map(String)]) : null;
};

/** A title edit moves the issue's updated_at; a repository's visibility change, its own. */
const editKey = (payload: unknown): string | null => {
  const p = (payload ?? {}) as Payload;
  const parts = [p.repository?.id, p.issue?.number, p.issue?.updated_at];
  return parts.every((x) => typeof x === "number" || (typeof x === "string" && x !== "")) ? JSON.stringify(["issue-edited", ...parts.map(String)]) : null;
};
const visibilityKey = (action: string) => (payload: unknown): string | null => {
  const p = (payload ?? {}) as Payload;
  const parts = [p.repository?.id, p.repository?.updated_at];
  return parts.every((x) => typeof x === "number" || (typeof x === "string" && x !== "")) ? JSON.stringify([`repo-${action}`, ...parts.map(String)]) : null;
};

export const board: Feature = {
  name: "board",
  commands: [boardCommand],
  events: [
    { on: "issues.assigned", handle: record, objectKey: assignmentKey("assigned") },
    { on: "issues.unassigned", handle: record, objectKey: assignmentKey("unassigned") },
    { on: "issues.edited", handle: record, objectKey: editKey },
    // A replayed old "publicized" must not show a repository made private since: keyed, so it is a duplicate.
    ...["privatized", "publicized", "renamed"].map((action) => ({ on: `repository.${action}`, handle: record, objectKey: visibilityKey(action) })),
    ...["issues.labeled", "issues.unlabeled", "issues.closed", "issues.reopened", "issue_comment.created"].map((on) => ({ on, handle: record })),
  ],
};
