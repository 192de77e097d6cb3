/**
 * Webhook payload builders shaped like GitHub's. Each one starts from a real
 * recorded payload in @octokit/webhooks-examples (a devDependency: this module
 * is for tests, the benchmark and the offline demo, never for production) and
 * overrides the repository, installation, issue/PR, comment, label and sender,
 * keeping every other field the example has.
 *
 * The examples ship no `issues.closed` payload; `issuesClosed` starts from the
 * `issues.labeled` example (same envelope: action, issue, repository,
 * organization, sender, installation) and drops `label`.
 *
 * User, organization and repository ids default to the same deterministic
 * values the GitHub stand-in assigns (see ids.ts), so payloads and stand-in
 * agree without passing ids around.
 */
import { createRequire } from "node:module";
import type { EmitterWebhookEvent } from "@octokit/webhooks";
import type { Comment, Issue } from "./github.js";
import { defaultAccountId, defaultIssueId, defaultRepoId, githubTime, nodeId } from "./ids.js";

export type AuthorAssociation = "OWNER" | "MEMBER" | "COLLABORATOR" | "CONTRIBUTOR" | "FIRST_TIMER" | "FIRST_TIME_CONTRIBUTOR" | "MANNEQUIN" | "NONE";

/** A GitHub account; `id` defaults to the stand-in's deterministic id for the login. */
export interface AccountInput {
  login: string;
  id?: number;
  type?: "User" | "Bot";
}
export type Actor = string | AccountInput;

export interface LabelInput {
  name: string;
  id?: number;
  color?: string;
  description?: string | null;
  default?: boolean;
}

export interface IssueInput {
  number: number;
  title?: string;
  body?: string | null;
  author: Actor;
  /** True when the issue is a pull request (adds `issue.pull_request`, html_url under /pull/). */
  pull_request?: boolean;
  /** For pull requests: when it was merged, if it was. */
  merged_at?: string | null;
  id?: number;
  labels?: Array<string | LabelInput>;
  assignees?: Actor[];
  state?: "open" | "closed";
  state_reason?: "completed" | "not_planned" | "reopened" | null;
  comments?: number;
  author_association?: AuthorAssociation;
  created_at?: string;
  updated_at?: string;
  closed_at?: string | null;
}

export interface RepoOptions {
  /** "owner/name" */
  repo: string;
  installationId: number;
  repoId?: number;
  /** Default "Organization" (adds the `organization` key, as GitHub does for org-owned repositories). */
  ownerType?: "Organization" | "User";
  private?: boolean;
  defaultBranch?: string;
  /** Rewrite github.com URLs, e.g. { api: standIn.apiUrl, web: standIn.url }. */
  urls?: { api?: string; web?: string };
}

export interface CommentInput {
  id: number;
  body: string;
  user: AccountInput;
  created_at?: string;
  updated_at?: string;
  author_association?: AuthorAssociation;
}

export interface PullRequestInput {
  number: number;
  title?: string;
  body?: string | null;
  author: Actor;
  merged: boolean;
  merged_by?: Actor;
  id?: number;
  labels?: Array<string | LabelInput>;
  head_ref?: string;
  author_association?: AuthorAssociation;
  created_at?: string;
  closed_at?: string;
}

export type IssueCommentCreatedPayload = EmitterWebhookEvent<"issue_comment.created">["payload"];
export type IssuesClosedPayload = EmitterWebhookEvent<"issues.closed">["payload"];
export type IssuesLabeledPayload = EmitterWebhookEvent<"issues.labeled">["payload"];
export type IssuesUnlabeledPayload = EmitterWebhookEvent<"issues.unlabeled">["payload"];
export type PullRequestClosedPayload = EmitterWebhookEvent<"pull_request.closed">["payload"];

// ---------------------------------------------------------------------------
// Example templates
// ---------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

interface Definition {
  name: string;
  examples: Obj[];
}

const EXAMPLE_REPO = "Codertocat/Hello-World";

let templates: Record<string, Obj> | undefined;

/** The recorded example each builder starts from (a fresh deep copy). */
export function exampleFor(event: "issue_comment.created" | "issues.labeled" | "issues.unlabeled" | "pull_request.closed"): Obj {
  if (!templates) {
    const require = createRequire(import.meta.url);
    const defs = require("@octokit/webhooks-examples") as Definition[];
    const pick = (name: string, action: string): Obj => {
      const all = defs.find((d) => d.name === name)?.examples.filter((e) => e.action === action) ?? [];
      // Prefer the richest envelope: organization-owned repository delivered to an installation.
      const best = all.find((e) => "organization" in e && "installation" in e) ?? all.find((e) => "organization" in e) ?? all[0];
      if (!best) throw new Error(`@octokit/webhooks-examples has no ${name}.${action} example`);
      return best;
    };
    templates = {
      "issue_comment.created": pick("issue_comment", "created"),
      "issues.labeled": pick("issues", "labeled"),
      "issues.unlabeled": pick("issues", "unlabeled"),
      "pull_request.closed": pick("pull_request", "closed"),
    };
  }
  return structuredClone(templates[event]!);
}

function mapStrings(value: Json, fn: (s: string) => string): Json {
  if (typeof value === "string") return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value && typeof value === "object") {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v, fn);
    return out;
  }
  return value;
}

function hosts(o: RepoOptions): { api: string; web: string } {
  return { api: (o.urls?.api ?? "https://api.github.com").replace(/\/+$/, ""), web: (o.urls?.web ?? "https://github.com").replace(/\/+$/, "") };
}

function rehost(value: Json, o: RepoOptions): Json {
  const h = hosts(o);
  if (h.api === "https://api.github.com" && h.web === "https://github.com") return value;
  return mapStrings(value, (s) => s.replace(/^https:\/\/api\.github\.com/, h.api).replace(/^https?:\/\/github\.com/, h.web));
}

function toAccount(a: Actor): Required<AccountInput> {
  const x = typeof a === "string" ? { login: a } : a;
  return { login: x.login, id: x.id ?? defaultAccountId(x.login), type: x.type ?? (x.login.endsWith("[bot]") ? "Bot" : "User") };
}

/** A webhook user object with exactly the example's fields. */
function userObject(a: Actor): Obj {
  const { login, id, type } = toAccount(a);
  const u = `https://api.github.com/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: nodeId(type === "Bot" ? "Bot" : "User", id),
    avatar_url: `https://avatars.githubusercontent.com/${type === "Bot" ? "in" : "u"}/${id}?v=4`,
    gravatar_id: "",
    url: u,
    html_url: type === "Bot" ? `https://github.com/apps/${login.replace(/\[bot\]$/, "")}` : `https://github.com/${login}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type,
    site_admin: false,
  };
}

function orgObject(login: string): Obj {
  const id = defaultAccountId(login);
  const u = `https://api.github.com/orgs/${login}`;
  return {
    login,
    id,
    node_id: nodeId("Organization", id),
    url: u,
    repos_url: `${u}/repos`,
    events_url: `${u}/events`,
    hooks_url: `${u}/hooks`,
    issues_url: `${u}/issues`,
    members_url: `${u}/members{/member}`,
    public_members_url: `${u}/public_members{/member}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    description: "",
  };
}

function splitRepo(full: string): { owner: string; name: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(full);
  if (!m) throw new Error(`repo must be "owner/name", got ${JSON.stringify(full)}`);
  return { owner: m[1]!, name: m[2]! };
}

function labelObject(repo: string, l: string | LabelInput): Obj {
  const x = typeof l === "string" ? { name: l } : l;
  const id = x.id ?? 5_000_000_000 + (defaultAccountId(`label:${repo}:${x.name.toLowerCase()}`) % 1_000_000_000);
  return {
    id,
    node_id: nodeId("Label", id),
    url: `https://api.github.com/repos/${repo}/labels/${encodeURIComponent(x.name)}`,
    name: x.name,
    color: x.color ?? "ededed",
    default: x.default ?? false,
    description: x.description ?? null,
  };
}

/** Rewrites repository, organization, installation and sender of an example envelope. */
function envelope(example: Obj, o: RepoOptions, sender: Actor): Obj {
  const { owner, name } = splitRepo(o.repo);
  const ownerType = o.ownerType ?? "Organization";
  const out = mapStrings(example, (s) => s.split(EXAMPLE_REPO).join(o.repo)) as Obj;
  const repo = out.repository as Obj;
  const repoId = o.repoId ?? defaultRepoId(o.repo);
  const ownerObj = ownerType === "Organization" ? { ...userObject(owner), node_id: nodeId("Organization", defaultAccountId(owner)), type: "Organization" } : userObject(owner);
  Object.assign(repo, {
    id: repoId,
    node_id: nodeId("Repository", repoId),
    name,
    full_name: o.repo,
    private: o.private ?? false,
    owner: ownerObj,
    default_branch: o.defaultBranch ?? "main",
  });
  if ("visibility" in repo) repo.visibility = o.private ? "private" : "public";
  if ("master_branch" in repo) repo.master_branch = o.defaultBranch ?? "main";
  if (ownerType === "Organization") out.organization = orgObject(owner);
  else delete out.organization;
  out.installation = { id: o.installationId, node_id: nodeId("IntegrationInstallation", o.installationId) };
  out.sender = userObject(sender);
  // Keep GitHub's key order: action first, then the subject, then the envelope.
  const ordered: Obj = {};
  for (const k of Object.keys(out)) if (!["repository", "organization", "sender", "installation"].includes(k)) ordered[k] = out[k]!;
  ordered.repository = out.repository!;
  if (out.organization) ordered.organization = out.organization;
  ordered.sender = out.sender;
  ordered.installation = out.installation;
  return ordered;
}

function renumber(value: Json, from: number, to: number): Json {
  const re = new RegExp(`(/(?:issues|pulls|pull)/)${from}(?=$|[^0-9])`, "g");
  return mapStrings(value, (s) => s.replace(re, `$1${to}`));
}

function issueObject(template: Obj, o: RepoOptions, i: IssueInput): Obj {
  const now = githubTime();
  const from = template.number as number;
  const issue = renumber(template, from, i.number) as Obj;
  const id = i.id ?? defaultIssueId(o.repo, i.number);
  const state = i.state ?? "open";
  const assignees = (i.assignees ?? []).map(userObject);
  const apiIssue = `https://api.github.com/repos/${o.repo}/issues/${i.number}`;
  Object.assign(issue, {
    url: apiIssue,
    repository_url: `https://api.github.com/repos/${o.repo}`,
    labels_url: `${apiIssue}/labels{/name}`,
    comments_url: `${apiIssue}/comments`,
    events_url: `${apiIssue}/events`,
    html_url: `https://github.com/${o.repo}/${i.pull_request ? "pull" : "issues"}/${i.number}`,
    id,
    node_id: nodeId(i.pull_request ? "PullRequest" : "Issue", id),
    number: i.number,
    title: i.title ?? `Issue ${i.number}`,
    user: userObject(i.author),
    labels: (i.labels ?? []).map((l) => labelObject(o.repo, l)),
    state,
    locked: false,
    assignee: assignees[0] ?? null,
    assignees,
    milestone: null,
    comments: i.comments ?? 0,
    created_at: i.created_at ?? now,
    updated_at: i.updated_at ?? now,
    closed_at: state === "closed" ? (i.closed_at ?? now) : null,
    author_association: i.author_association ?? "NONE",
    body: i.body ?? null,
    state_reason: i.state_reason ?? (state === "closed" ? "completed" : null),
  });
  issue.timeline_url = `${apiIssue}/timeline`; // current payloads carry it; the 2019 examples predate it
  if ("reactions" in issue) (issue.reactions as Obj).url = `${apiIssue}/reactions`;
  if ("performed_via_github_app" in issue) issue.performed_via_github_app = null;
  if (i.pull_request) {
    issue.draft = false;
    issue.pull_request = {
      url: `https://api.github.com/repos/${o.repo}/pulls/${i.number}`,
      html_url: `https://github.com/${o.repo}/pull/${i.number}`,
      diff_url: `https://github.com/${o.repo}/pull/${i.number}.diff`,
      patch_url: `https://github.com/${o.repo}/pull/${i.number}.patch`,
      merged_at: i.merged_at ?? null,
    };
  } else {
    delete issue.pull_request;
  }
  return issue;
}

// ---------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------

/** `issue_comment` / `created`. The sender defaults to the comment's author. */
export function issueCommentCreated(o: RepoOptions & { issue: IssueInput; comment: CommentInput; sender?: Actor }): IssueCommentCreatedPayload {
  const ex = exampleFor("issue_comment.created");
  const out = envelope(ex, o, o.sender ?? o.comment.user);
  out.issue = issueObject(out.issue as Obj, o, o.issue);
  const c = out.comment as Obj;
  const now = githubTime();
  const api = `https://api.github.com/repos/${o.repo}/issues/comments/${o.comment.id}`;
  Object.assign(c, {
    url: api,
    html_url: `https://github.com/${o.repo}/${o.issue.pull_request ? "pull" : "issues"}/${o.issue.number}#issuecomment-${o.comment.id}`,
    issue_url: `https://api.github.com/repos/${o.repo}/issues/${o.issue.number}`,
    id: o.comment.id,
    node_id: nodeId("IssueComment", o.comment.id),
    user: userObject(o.comment.user),
    created_at: o.comment.created_at ?? now,
    updated_at: o.comment.updated_at ?? o.comment.created_at ?? now,
    author_association: o.comment.author_association ?? "NONE",
    body: o.comment.body,
    performed_via_github_app: null,
  });
  if ("reactions" in c) (c.reactions as Obj).url = `${api}/reactions`;
  return rehost(out, o) as unknown as IssueCommentCreatedPayload;
}

/** `issues` / `closed` (built on the labeled example's envelope; GitHub's examples lack a closed one). */
export function issuesClosed(o: RepoOptions & { issue: IssueInput; state_reason: "completed" | "not_planned"; sender: Actor }): IssuesClosedPayload {
  const ex = exampleFor("issues.labeled");
  const out = envelope(ex, o, o.sender);
  delete out.label;
  out.action = "closed";
  out.issue = issueObject(out.issue as Obj, o, { ...o.issue, state: "closed", state_reason: o.state_reason });
  return rehost(out, o) as unknown as IssuesClosedPayload;
}

function labeledLike(action: "labeled" | "unlabeled", o: RepoOptions & { issue: IssueInput; label: string | LabelInput; sender: Actor }): Obj {
  const ex = exampleFor(action === "labeled" ? "issues.labeled" : "issues.unlabeled");
  const out = envelope(ex, o, o.sender);
  const label = labelObject(o.repo, o.label);
  const names = (o.issue.labels ?? []).map((l) => (typeof l === "string" ? l : l.name).toLowerCase());
  let labels = o.issue.labels ?? [];
  // The issue in the payload already reflects the change, as on GitHub.
  if (action === "labeled" && !names.includes(String(label.name).toLowerCase())) labels = [...labels, o.label];
  if (action === "unlabeled") labels = labels.filter((l) => (typeof l === "string" ? l : l.name).toLowerCase() !== String(label.name).toLowerCase());
  out.issue = issueObject(out.issue as Obj, o, { ...o.issue, labels });
  out.label = label;
  return out;
}

/** `issues` / `labeled`; `issue.labels` will include the new label. */
export function issuesLabeled(o: RepoOptions & { issue: IssueInput; label: string | LabelInput; sender: Actor }): IssuesLabeledPayload {
  return rehost(labeledLike("labeled", o), o) as unknown as IssuesLabeledPayload;
}

/** `issues` / `unlabeled`; `issue.labels` will no longer include the label. */
export function issuesUnlabeled(o: RepoOptions & { issue: IssueInput; label: string | LabelInput; sender: Actor }): IssuesUnlabeledPayload {
  return rehost(labeledLike("unlabeled", o), o) as unknown as IssuesUnlabeledPayload;
}

/** `pull_request` / `closed`, merged or not. */
export function pullRequestClosed(o: RepoOptions & { pull_request: PullRequestInput; sender: Actor }): PullRequestClosedPayload {
  const ex = exampleFor("pull_request.closed");
  const out = envelope(ex, o, o.sender);
  const pr = o.pull_request;
  const from = (out.pull_request as Obj).number as number;
  const p = renumber(out.pull_request as Obj, from, pr.number) as Obj;
  const now = githubTime();
  const id = pr.id ?? defaultIssueId(o.repo, pr.number);
  const { owner } = splitRepo(o.repo);
  const sha = (p.head as Obj).sha as string;
  const headRef = pr.head_ref ?? `pr-${pr.number}`;
  Object.assign(p, {
    id,
    node_id: nodeId("PullRequest", id),
    number: pr.number,
    state: "closed",
    title: pr.title ?? `Pull request ${pr.number}`,
    user: userObject(pr.author),
    body: pr.body ?? null,
    created_at: pr.created_at ?? now,
    updated_at: pr.closed_at ?? now,
    closed_at: pr.closed_at ?? now,
    merged_at: pr.merged ? (pr.closed_at ?? now) : null,
    merge_commit_sha: pr.merged ? p.merge_commit_sha : null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    labels: (pr.labels ?? []).map((l) => labelObject(o.repo, l)),
    milestone: null,
    author_association: pr.author_association ?? "NONE",
    merged: pr.merged,
    mergeable: null,
    rebaseable: null,
    mergeable_state: "unknown",
    merged_by: pr.merged ? userObject(pr.merged_by ?? o.sender) : null,
  });
  const repoObj = out.repository as Obj;
  const branch = (ref: string, s: string): Obj => ({ label: `${owner}:${ref}`, ref, sha: s, user: repoObj.owner!, repo: structuredClone(repoObj) });
  p.head = branch(headRef, sha);
  p.base = branch(o.defaultBranch ?? "main", ((ex.pull_request as Obj).base as Obj).sha as string);
  out.number = pr.number;
  out.pull_request = p;
  return rehost(out, o) as unknown as PullRequestClosedPayload;
}

// ---------------------------------------------------------------------------
// Bridges from stand-in objects
// ---------------------------------------------------------------------------

/** Describes a stand-in issue (from `addIssue`/`issue()`) for the builders above. */
export function issueInputFrom(issue: Issue): IssueInput {
  return {
    number: issue.number,
    id: issue.id,
    title: issue.title,
    body: issue.body,
    author: { login: issue.user.login, id: issue.user.id, type: issue.user.type === "Bot" ? "Bot" : "User" },
    pull_request: issue.pull_request !== undefined,
    merged_at: issue.pull_request?.merged_at ?? null,
    labels: issue.labels.map((l) => ({ name: l.name, id: l.id, color: l.color, description: l.description, default: l.default })),
    assignees: issue.assignees.map((a) => ({ login: a.login, id: a.id })),
    state: issue.state,
    state_reason: issue.state_reason,
    comments: issue.comments,
    author_association: issue.author_association,
    created_at: issue.created_at,
    updated_at: issue.updated_at,
    closed_at: issue.closed_at,
  };
}

/** Describes a stand-in comment (from `addComment`/`comments()`) for `issueCommentCreated`. */
export function commentInputFrom(comment: Comment): CommentInput {
  return {
    id: comment.id,
    body: comment.body,
    user: { login: comment.user.login, id: comment.user.id, type: comment.user.type === "Bot" ? "Bot" : "User" },
    created_at: comment.created_at,
    updated_at: comment.updated_at,
    author_association: comment.author_association,
  };
}
