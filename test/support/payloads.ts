import { createRequire } from "node:module";

/** Real GitHub payloads from @octokit/webhooks-examples, with the fields a test cares about replaced. */
const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples/api.github.com/index.json") as Array<{
  name: string;
  examples: Array<Record<string, unknown> & { action?: string }>;
}>;

/** The example for name.action; where the package has none (issues.closed), a sibling with the action set. */
function example(name: string, action: string, sibling?: string): Record<string, any> {
  const of = examples.find((e) => e.name === name)?.examples ?? [];
  const found = of.find((x) => x.action === action) ?? of.find((x) => x.action === sibling);
  if (!found) throw new Error(`no example for ${name}.${action}`);
  return { ...(structuredClone(found) as Record<string, any>), action };
}

export interface Who {
  login: string;
  id: number;
  type?: "User" | "Bot";
}

export const REPO = { id: 186853002, owner: "kubernetes", name: "website", installationId: 2 };

function applyRepo(p: Record<string, any>, repo = REPO): void {
  p.repository.id = repo.id;
  p.repository.name = repo.name;
  p.repository.full_name = `${repo.owner}/${repo.name}`;
  p.repository.owner.login = repo.owner;
  // The examples' owner is a user; REPO.owner (kubernetes) is an organisation.
  p.repository.owner.type = "Organization";
  p.installation = { id: repo.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMg==" };
  p.organization = { ...(p.organization ?? {}), login: repo.owner };
}

function applyUser(target: Record<string, any>, who: Who): void {
  target.login = who.login;
  target.id = who.id;
  target.type = who.type ?? "User";
}

/** GitHub moves an issue's updated_at (and closed_at) on every change; each payload made is a later change. */
let clock = Date.parse("2024-01-01T00:00:00Z");
const tick = () => new Date((clock += 1000)).toISOString().replace(/\.\d{3}Z$/, "Z");

function applyIssue(p: Record<string, any>, issue: IssueSpec): void {
  p.issue.number = issue.number;
  p.issue.updated_at = tick();
  p.issue.closed_at = (issue.state ?? "open") === "closed" ? p.issue.updated_at : null;
  p.issue.title = issue.title ?? `Issue ${issue.number}`;
  p.issue.state = issue.state ?? "open";
  p.issue.state_reason = issue.stateReason ?? null;
  if (issue.pullRequest) {
    p.issue.pull_request = {
      url: `https://api.github.com/repos/${REPO.owner}/${REPO.name}/pulls/${issue.number}`,
      html_url: `https://github.com/${REPO.owner}/${REPO.name}/pull/${issue.number}`,
      diff_url: `https://github.com/${REPO.owner}/${REPO.name}/pull/${issue.number}.diff`,
      patch_url: `https://github.com/${REPO.owner}/${REPO.name}/pull/${issue.number}.patch`,
      merged_at: null,
    };
  } else {
    delete p.issue.pull_request;
  }
}

export interface IssueSpec {
  number: number;
  title?: string;
  state?: "open" | "closed";
  stateReason?: "completed" | "not_planned" | null;
  pullRequest?: boolean;
}

export function commentCreated(o: { issue: IssueSpec; commentId: number; body: string; user: Who }): Record<string, any> {
  const p = example("issue_comment", "created");
  applyRepo(p);
  applyIssue(p, o.issue);
  p.comment.id = o.commentId;
  p.comment.body = o.body;
  applyUser(p.comment.user, o.user);
  applyUser(p.sender, o.user);
  return p;
}

export function commentEdited(o: { issue: IssueSpec; commentId: number; body: string; user: Who }): Record<string, any> {
  const p = example("issue_comment", "edited");
  applyRepo(p);
  applyIssue(p, o.issue);
  p.comment.id = o.commentId;
  p.comment.body = o.body;
  applyUser(p.comment.user, o.user);
  applyUser(p.sender, o.user);
  return p;
}

export function issueClosed(o: { issue: IssueSpec; sender: Who }): Record<string, any> {
  const p = example("issues", "closed", "reopened");
  applyRepo(p);
  applyIssue(p, { state: "closed", ...o.issue });
  applyUser(p.sender, o.sender);
  return p;
}

export function issueLabeled(o: { issue: IssueSpec; label: string; sender: Who; action?: "labeled" | "unlabeled" }): Record<string, any> {
  const p = example("issues", o.action ?? "labeled");
  applyRepo(p);
  applyIssue(p, o.issue);
  p.label = { ...(p.label ?? {}), name: o.label };
  applyUser(p.sender, o.sender);
  return p;
}

export interface PullSpec {
  number: number;
  title?: string;
  body?: string | null;
  author: Who;
  merged?: boolean;
  /** The branch it was merged into; the repository's default branch unless said. */
  baseRef?: string;
}

/** pull_request.closed (merged unless said), as the real example, for the test repository. */
export function pullClosed(o: { pr: PullSpec; sender: Who }): Record<string, any> {
  const p = example("pull_request", "closed");
  applyRepo(p);
  const pr = p.pull_request;
  const merged = o.pr.merged ?? true;
  const at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  p.number = o.pr.number;
  pr.number = o.pr.number;
  pr.title = o.pr.title ?? `Pull request ${o.pr.number}`;
  pr.body = o.pr.body ?? null;
  pr.state = "closed";
  pr.merged = merged;
  pr.merged_at = merged ? at : null;
  pr.closed_at = at;
  pr.merge_commit_sha = merged ? "6dcb09b5b57875f334f61aebed695e2e4193db5e" : null;
  pr.merged_by = merged ? { ...pr.user } : null;
  if (pr.merged_by) applyUser(pr.merged_by, o.sender);
  applyUser(pr.user, o.pr.author);
  pr.base.ref = o.pr.baseRef ?? p.repository.default_branch;
  pr.base.repo.id = REPO.id;
  pr.base.repo.name = REPO.name;
  pr.base.repo.full_name = `${REPO.owner}/${REPO.name}`;
  pr.html_url = `https://github.com/${REPO.owner}/${REPO.name}/pull/${o.pr.number}`;
  applyUser(p.sender, o.sender);
  return p;
}

/** issues.reopened for the test repository. */
export function issueReopened(o: { issue: IssueSpec; sender: Who }): Record<string, any> {
  const p = example("issues", "reopened");
  applyRepo(p);
  applyIssue(p, { state: "open", ...o.issue });
  applyUser(p.sender, o.sender);
  return p;
}

export interface DiscussionSpec {
  number: number;
  /** The Discussion's GraphQL node id. */
  nodeId: string;
  title?: string;
  body?: string;
  state?: "open" | "closed";
  locked?: boolean;
}

function applyDiscussion(p: Record<string, any>, d: DiscussionSpec): void {
  p.discussion.number = d.number;
  p.discussion.node_id = d.nodeId;
  p.discussion.title = d.title ?? `Discussion ${d.number}`;
  p.discussion.body = d.body ?? "";
  p.discussion.state = d.state ?? "open";
  p.discussion.locked = d.locked ?? false;
  p.discussion.html_url = `https://github.com/${REPO.owner}/${REPO.name}/discussions/${d.number}`;
  p.discussion.updated_at = tick();
}

/** discussion_comment.created, as the real example, for the test repository. */
export function discussionCommentCreated(o: { discussion: DiscussionSpec; commentId: number; nodeId: string; body: string; user: Who }): Record<string, any> {
  const p = example("discussion_comment", "created");
  applyRepo(p);
  applyDiscussion(p, o.discussion);
  p.comment.id = o.commentId;
  p.comment.node_id = o.nodeId;
  p.comment.body = o.body;
  p.comment.created_at = tick();
  applyUser(p.comment.user, o.user);
  applyUser(p.sender, o.user);
  return p;
}

/** discussion.answered: `answer` is the comment marked as the Discussion's answer, by `sender`. */
export function discussionAnswered(o: { discussion: DiscussionSpec; answer: { commentId: number; nodeId: string; body: string; user: Who }; sender: Who }): Record<string, any> {
  const p = example("discussion", "answered");
  applyRepo(p);
  applyDiscussion(p, o.discussion);
  p.answer.id = o.answer.commentId;
  p.answer.node_id = o.answer.nodeId;
  p.answer.body = o.answer.body;
  p.answer.created_at = tick();
  applyUser(p.answer.user, o.answer.user);
  applyUser(p.sender, o.sender);
  return p;
}

/** installation (created or new_permissions_accepted) of the test repository's account, with the given permissions. */
export function installationEvent(o: { action: "created" | "new_permissions_accepted"; permissions: Record<string, string> }): Record<string, any> {
  const p = example("installation", o.action, "created");
  p.installation.id = REPO.installationId;
  p.installation.account.login = REPO.owner;
  p.installation.permissions = o.permissions;
  p.sender.login = REPO.owner;
  return p;
}

/** repository.privatized / publicized / renamed for a repository (the test repository unless said); GitHub moves updated_at on each. */
export function repositoryEvent(o: { action: "privatized" | "publicized" | "renamed"; repo?: { id: number; owner: string; name: string }; sender: Who }): Record<string, any> {
  const p = example("repository", o.action);
  applyRepo(p, { ...REPO, ...(o.repo ?? {}) });
  p.repository.private = o.action === "privatized";
  p.repository.updated_at = tick();
  applyUser(p.sender, o.sender);
  return p;
}

/** issues.edited with the title changed from `from`. */
export function issueTitleEdited(o: { issue: IssueSpec; from: string; sender: Who }): Record<string, any> {
  const p = example("issues", "edited");
  applyRepo(p);
  applyIssue(p, o.issue);
  p.changes = { title: { from: o.from } };
  applyUser(p.sender, o.sender);
  return p;
}
