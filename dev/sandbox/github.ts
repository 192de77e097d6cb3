/**
 * A local stand-in for the GitHub REST API (plus a sliver of GraphQL), served
 * over real HTTP on loopback with node:http and no other dependencies.
 *
 * The app reaches it through Probot exactly as it would reach GitHub
 * Enterprise Server: `GHE_PROTOCOL=http GHE_HOST=<standIn.host>` makes Probot
 * use `http://<host>/api/v3` as its REST base URL, and @octokit/graphql turns
 * that into `http://<host>/api/graphql`. Both prefixes and the bare root are
 * served (`/repos/...`, `/api/v3/repos/...`, `/graphql`, `/api/graphql`).
 *
 * Every request is recorded (`requests`), unknown routes answer 404 like
 * GitHub and are recorded too, so a test can assert that nothing unexpected
 * was called. State is plain in-memory data, changed through the helpers below
 * or, from another process, through `connectGitHubStandIn(url)` which drives
 * the same helpers over `POST /_standin/rpc` (never recorded).
 */
import http from "node:http";
import crypto from "node:crypto";
import type { AddressInfo } from "node:net";
import { defaultAccountId, defaultIssueId, defaultRepoId, githubTime, nodeId } from "./ids.js";

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";
export type AccountType = "User" | "Bot" | "Organization";
export type ReactionContent = "+1" | "-1" | "laugh" | "confused" | "heart" | "hooray" | "rocket" | "eyes";

export const REACTION_CONTENTS: readonly ReactionContent[] = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"];

/** GitHub's "simple user" object. */
export interface SimpleUser {
  login: string;
  id: number;
  node_id: string;
  avatar_url: string;
  gravatar_id: string;
  url: string;
  html_url: string;
  followers_url: string;
  following_url: string;
  gists_url: string;
  starred_url: string;
  subscriptions_url: string;
  organizations_url: string;
  repos_url: string;
  events_url: string;
  received_events_url: string;
  type: AccountType;
  user_view_type: "public";
  site_admin: boolean;
}

export interface Label {
  id: number;
  node_id: string;
  url: string;
  name: string;
  color: string;
  default: boolean;
  description: string | null;
}

export interface ReactionRollup {
  url: string;
  total_count: number;
  "+1": number;
  "-1": number;
  laugh: number;
  hooray: number;
  confused: number;
  heart: number;
  rocket: number;
  eyes: number;
}

export type AuthorAssociation = "OWNER" | "MEMBER" | "COLLABORATOR" | "CONTRIBUTOR" | "NONE";

/** An issue (or the issue side of a pull request) as `GET /repos/{o}/{r}/issues/{n}` returns it. */
export interface Issue {
  url: string;
  repository_url: string;
  labels_url: string;
  comments_url: string;
  events_url: string;
  html_url: string;
  timeline_url: string;
  id: number;
  node_id: string;
  number: number;
  title: string;
  user: SimpleUser;
  labels: Label[];
  state: "open" | "closed";
  state_reason: "completed" | "not_planned" | "reopened" | null;
  locked: boolean;
  assignee: SimpleUser | null;
  assignees: SimpleUser[];
  milestone: null;
  comments: number;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  closed_by: SimpleUser | null;
  author_association: AuthorAssociation;
  active_lock_reason: string | null;
  body: string | null;
  reactions: ReactionRollup;
  performed_via_github_app: null;
  draft?: boolean;
  pull_request?: { url: string; html_url: string; diff_url: string; patch_url: string; merged_at: string | null };
}

/** An issue comment as `GET /repos/{o}/{r}/issues/comments/{id}` returns it. */
export interface Comment {
  url: string;
  html_url: string;
  issue_url: string;
  id: number;
  node_id: string;
  user: SimpleUser;
  created_at: string;
  updated_at: string;
  author_association: AuthorAssociation;
  body: string;
  reactions: ReactionRollup;
  performed_via_github_app: null;
}

export interface Reaction {
  id: number;
  node_id: string;
  user: SimpleUser;
  content: ReactionContent;
  created_at: string;
}

export interface RecordedRequest {
  method: string;
  /** Path without the `/api/v3` prefix and without the query string, as sent (still percent-encoded). */
  path: string;
  /** The request target exactly as received, prefix and query included. */
  url: string;
  status: number;
  /** Arrival time, ms since the epoch. */
  at: number;
  /** Time to answer, ms, including any configured latency. */
  durationMs: number;
  /** Matched route as "METHOD /template" (e.g. "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"), or null if unknown. */
  route: string | null;
  /** Who authenticated: "app", "installation:<id>", "user:<login>", or null when anonymous or invalid. */
  actor: string | null;
  /** Parsed JSON body, when there was one. */
  body?: unknown;
}

export interface AddRepoOptions {
  id?: number;
  installationId?: number;
  /** path → text, e.g. { ".github/bounties.yml": "...", "OWNERS": "..." } */
  files?: Record<string, string>;
  private?: boolean;
  ownerType?: "Organization" | "User";
  defaultBranch?: string;
}

export interface AddIssueOptions {
  number?: number;
  title?: string;
  body?: string;
  author: string;
  pull_request?: boolean;
  state?: "open" | "closed";
  state_reason?: "completed" | "not_planned";
  labels?: string[];
  assignees?: string[];
  /** Pull requests only: merged (closed) with this user as merger (defaults to the author). */
  merged?: boolean;
  merged_by?: string;
}

export interface AddCommentOptions {
  author: string;
  body: string;
  id?: number;
}

export interface StandInOptions {
  /** Port to listen on (default: any free port). Always binds 127.0.0.1. */
  port?: number;
  /** Delay added before every response, ms. */
  latencyMs?: number;
  /** Answer 403 "secondary rate limit" once one actor exceeds this many content-creating writes in a sliding minute. */
  secondaryRateLimit?: { writesPerMinute: number };
  /** The App the stand-in impersonates for `GET /app` and bot comments. Defaults: id 1, slug "bounty-bot". */
  app?: {
    id?: number;
    slug?: string;
    name?: string;
    /** When set, the `iss` claim of app JWTs must equal it. */
    checkIssuer?: boolean;
    /** When set, app JWTs must be RS256-signed by the matching private key. */
    publicKey?: string | crypto.KeyObject;
  };
}

/** An app registered through the manifest flow (github.com/settings/apps/new), as the stand-in saw it. */
export interface RegisteredManifest {
  /** The organisation of /organizations/<org>/settings/apps/new, or null for the user's own. */
  org: string | null;
  /** The `state` the form carried, handed back on the redirect. */
  state: string | null;
  manifest: Record<string, unknown>;
  /** The one-time code of the redirect, exchanged at POST /app-manifests/{code}/conversions. */
  code: string;
  /** What the conversion answered (id, pem, webhook_secret, ...), once it happened. */
  conversion?: Record<string, unknown>;
}

export interface GitHubStandIn {
  /** e.g. http://127.0.0.1:PORT — use `${url}/api/v3` (or just `url`) as an Octokit baseUrl. */
  url: string;
  /** "127.0.0.1:PORT", for GHE_HOST. */
  host: string;
  /** `${url}/api/v3`, the base URL Probot derives from GHE_HOST. */
  apiUrl: string;
  /** The app's bot account, author of everything written with an installation token. */
  bot: { id: number; login: string };
  appId: number;
  /**
   * The manifest flow: a form POSTed to /settings/apps/new (or /organizations/<org>/settings/apps/new)
   * is accepted at once (no human confirms here) and redirected to its redirect_url with a code.
   */
  manifests: RegisteredManifest[];

  addRepo(fullName: string, opts?: AddRepoOptions): void;
  /** Sets (text) or deletes (null) a file in a repository. */
  setFile(repo: string, path: string, text: string | null): void;
  addUser(login: string, opts?: { id?: number; type?: "User" | "Bot" }): { id: number; login: string };
  setPermission(repo: string, login: string, permission: Permission): void;
  addTeamMember(org: string, teamSlug: string, login: string): void;
  addIssue(repo: string, opts: AddIssueOptions): Issue;
  /** Adds a comment as if `author` wrote it on github.com (not recorded as a request). */
  addComment(repo: string, issueNumber: number, opts: AddCommentOptions): Comment;
  /** A personal token acting as `login` (to drive the API as a human in tests and demos). */
  userToken(login: string): string;

  issue(repo: string, issueNumber: number): Issue;
  comments(repo: string, issueNumber: number): Comment[];
  labels(repo: string, issueNumber: number): string[];
  reactions(repo: string, commentId: number): Array<{ content: string; user: string }>;
  /** GraphQL `minimizeComment` state: the classifier, or null when not minimized. */
  minimized(commentId: number): string | null;

  /** Every request so far, oldest first (control-surface calls are not recorded). */
  requests: RecordedRequest[];
  /** Requests that (try to) change state: POST/PATCH/PUT/DELETE and GraphQL mutations, minus the installation-token POST. Includes failed attempts; check `status`. */
  writes(): RecordedRequest[];
  /** Forgets recorded requests (state is kept). */
  clearRequests(): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------

const PERMISSION_RANK: Record<Permission, number> = { none: 0, read: 1, triage: 2, write: 3, maintain: 4, admin: 5 };
const MAX_BODY = 65536;
const DOCS = "https://docs.github.com/rest";

interface AccountRec {
  login: string;
  id: number;
  type: AccountType;
  created_at: string;
}

interface LabelRec {
  id: number;
  name: string;
  color: string;
  description: string | null;
  default: boolean;
}

interface ReactionRec {
  id: number;
  user: string; // lower-case login
  content: ReactionContent;
  created_at: string;
}

interface CommentRec {
  id: number;
  repoKey: string;
  issueNumber: number;
  author: string; // lower-case login
  body: string;
  created_at: string;
  updated_at: string;
  reactions: ReactionRec[];
  minimized: string | null;
}

interface IssueRec {
  id: number;
  number: number;
  title: string;
  body: string | null;
  author: string; // lower-case login
  state: "open" | "closed";
  state_reason: "completed" | "not_planned" | "reopened" | null;
  labels: string[]; // lower-case label names, in order added
  assignees: string[]; // lower-case logins
  pull: boolean;
  merged_at: string | null;
  merged_by: string | null;
  locked: boolean;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  closed_by: string | null;
  comments: number[]; // comment ids, ascending
  reactions: ReactionRec[];
}

interface RepoRec {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  installationId: number;
  private: boolean;
  ownerType: "Organization" | "User";
  defaultBranch: string;
  files: Map<string, string>;
  labels: Map<string, LabelRec>; // key: lower-case name
  permissions: Map<string, Permission>; // key: lower-case login
  issues: Map<number, IssueRec>;
  nextNumber: number;
  created_at: string;
}

type Auth =
  | { kind: "anonymous" }
  | { kind: "app" }
  | { kind: "installation"; installationId: number }
  | { kind: "user"; login: string };

interface TokenRec {
  auth: Auth;
  expiresAt: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? status));
  }
}

const notFound = (message = "Not Found"): HttpError => new HttpError(404, { message, documentation_url: DOCS, status: "404" });
const validationFailed = (errors: unknown[], message = "Validation Failed"): HttpError =>
  new HttpError(422, { message, errors, documentation_url: DOCS, status: "422" });
const forbidden = (message = "Resource not accessible by integration"): HttpError =>
  new HttpError(403, { message, documentation_url: DOCS, status: "403" });
const unauthorized = (message = "Bad credentials"): HttpError => new HttpError(401, { message, documentation_url: DOCS, status: "401" });

interface Reply {
  status: number;
  body?: unknown;
  /** Sent verbatim with this content type instead of JSON. */
  raw?: { text: string; contentType: string };
  headers?: Record<string, string>;
}

interface Ctx {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  auth: Auth;
  headers: http.IncomingHttpHeaders;
  /** "/api/v3" or "" as the client used it, for Link headers. */
  prefix: string;
  path: string;
}

interface Route {
  method: string;
  template: string;
  re: RegExp;
  keys: string[];
  /** "app": needs an app JWT. "token": needs an installation/user token. "any": anonymous allowed for public data. */
  auth: "app" | "token" | "any";
  /** Counts as a write for writes() and the secondary rate limit. */
  write: boolean;
  handler: (ctx: Ctx) => Reply | Promise<Reply>;
}

function compileTemplate(template: string): { re: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = template.replace(/\{(\w+)(\+)?\}/g, (_m, key: string, rest: string | undefined) => {
    keys.push(key);
    if (rest) return "(.*)";
    if (key.endsWith("_number") || key.endsWith("_id") || key === "installation_id") return "(\\d+)";
    return "([^/]+)";
  });
  return { re: new RegExp(`^${source}$`), keys };
}

function lc(s: string): string {
  return s.toLowerCase();
}

function splitRepo(fullName: string): { owner: string; name: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(fullName);
  if (!m) throw new Error(`Repository must be "owner/name", got ${JSON.stringify(fullName)}`);
  return { owner: m[1]!, name: m[2]! };
}

function gitBlobSha(text: string): string {
  const buf = Buffer.from(text, "utf8");
  return crypto.createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");
}

function base64Lines(text: string): string {
  const b64 = Buffer.from(text, "utf8").toString("base64");
  return (b64.match(/.{1,60}/g) ?? [""]).join("\n") + "\n";
}

function b64urlJson(part: string): unknown {
  return JSON.parse(Buffer.from(part.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8"));
}

function randomToken(prefix: string): string {
  return prefix + crypto.randomBytes(27).toString("base64url").slice(0, 36);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------
// The stand-in
// ---------------------------------------------------------------------------

export async function startGitHubStandIn(opts: StandInOptions = {}): Promise<GitHubStandIn> {
  const appId = opts.app?.id ?? 1;
  const appSlug = opts.app?.slug ?? "bounty-bot";
  const appName = opts.app?.name ?? appSlug;
  const publicKey =
    opts.app?.publicKey === undefined
      ? undefined
      : typeof opts.app.publicKey === "string"
        ? crypto.createPublicKey(opts.app.publicKey)
        : opts.app.publicKey;
  let latencyMs = opts.latencyMs ?? 0;
  const limitPerMinute = opts.secondaryRateLimit?.writesPerMinute;

  const accounts = new Map<string, AccountRec>(); // key: lower-case login
  const usedAccountIds = new Set<number>();
  const repos = new Map<string, RepoRec>(); // key: lower-case full name
  const commentsById = new Map<number, CommentRec>();
  const teams = new Map<string, Map<string, Set<string>>>(); // org → team → logins (all lower-case)
  const tokens = new Map<string, TokenRec>();
  const userTokens = new Map<string, string>(); // lower-case login → token
  const installations = new Set<number>();
  const writeLog = new Map<string, number[]>(); // actor → times of accepted writes
  const requests: RecordedRequest[] = [];
  const manifests: RegisteredManifest[] = [];
  let nextManifestAppId = 900_001;
  const startedAt = githubTime();

  let nextCommentId = 3_000_000_000;
  let nextReactionId = 300_000_000;
  let nextLabelId = 7_000_000_000;

  let host = "127.0.0.1";
  const base = () => `http://${host}`;
  const api = () => `${base()}/api/v3`;

  // ----- accounts -----
  function ensureAccount(login: string, type: AccountType = "User", id?: number): AccountRec {
    const key = lc(login);
    const existing = accounts.get(key);
    if (existing) return existing;
    let accountId = id ?? defaultAccountId(login);
    if (id === undefined) while (usedAccountIds.has(accountId)) accountId++;
    else if (usedAccountIds.has(accountId)) throw new Error(`Account id ${accountId} is already taken`);
    usedAccountIds.add(accountId);
    const rec: AccountRec = { login, id: accountId, type, created_at: startedAt };
    accounts.set(key, rec);
    return rec;
  }
  const botLogin = `${appSlug}[bot]`;
  const botAccount = ensureAccount(botLogin, "Bot");

  function accountByLogin(login: string): AccountRec | undefined {
    return accounts.get(lc(login));
  }

  function userJson(login: string): SimpleUser {
    const a = accountByLogin(login) ?? ensureAccount(login);
    const u = `${api()}/users/${a.login}`;
    const isBot = a.type === "Bot";
    return {
      login: a.login,
      id: a.id,
      node_id: nodeId(isBot ? "Bot" : a.type === "Organization" ? "Organization" : "User", a.id),
      avatar_url: `${base()}/avatars/u/${a.id}?v=4`,
      gravatar_id: "",
      url: u,
      html_url: isBot ? `${base()}/apps/${a.login.replace(/\[bot\]$/, "")}` : `${base()}/${a.login}`,
      followers_url: `${u}/followers`,
      following_url: `${u}/following{/other_user}`,
      gists_url: `${u}/gists{/gist_id}`,
      starred_url: `${u}/starred{/owner}{/repo}`,
      subscriptions_url: `${u}/subscriptions`,
      organizations_url: `${u}/orgs`,
      repos_url: `${u}/repos`,
      events_url: `${u}/events{/privacy}`,
      received_events_url: `${u}/received_events`,
      type: a.type,
      user_view_type: "public",
      site_admin: false,
    };
  }

  // ----- repos -----
  function repoRec(fullName: string): RepoRec {
    const r = repos.get(lc(fullName));
    if (!r) throw new Error(`Unknown repository ${fullName}; call addRepo first`);
    return r;
  }

  function repoJson(r: RepoRec) {
    const u = `${api()}/repos/${r.fullName}`;
    return {
      id: r.id,
      node_id: nodeId("Repository", r.id),
      name: r.name,
      full_name: r.fullName,
      private: r.private,
      owner: userJson(r.owner),
      html_url: `${base()}/${r.fullName}`,
      description: null,
      fork: false,
      url: u,
      issues_url: `${u}/issues{/number}`,
      issue_comment_url: `${u}/issues/comments{/number}`,
      labels_url: `${u}/labels{/name}`,
      contents_url: `${u}/contents/{+path}`,
      pulls_url: `${u}/pulls{/number}`,
      collaborators_url: `${u}/collaborators{/collaborator}`,
      teams_url: `${u}/teams`,
      hooks_url: `${u}/hooks`,
      events_url: `${u}/events`,
      created_at: r.created_at,
      updated_at: r.created_at,
      pushed_at: r.created_at,
      git_url: `git://${host}/${r.fullName}.git`,
      ssh_url: `git@${host}:${r.fullName}.git`,
      clone_url: `${base()}/${r.fullName}.git`,
      homepage: null,
      size: 0,
      stargazers_count: 0,
      watchers_count: 0,
      language: null,
      has_issues: true,
      has_projects: true,
      has_downloads: true,
      has_wiki: false,
      has_pages: false,
      has_discussions: false,
      forks_count: 0,
      archived: false,
      disabled: false,
      open_issues_count: [...r.issues.values()].filter((i) => i.state === "open").length,
      license: null,
      allow_forking: true,
      is_template: false,
      topics: [] as string[],
      visibility: r.private ? "private" : "public",
      forks: 0,
      open_issues: [...r.issues.values()].filter((i) => i.state === "open").length,
      watchers: 0,
      default_branch: r.defaultBranch,
    };
  }

  function labelJson(r: RepoRec, l: LabelRec): Label {
    return {
      id: l.id,
      node_id: nodeId("Label", l.id),
      url: `${api()}/repos/${r.fullName}/labels/${encodeURIComponent(l.name)}`,
      name: l.name,
      color: l.color,
      default: l.default,
      description: l.description,
    };
  }

  function ensureLabel(r: RepoRec, name: string, color = "ededed", description: string | null = null): LabelRec {
    const key = lc(name);
    let l = r.labels.get(key);
    if (!l) {
      l = { id: nextLabelId++, name, color, description, default: false };
      r.labels.set(key, l);
    }
    return l;
  }

  function permissionOf(r: RepoRec, login: string): Permission | undefined {
    const key = lc(login);
    if (r.ownerType === "User" && lc(r.owner) === key) return "admin";
    return r.permissions.get(key);
  }

  function isOrgMember(org: string, login: string): boolean {
    const t = teams.get(lc(org));
    if (!t) return false;
    for (const members of t.values()) if (members.has(lc(login))) return true;
    return false;
  }

  function association(r: RepoRec, login: string): AuthorAssociation {
    const key = lc(login);
    if (lc(r.owner) === key) return "OWNER";
    if (r.ownerType === "Organization" && isOrgMember(r.owner, login)) return "MEMBER";
    const p = r.permissions.get(key);
    if (p && p !== "none") return "COLLABORATOR";
    for (const i of r.issues.values()) if (i.pull && i.merged_at && i.author === key) return "CONTRIBUTOR";
    return "NONE";
  }

  function rollup(url: string, reactions: ReactionRec[]): ReactionRollup {
    const out: ReactionRollup = { url, total_count: reactions.length, "+1": 0, "-1": 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 };
    for (const x of reactions) out[x.content]++;
    return out;
  }

  function issueRec(r: RepoRec, n: number): IssueRec {
    const i = r.issues.get(n);
    if (!i) throw notFound();
    return i;
  }

  function issueJson(r: RepoRec, i: IssueRec): Issue {
    const u = `${api()}/repos/${r.fullName}/issues/${i.number}`;
    const assignees = i.assignees.map(userJson);
    const out: Issue = {
      url: u,
      repository_url: `${api()}/repos/${r.fullName}`,
      labels_url: `${u}/labels{/name}`,
      comments_url: `${u}/comments`,
      events_url: `${u}/events`,
      html_url: `${base()}/${r.fullName}/${i.pull ? "pull" : "issues"}/${i.number}`,
      timeline_url: `${u}/timeline`,
      id: i.id,
      node_id: nodeId(i.pull ? "PullRequest" : "Issue", i.id),
      number: i.number,
      title: i.title,
      user: userJson(i.author),
      labels: i.labels.map((name) => labelJson(r, r.labels.get(name)!)),
      state: i.state,
      state_reason: i.state_reason,
      locked: i.locked,
      assignee: assignees[0] ?? null,
      assignees,
      milestone: null,
      comments: i.comments.length,
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_at: i.closed_at,
      closed_by: i.closed_by ? userJson(i.closed_by) : null,
      author_association: association(r, i.author),
      active_lock_reason: null,
      body: i.body,
      reactions: rollup(`${u}/reactions`, i.reactions),
      performed_via_github_app: null,
    };
    if (i.pull) {
      out.draft = false;
      out.pull_request = {
        url: `${api()}/repos/${r.fullName}/pulls/${i.number}`,
        html_url: `${base()}/${r.fullName}/pull/${i.number}`,
        diff_url: `${base()}/${r.fullName}/pull/${i.number}.diff`,
        patch_url: `${base()}/${r.fullName}/pull/${i.number}.patch`,
        merged_at: i.merged_at,
      };
    }
    return out;
  }

  function pullJson(r: RepoRec, i: IssueRec) {
    const iss = issueJson(r, i);
    const sha = crypto.createHash("sha1").update(`${r.fullName}#${i.number}`).digest("hex");
    const ref = (branch: string, s: string) => ({ label: `${r.owner}:${branch}`, ref: branch, sha: s, user: userJson(r.owner), repo: repoJson(r) });
    return {
      url: `${api()}/repos/${r.fullName}/pulls/${i.number}`,
      id: i.id,
      node_id: iss.node_id,
      html_url: iss.html_url,
      diff_url: iss.pull_request!.diff_url,
      patch_url: iss.pull_request!.patch_url,
      issue_url: iss.url,
      number: i.number,
      state: i.state,
      locked: i.locked,
      title: i.title,
      user: iss.user,
      body: i.body,
      labels: iss.labels,
      milestone: null,
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_at: i.closed_at,
      merged_at: i.merged_at,
      merge_commit_sha: i.merged_at ? sha : null,
      assignee: iss.assignee,
      assignees: iss.assignees,
      requested_reviewers: [],
      draft: false,
      head: ref(`pr-${i.number}`, sha),
      base: ref(r.defaultBranch, "0".repeat(40)),
      author_association: iss.author_association,
      merged: i.merged_at !== null,
      mergeable: i.state === "open" ? true : null,
      merged_by: i.merged_by ? userJson(i.merged_by) : null,
      comments: i.comments.length,
    };
  }

  function commentJson(c: CommentRec): Comment {
    const r = repos.get(c.repoKey)!;
    const u = `${api()}/repos/${r.fullName}/issues/comments/${c.id}`;
    const issue = r.issues.get(c.issueNumber)!;
    return {
      url: u,
      html_url: `${base()}/${r.fullName}/${issue.pull ? "pull" : "issues"}/${c.issueNumber}#issuecomment-${c.id}`,
      issue_url: `${api()}/repos/${r.fullName}/issues/${c.issueNumber}`,
      id: c.id,
      node_id: nodeId("IssueComment", c.id),
      user: userJson(c.author),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: accountByLogin(c.author)?.type === "Bot" ? "NONE" : association(r, c.author),
      body: c.body,
      reactions: rollup(`${u}/reactions`, c.reactions),
      performed_via_github_app: null,
    };
  }

  function reactionJson(x: ReactionRec): Reaction {
    return { id: x.id, node_id: nodeId("Reaction", x.id), user: userJson(x.user), content: x.content, created_at: x.created_at };
  }

  function createComment(r: RepoRec, i: IssueRec, author: string, body: string, id?: number): CommentRec {
    const now = githubTime();
    const commentId = id ?? nextCommentId++;
    if (commentsById.has(commentId)) throw new Error(`Comment id ${commentId} already exists`);
    if (id !== undefined && id >= nextCommentId) nextCommentId = id + 1;
    const c: CommentRec = { id: commentId, repoKey: lc(r.fullName), issueNumber: i.number, author: lc(author), body, created_at: now, updated_at: now, reactions: [], minimized: null };
    commentsById.set(c.id, c);
    i.comments.push(c.id);
    i.updated_at = now;
    return c;
  }

  // ----- auth helpers -----
  function actorOf(a: Auth): string | null {
    switch (a.kind) {
      case "app":
        return "app";
      case "installation":
        return `installation:${a.installationId}`;
      case "user":
        return `user:${accountByLogin(a.login)?.login ?? a.login}`;
      default:
        return null;
    }
  }

  /** Login that authors what this caller writes. */
  function writerLogin(a: Auth): string {
    if (a.kind === "installation") return botLogin;
    if (a.kind === "user") return a.login;
    throw unauthorized("Requires authentication");
  }

  function checkJwt(jwt: string): void {
    const parts = jwt.split(".");
    let header: { alg?: string };
    let payload: { iss?: unknown; iat?: unknown; exp?: unknown };
    try {
      header = b64urlJson(parts[0]!) as typeof header;
      payload = b64urlJson(parts[1]!) as typeof payload;
    } catch {
      throw unauthorized("A JSON web token could not be decoded");
    }
    if (header.alg !== "RS256") throw unauthorized("A JSON web token could not be decoded");
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== "number" || payload.exp <= now)
      throw unauthorized("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
    if (typeof payload.iat !== "number" || payload.iat > now + 60)
      throw unauthorized("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
    if (payload.exp - payload.iat > 600 + 60) throw unauthorized("'Expiration time' claim ('exp') is too far in the future");
    if (opts.app?.checkIssuer && String(payload.iss) !== String(appId)) throw unauthorized("'Issuer' claim ('iss') must be an Integer");
    if (publicKey) {
      const ok = crypto.verify("RSA-SHA256", Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2]!, "base64url"));
      if (!ok) throw unauthorized("A JSON web token could not be decoded");
    }
  }

  function authenticate(headers: http.IncomingHttpHeaders): Auth {
    const h = headers.authorization;
    if (!h) return { kind: "anonymous" };
    const m = /^(bearer|token)\s+(\S+)$/i.exec(h.trim());
    if (!m) throw unauthorized();
    const cred = m[2]!;
    if (cred.split(".").length === 3) {
      checkJwt(cred);
      return { kind: "app" };
    }
    const t = tokens.get(cred);
    if (!t || t.expiresAt <= Date.now()) throw unauthorized();
    return t.auth;
  }

  /** Repository the caller may see; installation tokens only see their installation's repositories. */
  function visibleRepo(ctx: Ctx): RepoRec {
    const r = repos.get(lc(`${ctx.params.owner}/${ctx.params.repo}`));
    if (!r) throw notFound();
    const a = ctx.auth;
    if (a.kind === "installation" && a.installationId !== r.installationId) throw notFound();
    if (r.private && a.kind !== "installation") {
      if (a.kind !== "user" || PERMISSION_RANK[permissionOf(r, a.login) ?? "none"] < PERMISSION_RANK.read) throw notFound();
    }
    return r;
  }

  function requireRepoPermission(ctx: Ctx, r: RepoRec, min: Permission): void {
    const a = ctx.auth;
    if (a.kind === "installation") return; // the app is assumed to hold issues/pull_requests: write
    if (a.kind !== "user") throw unauthorized("Requires authentication");
    if (PERMISSION_RANK[permissionOf(r, a.login) ?? "none"] < PERMISSION_RANK[min]) throw forbidden("Must have push access to repository");
  }

  function isOwnComment(ctx: Ctx, c: CommentRec): boolean {
    const a = ctx.auth;
    return (a.kind === "installation" && c.author === lc(botLogin)) || (a.kind === "user" && c.author === lc(a.login));
  }

  function paginate<T>(ctx: Ctx, items: T[]): Reply {
    const perPage = Math.min(100, Math.max(1, Number.parseInt(ctx.query.get("per_page") ?? "", 10) || 30));
    const page = Math.max(1, Number.parseInt(ctx.query.get("page") ?? "", 10) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const link = (p: number, rel: string) => {
      const q = new URLSearchParams(ctx.query);
      q.set("per_page", String(perPage));
      q.set("page", String(p));
      return `<${base()}${ctx.prefix}${ctx.path}?${q.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(Math.min(page - 1, last), "prev"));
    if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
    if (page > 1) links.push(link(1, "first"));
    return { status: 200, body: slice, headers: links.length ? { link: links.join(", ") } : {} };
  }

  function labelNamesFromBody(body: unknown): string[] {
    const raw = Array.isArray(body) ? body : body && typeof body === "object" ? (body as { labels?: unknown }).labels : undefined;
    if (!Array.isArray(raw)) throw validationFailed([{ resource: "Label", code: "invalid", field: "labels" }], "Invalid request.\n\nFor 'links/0/schema', nil is not an array.");
    return raw.map((x) => {
      const name = typeof x === "string" ? x : x && typeof x === "object" ? (x as { name?: unknown }).name : undefined;
      if (typeof name !== "string" || name.trim() === "") throw validationFailed([{ resource: "Label", code: "invalid", field: "name" }]);
      return name;
    });
  }

  function setIssueLabels(r: RepoRec, i: IssueRec, names: string[], replace: boolean): void {
    if (replace) i.labels = [];
    for (const name of names) {
      const l = ensureLabel(r, name);
      const key = lc(l.name);
      if (!i.labels.includes(key)) i.labels.push(key);
    }
    i.updated_at = githubTime();
  }

  function setState(i: IssueRec, state: unknown, reason: unknown, by: string): void {
    const now = githubTime();
    if (state !== undefined && state !== "open" && state !== "closed") throw validationFailed([{ resource: "Issue", code: "invalid", field: "state" }]);
    if (reason !== undefined && reason !== null && !["completed", "not_planned", "reopened"].includes(String(reason)))
      throw validationFailed([{ resource: "Issue", code: "invalid", field: "state_reason" }]);
    if (state === "closed" && i.state !== "closed") {
      i.state = "closed";
      i.closed_at = now;
      i.closed_by = lc(by);
      i.state_reason = (reason as IssueRec["state_reason"]) ?? "completed";
    } else if (state === "open" && i.state !== "open") {
      i.state = "open";
      i.closed_at = null;
      i.closed_by = null;
      i.state_reason = "reopened";
    } else if (reason !== undefined && i.state === "closed") {
      i.state_reason = reason as IssueRec["state_reason"];
    }
    i.updated_at = now;
  }

  function commentBody(body: unknown): string {
    const b = body && typeof body === "object" ? (body as { body?: unknown }).body : undefined;
    if (typeof b !== "string" || b.length === 0) throw validationFailed([{ resource: "IssueComment", code: "missing_field", field: "body" }]);
    if (b.length > MAX_BODY) throw validationFailed([{ resource: "IssueComment", code: "custom", field: "body", message: `body is too long (maximum is ${MAX_BODY} characters)` }]);
    return b;
  }

  function addReaction(ctx: Ctx, list: ReactionRec[]): Reply {
    const content = (ctx.body as { content?: unknown } | undefined)?.content;
    if (typeof content !== "string" || !(REACTION_CONTENTS as readonly string[]).includes(content))
      throw validationFailed([{ resource: "Reaction", code: "invalid", field: "content" }]);
    const who = lc(writerLogin(ctx.auth));
    const existing = list.find((x) => x.user === who && x.content === content);
    if (existing) return { status: 200, body: reactionJson(existing) };
    const x: ReactionRec = { id: nextReactionId++, user: who, content: content as ReactionContent, created_at: githubTime() };
    list.push(x);
    return { status: 201, body: reactionJson(x) };
  }

  function installationJson(id: number) {
    const r = [...repos.values()].find((x) => x.installationId === id);
    const account = r ? userJson(r.owner) : userJson(botLogin);
    return {
      id,
      account,
      repository_selection: "all",
      access_tokens_url: `${api()}/app/installations/${id}/access_tokens`,
      repositories_url: `${api()}/installation/repositories`,
      html_url: `${base()}/organizations/${account.login}/settings/installations/${id}`,
      app_id: appId,
      app_slug: appSlug,
      target_id: account.id,
      target_type: account.type === "Organization" ? "Organization" : "User",
      permissions: { issues: "write", pull_requests: "write", metadata: "read", contents: "read", members: "read" },
      events: ["issue_comment", "issues", "pull_request"],
      created_at: startedAt,
      updated_at: startedAt,
      single_file_name: null,
      has_multiple_single_files: false,
      single_file_paths: [],
      suspended_by: null,
      suspended_at: null,
    };
  }

  // ----- routes -----
  const routes: Route[] = [];
  function route(spec: string, handler: Route["handler"], o: { auth?: Route["auth"]; write?: boolean } = {}): void {
    const [method, template] = spec.split(" ") as [string, string];
    const { re, keys } = compileTemplate(template);
    routes.push({ method, template, re, keys, handler, auth: o.auth ?? (method === "GET" ? "any" : "token"), write: o.write ?? method !== "GET" });
  }

  // Apps
  route("GET /app", () => ({
    status: 200,
    body: {
      id: appId,
      slug: appSlug,
      node_id: nodeId("App", appId),
      owner: userJson(botLogin),
      name: appName,
      description: "Local stand-in app",
      external_url: base(),
      html_url: `${base()}/apps/${appSlug}`,
      created_at: startedAt,
      updated_at: startedAt,
      permissions: installationJson(0).permissions,
      events: installationJson(0).events,
      installations_count: installations.size,
    },
  }), { auth: "app" });
  // The manifest flow's second half: the code of the redirect becomes the new app's credentials, once.
  route("POST /app-manifests/{code}/conversions", (ctx) => {
    const m = manifests.find((x) => x.code === ctx.params.code);
    if (!m || m.conversion) throw notFound();
    const id = nextManifestAppId++;
    const name = String(m.manifest.name ?? "app");
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    const { privateKey } = crypto.generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const owner = m.org ? userJson(ensureAccount(m.org, "Organization").login) : userJson(ensureAccount("octocat").login);
    m.conversion = {
      id,
      slug,
      node_id: nodeId("App", id),
      owner,
      name,
      description: m.manifest.description ?? null,
      external_url: m.manifest.url ?? null,
      html_url: `${base()}/apps/${slug}`,
      created_at: githubTime(),
      updated_at: githubTime(),
      permissions: m.manifest.default_permissions ?? {},
      events: m.manifest.default_events ?? [],
      client_id: `Iv1.${crypto.randomBytes(8).toString("hex")}`,
      client_secret: crypto.randomBytes(20).toString("hex"),
      webhook_secret: crypto.randomBytes(20).toString("hex"),
      pem: privateKey,
    };
    return { status: 201, body: m.conversion };
  }, { auth: "any", write: false });
  route("GET /app/installations", (ctx) => paginate(ctx, [...installations].sort((a, b) => a - b).map(installationJson)), { auth: "app" });
  route("GET /app/installations/{installation_id}", (ctx) => {
    const id = Number(ctx.params.installation_id);
    if (!installations.has(id)) throw notFound();
    return { status: 200, body: installationJson(id) };
  }, { auth: "app" });
  route("POST /app/installations/{installation_id}/access_tokens", (ctx) => {
    const id = Number(ctx.params.installation_id);
    if (!installations.has(id)) throw notFound();
    const token = randomToken("ghs_");
    const expiresAt = Date.now() + 3600_000;
    tokens.set(token, { auth: { kind: "installation", installationId: id }, expiresAt });
    return {
      status: 201,
      body: { token, expires_at: githubTime(expiresAt), permissions: installationJson(id).permissions, repository_selection: "all" },
    };
  }, { auth: "app", write: false });
  route("GET /repos/{owner}/{repo}/installation", (ctx) => {
    const r = repos.get(lc(`${ctx.params.owner}/${ctx.params.repo}`));
    if (!r) throw notFound();
    return { status: 200, body: installationJson(r.installationId) };
  }, { auth: "app" });
  route("GET /orgs/{org}/installation", (ctx) => {
    const r = [...repos.values()].find((x) => lc(x.owner) === lc(ctx.params.org!));
    if (!r) throw notFound();
    return { status: 200, body: installationJson(r.installationId) };
  }, { auth: "app" });

  // Users and orgs
  route("GET /users/{username}", (ctx) => {
    const a = accountByLogin(ctx.params.username!);
    if (!a) throw notFound();
    return { status: 200, body: { ...userJson(a.login), name: null, company: null, blog: "", location: null, email: null, bio: null, public_repos: 0, followers: 0, following: 0, created_at: a.created_at, updated_at: a.created_at } };
  });
  route("GET /user", (ctx) => {
    if (ctx.auth.kind === "user") return { status: 200, body: userJson(ctx.auth.login) };
    if (ctx.auth.kind === "anonymous") throw unauthorized("Requires authentication");
    throw forbidden();
  });
  route("GET /orgs/{org}/teams/{team_slug}/memberships/{username}", (ctx) => {
    const members = teams.get(lc(ctx.params.org!))?.get(lc(ctx.params.team_slug!));
    if (!members || !members.has(lc(ctx.params.username!))) throw notFound();
    return {
      status: 200,
      body: { url: `${api()}/orgs/${ctx.params.org}/teams/${ctx.params.team_slug}/memberships/${ctx.params.username}`, role: "member", state: "active" },
    };
  });
  route("GET /orgs/{org}/teams/{team_slug}/members", (ctx) => {
    const members = teams.get(lc(ctx.params.org!))?.get(lc(ctx.params.team_slug!));
    if (!members) throw notFound();
    return paginate(ctx, [...members].sort().map(userJson));
  });
  route("GET /orgs/{org}/members/{username}", (ctx) => {
    if (!isOrgMember(ctx.params.org!, ctx.params.username!)) throw notFound("User does not exist or is not a member of the organization");
    return { status: 204 };
  });

  // Repositories and contents
  route("GET /repos/{owner}/{repo}", (ctx) => ({ status: 200, body: repoJson(visibleRepo(ctx)) }));
  const contents = (ctx: Ctx): Reply => {
    const r = visibleRepo(ctx);
    const path = (ctx.params.path ?? "").replace(/^\/+|\/+$/g, "");
    const accept = String(ctx.headers.accept ?? "");
    const raw = /application\/vnd\.github(\.v3)?\.raw/i.test(accept);
    const fileEntry = (p: string, text: string | undefined) => {
      const sha = text === undefined ? crypto.createHash("sha1").update(`tree:${r.fullName}:${p}`).digest("hex") : gitBlobSha(text);
      const url = `${api()}/repos/${r.fullName}/contents/${p}?ref=${r.defaultBranch}`;
      const html = `${base()}/${r.fullName}/${text === undefined ? "tree" : "blob"}/${r.defaultBranch}/${p}`;
      const git = `${api()}/repos/${r.fullName}/git/${text === undefined ? "trees" : "blobs"}/${sha}`;
      return {
        name: p.split("/").pop()!,
        path: p,
        sha,
        size: text === undefined ? 0 : Buffer.byteLength(text),
        url,
        html_url: html,
        git_url: git,
        download_url: text === undefined ? null : `${base()}/raw/${r.fullName}/${r.defaultBranch}/${p}`,
        type: text === undefined ? "dir" : "file",
        _links: { self: url, git, html },
      };
    };
    const text = r.files.get(path);
    if (text !== undefined) {
      if (raw) return { status: 200, raw: { text, contentType: "text/plain; charset=utf-8" }, headers: { etag: `"${gitBlobSha(text)}"` } };
      return { status: 200, body: { ...fileEntry(path, text), content: base64Lines(text), encoding: "base64" } };
    }
    const prefix = path === "" ? "" : `${path}/`;
    const children = new Map<string, string | undefined>();
    for (const [p, t] of r.files) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash === -1) children.set(p, t);
      else if (!children.has(prefix + rest.slice(0, slash))) children.set(prefix + rest.slice(0, slash), undefined);
    }
    if (children.size === 0 && path !== "") throw notFound();
    const list = [...children.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([p, t]) => fileEntry(p, t));
    return { status: 200, body: list };
  };
  route("GET /repos/{owner}/{repo}/contents/{path+}", contents);
  route("GET /repos/{owner}/{repo}/contents", contents);

  // Collaborator permission
  route("GET /repos/{owner}/{repo}/collaborators/{username}/permission", (ctx) => {
    const r = visibleRepo(ctx);
    if (ctx.auth.kind === "anonymous") throw unauthorized("Requires authentication");
    const a = accountByLogin(ctx.params.username!);
    if (!a) throw notFound();
    const role: Permission = permissionOf(r, a.login) ?? (r.private ? "none" : "read");
    // GitHub's legacy `permission` field folds maintain into write and triage into read; `role_name` is exact.
    const legacy = role === "maintain" ? "write" : role === "triage" ? "read" : role;
    const rank = PERMISSION_RANK[role];
    return {
      status: 200,
      body: {
        permission: legacy,
        role_name: role,
        user: {
          ...userJson(a.login),
          permissions: { admin: rank >= 5, maintain: rank >= 4, push: rank >= 3, triage: rank >= 2, pull: rank >= 1 },
          role_name: role,
        },
      },
    };
  });

  // Issues
  route("GET /repos/{owner}/{repo}/issues", (ctx) => {
    const r = visibleRepo(ctx);
    const state = ctx.query.get("state") ?? "open";
    const wanted = (ctx.query.get("labels") ?? "").split(",").map((s) => lc(s.trim())).filter(Boolean);
    const list = [...r.issues.values()]
      .filter((i) => state === "all" || i.state === state)
      .filter((i) => wanted.every((w) => i.labels.includes(w)))
      .sort((a, b) => b.number - a.number)
      .map((i) => issueJson(r, i));
    return paginate(ctx, list);
  });
  route("GET /repos/{owner}/{repo}/issues/{issue_number}", (ctx) => {
    const r = visibleRepo(ctx);
    return { status: 200, body: issueJson(r, issueRec(r, Number(ctx.params.issue_number))) };
  });
  route("PATCH /repos/{owner}/{repo}/issues/{issue_number}", (ctx) => {
    const r = visibleRepo(ctx);
    const i = issueRec(r, Number(ctx.params.issue_number));
    const b = (ctx.body ?? {}) as Record<string, unknown>;
    const by = writerLogin(ctx.auth);
    const isAuthor = ctx.auth.kind === "user" && lc(ctx.auth.login) === i.author;
    const onlyStateOrText = Object.keys(b).every((k) => ["state", "state_reason", "title", "body"].includes(k));
    if (!(isAuthor && onlyStateOrText)) requireRepoPermission(ctx, r, "triage");
    if (b.title !== undefined) {
      if (typeof b.title !== "string" || b.title === "") throw validationFailed([{ resource: "Issue", code: "missing_field", field: "title" }]);
      i.title = b.title;
    }
    if (b.body !== undefined) i.body = b.body === null ? null : String(b.body);
    if (b.labels !== undefined) setIssueLabels(r, i, labelNamesFromBody({ labels: b.labels }), true);
    if (b.assignees !== undefined) {
      if (!Array.isArray(b.assignees)) throw validationFailed([{ resource: "Issue", code: "invalid", field: "assignees" }]);
      i.assignees = (b.assignees as unknown[]).map((x) => lc(String(x))).filter((x) => accounts.has(x));
    }
    if (b.state !== undefined || b.state_reason !== undefined) setState(i, b.state, b.state_reason, by);
    i.updated_at = githubTime();
    return { status: 200, body: issueJson(r, i) };
  });
  route("POST /repos/{owner}/{repo}/issues/{issue_number}/assignees", (ctx) => {
    const r = visibleRepo(ctx);
    const i = issueRec(r, Number(ctx.params.issue_number));
    requireRepoPermission(ctx, r, "triage");
    const list = (ctx.body as { assignees?: unknown } | undefined)?.assignees;
    if (!Array.isArray(list)) throw validationFailed([{ resource: "Issue", code: "invalid", field: "assignees" }]);
    for (const x of list) {
      const key = lc(String(x));
      // GitHub silently ignores assignees who cannot be assigned.
      if (accounts.has(key) && !i.assignees.includes(key) && i.assignees.length < 10) i.assignees.push(key);
    }
    i.updated_at = githubTime();
    return { status: 201, body: issueJson(r, i) };
  });
  route("DELETE /repos/{owner}/{repo}/issues/{issue_number}/assignees", (ctx) => {
    const r = visibleRepo(ctx);
    const i = issueRec(r, Number(ctx.params.issue_number));
    requireRepoPermission(ctx, r, "triage");
    const list = (ctx.body as { assignees?: unknown } | undefined)?.assignees;
    if (!Array.isArray(list)) throw validationFailed([{ resource: "Issue", code: "invalid", field: "assignees" }]);
    const drop = new Set(list.map((x) => lc(String(x))));
    i.assignees = i.assignees.filter((a) => !drop.has(a));
    i.updated_at = githubTime();
    return { status: 200, body: issueJson(r, i) };
  });
  route("GET /repos/{owner}/{repo}/pulls/{pull_number}", (ctx) => {
    const r = visibleRepo(ctx);
    const i = r.issues.get(Number(ctx.params.pull_number));
    if (!i || !i.pull) throw notFound();
    return { status: 200, body: pullJson(r, i) };
  });

  // Issue comments
  route("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", (ctx) => {
    const r = visibleRepo(ctx);
    const i = issueRec(r, Number(ctx.params.issue_number));
    const since = ctx.query.get("since");
    const list = i.comments
      .map((id) => commentsById.get(id)!)
      .filter((c) => !since || c.updated_at >= githubTime(Date.parse(since)))
      .map(commentJson);
    return paginate(ctx, list);
  });
  route("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", (ctx) => {
    const r = visibleRepo(ctx);
    const i = issueRec(r, Number(ctx.params.issue_number));
    const body = commentBody(ctx.body);
    const author = writerLogin(ctx.auth);
    if (i.locked && ctx.auth.kind === "user" && PERMISSION_RANK[permissionOf(r, author) ?? "none"] < PERMISSION_RANK.write) throw forbidden("Unable to create comment because issue is locked.");
    const c = createComment(r, i, author, body);
    return { status: 201, body: commentJson(c), headers: { location: `${api()}/repos/${r.fullName}/issues/comments/${c.id}` } };
  });
  const commentOf = (ctx: Ctx): { r: RepoRec; c: CommentRec } => {
    const r = visibleRepo(ctx);
    const c = commentsById.get(Number(ctx.params.comment_id));
    if (!c || c.repoKey !== lc(r.fullName)) throw notFound();
    return { r, c };
  };
  route("GET /repos/{owner}/{repo}/issues/comments/{comment_id}", (ctx) => ({ status: 200, body: commentJson(commentOf(ctx).c) }));
  route("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", (ctx) => {
    const { r, c } = commentOf(ctx);
    if (!isOwnComment(ctx, c)) requireRepoPermission(ctx, r, "write");
    c.body = commentBody(ctx.body);
    c.updated_at = githubTime();
    return { status: 200, body: commentJson(c) };
  });
  route("DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}", (ctx) => {
    const { r, c } = commentOf(ctx);
    if (!isOwnComment(ctx, c)) requireRepoPermission(ctx, r, "write");
    commentsById.delete(c.id);
    const i = r.issues.get(c.issueNumber)!;
    i.comments = i.comments.filter((id) => id !== c.id);
    return { status: 204 };
  });
  route("GET /repos/{owner}/{repo}/issues/comments", (ctx) => {
    const r = visibleRepo(ctx);
    const list = [...commentsById.values()].filter((c) => c.repoKey === lc(r.fullName)).sort((a, b) => a.id - b.id).map(commentJson);
    return paginate(ctx, list);
  });

  // Reactions
  route("GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", (ctx) => {
    const { c } = commentOf(ctx);
    const content = ctx.query.get("content");
    return paginate(ctx, c.reactions.filter((x) => !content || x.content === content).map(reactionJson));
  });
  route("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", (ctx) => addReaction(ctx, commentOf(ctx).c.reactions));
  route("DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}", (ctx) => {
    const { r, c } = commentOf(ctx);
    const x = c.reactions.find((y) => y.id === Number(ctx.params.reaction_id));
    if (!x) throw notFound();
    if (x.user !== lc(writerLogin(ctx.auth))) requireRepoPermission(ctx, r, "admin");
    c.reactions = c.reactions.filter((y) => y !== x);
    return { status: 204 };
  });
  route("GET /repos/{owner}/{repo}/issues/{issue_number}/reactions", (ctx) => {
    const r = visibleRepo(ctx);
    return paginate(ctx, issueRec(r, Number(ctx.params.issue_number)).reactions.map(reactionJson));
  });
  route("POST /repos/{owner}/{repo}/issues/{issue_number}/reactions", (ctx) => {
    const r = visibleRepo(ctx);
    return addReaction(ctx, issueRec(r, Number(ctx.params.issue_number)).reactions);
  });

  // Labels
  route("GET /repos/{owner}/{repo}/labels", (ctx) => {
    const r = visibleRepo(ctx);
    return paginate(ctx, [...r.labels.values()].sort((a, b) => a.id - b.id).map((l) => labelJson(r, l)));
  });
  route("GET /repos/{owner}/{repo}/labels/{name}", (ctx) => {
    const r = visibleRepo(ctx);
    const l = r.labels.get(lc(ctx.params.name!));
    if (!l) throw notFound();
    return { status: 200, body: labelJson(r, l) };
  });
  route("POST /repos/{owner}/{repo}/labels", (ctx) => {
    const r = visibleRepo(ctx);
    requireRepoPermission(ctx, r, "write");
    const b = (ctx.body ?? {}) as { name?: unknown; color?: unknown; description?: unknown };
    if (typeof b.name !== "string" || b.name.trim() === "") throw validationFailed([{ resource: "Label", code: "missing_field", field: "name" }]);
    if (r.labels.has(lc(b.name))) throw validationFailed([{ resource: "Label", code: "already_exists", field: "name" }]);
    const color = typeof b.color === "string" ? b.color.replace(/^#/, "") : "ededed";
    if (!/^[0-9a-f]{6}$/i.test(color)) throw validationFailed([{ resource: "Label", code: "invalid", field: "color" }]);
    const l = ensureLabel(r, b.name, color, typeof b.description === "string" ? b.description : null);
    return { status: 201, body: labelJson(r, l) };
  });
  route("GET /repos/{owner}/{repo}/issues/{issue_number}/labels", (ctx) => {
    const r = visibleRepo(ctx);
    const i = issueRec(r, Number(ctx.params.issue_number));
    return paginate(ctx, i.labels.map((k) => labelJson(r, r.labels.get(k)!)));
  });
  const writeLabels = (replace: boolean) => (ctx: Ctx): Reply => {
    const r = visibleRepo(ctx);
    const i = issueRec(r, Number(ctx.params.issue_number));
    requireRepoPermission(ctx, r, "triage");
    setIssueLabels(r, i, labelNamesFromBody(ctx.body), replace);
    return { status: 200, body: i.labels.map((k) => labelJson(r, r.labels.get(k)!)) };
  };
  route("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", writeLabels(false));
  route("PUT /repos/{owner}/{repo}/issues/{issue_number}/labels", writeLabels(true));
  route("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels", (ctx) => {
    const r = visibleRepo(ctx);
    const i = issueRec(r, Number(ctx.params.issue_number));
    requireRepoPermission(ctx, r, "triage");
    i.labels = [];
    i.updated_at = githubTime();
    return { status: 204 };
  });
  route("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", (ctx) => {
    const r = visibleRepo(ctx);
    const i = issueRec(r, Number(ctx.params.issue_number));
    requireRepoPermission(ctx, r, "triage");
    const key = lc(ctx.params.name!);
    if (!i.labels.includes(key)) throw notFound("Label does not exist");
    i.labels = i.labels.filter((k) => k !== key);
    i.updated_at = githubTime();
    return { status: 200, body: i.labels.map((k) => labelJson(r, r.labels.get(k)!)) };
  });

  // ----- GraphQL (only what a bot typically needs: minimizeComment, an issue's closer) -----
  function graphqlOperation(query: string): "query" | "mutation" | "subscription" {
    const stripped = query.replace(/#[^\n]*/g, "").trimStart();
    const m = /^(query|mutation|subscription)\b/.exec(stripped);
    return (m?.[1] as "query" | "mutation" | "subscription" | undefined) ?? "query";
  }

  function handleGraphql(ctx: Ctx): Reply {
    const b = (ctx.body ?? {}) as { query?: unknown; variables?: Record<string, unknown> };
    if (typeof b.query !== "string") return { status: 400, body: { message: "Problems parsing JSON", documentation_url: DOCS } };
    if (ctx.auth.kind === "anonymous") throw unauthorized("This endpoint requires you to be authenticated.");
    const vars = b.variables ?? {};
    const arg = (name: string, block: string): unknown => {
      const lit = new RegExp(`${name}\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(block);
      if (lit) return JSON.parse(`"${lit[1]}"`);
      const enumLit = new RegExp(`${name}\\s*:\\s*([A-Z_]+)\\b`).exec(block);
      if (enumLit) return enumLit[1];
      const v = new RegExp(`${name}\\s*:\\s*\\$(\\w+)`).exec(block);
      if (v) return vars[v[1]!];
      const input = /input\s*:\s*\$(\w+)/.exec(block);
      if (input) return (vars[input[1]!] as Record<string, unknown> | undefined)?.[name];
      return undefined;
    };
    const mm = /\b(minimizeComment|unminimizeComment)\s*\(([\s\S]*?)\)\s*\{/.exec(b.query);
    if (graphqlOperation(b.query) === "mutation" && mm) {
      const subjectId = arg("subjectId", mm[2]!);
      const c = [...commentsById.values()].find((x) => nodeId("IssueComment", x.id) === subjectId);
      if (!c) return { status: 200, body: { data: { [mm[1]!]: null }, errors: [{ type: "NOT_FOUND", path: [mm[1]], message: `Could not resolve to a node with the global id of '${String(subjectId)}'` }] } };
      if (mm[1] === "minimizeComment") {
        const classifier = String(arg("classifier", mm[2]!) ?? "OUTDATED");
        c.minimized = classifier;
        return { status: 200, body: { data: { minimizeComment: { minimizedComment: { isMinimized: true, minimizedReason: classifier.toLowerCase() } } } } };
      }
      c.minimized = null;
      return { status: 200, body: { data: { unminimizeComment: { unminimizedComment: { isMinimized: false } } } } };
    }
    // An issue's latest ClosedEvent. The stand-in closes issues only through REST, as a person does:
    // the closer is never a pull request.
    const rq = /\brepository\s*\(([\s\S]*?)\)\s*\{\s*issue\s*\(([\s\S]*?)\)\s*\{\s*timelineItems\s*\(([\s\S]*?)\)/.exec(b.query);
    if (graphqlOperation(b.query) === "query" && rq && /\bCLOSED_EVENT\b/.test(rq[3]!)) {
      const r = repos.get(lc(`${String(arg("owner", rq[1]!))}/${String(arg("name", rq[1]!))}`));
      const i = r?.issues.get(Number(arg("number", rq[2]!)));
      if (!r || !i) {
        return { status: 200, body: { data: { repository: r ? { issue: null } : null }, errors: [{ type: "NOT_FOUND", path: ["repository"], message: "Could not resolve to an Issue." }] } };
      }
      const nodes = i.closed_at !== null || i.state_reason === "reopened" ? [{ closer: null }] : [];
      return { status: 200, body: { data: { repository: { issue: { timelineItems: { nodes } } } } } };
    }
    return {
      status: 200,
      body: { data: null, errors: [{ type: "NOT_SUPPORTED", message: "The GitHub stand-in does not implement this GraphQL operation (only minimizeComment/unminimizeComment and an issue's CLOSED_EVENT timeline)." }] },
    };
  }

  // ----- control surface (RPC for other processes; never recorded) -----
  const rpcMethods = [
    "addRepo",
    "setFile",
    "addUser",
    "setPermission",
    "addTeamMember",
    "addIssue",
    "addComment",
    "userToken",
    "issue",
    "comments",
    "labels",
    "reactions",
    "minimized",
    "writes",
    "clearRequests",
    "setLatency",
  ] as const;

  // ----- secondary rate limit -----
  function checkSecondaryLimit(actor: string, now: number): void {
    if (limitPerMinute === undefined) return;
    const times = (writeLog.get(actor) ?? []).filter((t) => t > now - 60_000);
    writeLog.set(actor, times);
    if (times.length >= limitPerMinute) {
      const retryAfter = Math.max(1, Math.ceil((times[0]! + 60_000 - now) / 1000));
      throw new HttpError(
        403,
        {
          message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
          documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
          status: "403",
        },
        { "retry-after": String(retryAfter) },
      );
    }
    times.push(now);
  }

  // ----- HTTP plumbing -----
  const rateCount = new Map<string, number>();

  async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  function send(res: http.ServerResponse, reply: Reply, extra: Record<string, string>): void {
    const headers: Record<string, string> = { ...extra, ...(reply.headers ?? {}) };
    if (reply.status === 204 || (reply.body === undefined && !reply.raw)) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    const payload = reply.raw ? reply.raw.text : JSON.stringify(reply.body);
    headers["content-type"] = reply.raw ? reply.raw.contentType : "application/json; charset=utf-8";
    headers["content-length"] = String(Buffer.byteLength(payload));
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = Date.now();
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const parsed = new URL(rawUrl, "http://stand-in");
    let path = parsed.pathname;
    const text = await readBody(req);

    if (path.startsWith("/_standin/")) {
      await handleControl(path, method, text, res);
      return;
    }
    const newApp = /^(?:\/organizations\/([^/]+))?\/settings\/apps\/new$/.exec(path);
    if (newApp && method === "POST") {
      registerManifest(newApp[1] ? decodeURIComponent(newApp[1]) : null, parsed.searchParams, text, res);
      return;
    }

    let prefix = "";
    if (path === "/api/v3" || path.startsWith("/api/v3/")) {
      prefix = "/api/v3";
      path = path.slice(prefix.length) || "/";
    } else if (path === "/api/graphql") {
      prefix = "/api";
      path = "/graphql";
    }

    const record: RecordedRequest = { method, path, url: rawUrl, status: 0, at, durationMs: 0, route: null, actor: null };
    requests.push(record);

    const extra: Record<string, string> = {
      "x-github-request-id": crypto.randomBytes(8).toString("hex").toUpperCase(),
      "x-github-media-type": "github.v3; format=json",
      "x-github-api-version-selected": "2022-11-28",
    };
    let reply: Reply;
    try {
      let body: unknown = undefined;
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
          record.body = body;
        } catch {
          record.body = text;
          throw new HttpError(400, { message: "Problems parsing JSON", documentation_url: DOCS, status: "400" });
        }
      }
      if (latencyMs > 0) await sleep(latencyMs);

      // Match first, so a request that fails authentication still names its route.
      let found: { r: Route; m: RegExpExecArray } | undefined;
      const isGraphql = path === "/graphql" && method === "POST";
      if (isGraphql) record.route = "POST /graphql";
      else {
        for (const r of routes) {
          if (r.method !== method) continue;
          const m = r.re.exec(path);
          if (m) {
            found = { r, m };
            record.route = `${r.method} ${r.template}`;
            break;
          }
        }
      }

      const auth = authenticate(req.headers);
      record.actor = actorOf(auth);
      const ctx: Ctx = { method, params: {}, query: parsed.searchParams, body, auth, headers: req.headers, prefix, path };

      if (isGraphql) {
        const q = (body as { query?: unknown } | undefined)?.query;
        if (typeof q === "string" && graphqlOperation(q) === "mutation" && record.actor) checkSecondaryLimit(record.actor, at);
        reply = handleGraphql(ctx);
      } else {
        if (!found) throw notFound();
        const { r, m } = found;
        r.keys.forEach((k, idx) => {
          ctx.params[k] = decodeURIComponent(m[idx + 1] ?? "");
        });
        if (r.auth === "app" && auth.kind !== "app") throw unauthorized("A JSON web token could not be decoded");
        if (r.auth !== "app" && auth.kind === "app")
          throw forbidden("A JSON web token can only be used to access GitHub App endpoints; request an installation access token.");
        if (r.auth === "token" && auth.kind === "anonymous") throw unauthorized("Requires authentication");
        if (r.write && record.actor) checkSecondaryLimit(record.actor, at);
        reply = await r.handler(ctx);
      }
    } catch (err) {
      if (err instanceof HttpError) reply = { status: err.status, body: err.body, headers: err.headers };
      else reply = { status: 500, body: { message: `Stand-in error: ${(err as Error).message}` } };
    }

    if (record.actor && record.actor !== "app") {
      const used = (rateCount.get(record.actor) ?? 0) + 1;
      rateCount.set(record.actor, used);
      extra["x-ratelimit-limit"] = "5000";
      // The primary limit is not enforced, so never announce it as exhausted: plugin-throttling would
      // read any later 403 carrying "remaining: 0" as a primary limit and wait for the reset.
      extra["x-ratelimit-remaining"] = String(Math.max(1, 5000 - used));
      extra["x-ratelimit-used"] = String(Math.min(5000, used));
      extra["x-ratelimit-reset"] = String(Math.floor(at / 1000) + 3600);
      extra["x-ratelimit-resource"] = path === "/graphql" ? "graphql" : "core";
    }
    record.status = reply.status;
    record.durationMs = Date.now() - at;
    send(res, reply, extra);
  }

  /** github.com's "Create GitHub App from manifest" page, confirmed at once: 302 to redirect_url?code&state. */
  function registerManifest(org: string | null, query: URLSearchParams, text: string, res: http.ServerResponse): void {
    const form = new URLSearchParams(text);
    const refuse = (message: string) => send(res, { status: 422, raw: { text: `${message}\n`, contentType: "text/plain; charset=utf-8" } }, {});
    let manifest: Record<string, unknown>;
    try {
      manifest = JSON.parse(form.get("manifest") ?? "") as Record<string, unknown>;
    } catch {
      return refuse("the manifest form field is not JSON");
    }
    const redirect = manifest.redirect_url;
    const hook = (manifest.hook_attributes as { url?: unknown } | undefined)?.url;
    if (typeof redirect !== "string" || !URL.canParse(redirect)) return refuse("redirect_url must be a URL");
    if (typeof hook !== "string" || !URL.canParse(hook)) return refuse("hook_attributes.url must be a URL");
    if (typeof manifest.name !== "string" || manifest.name === "") return refuse("name is required");
    const state = query.get("state") ?? form.get("state");
    const code = crypto.randomBytes(10).toString("hex");
    manifests.push({ org, state, manifest, code });
    const to = new URL(redirect);
    to.searchParams.set("code", code);
    if (state !== null) to.searchParams.set("state", state);
    send(res, { status: 302, headers: { location: to.toString() } }, {});
  }

  async function handleControl(path: string, method: string, text: string, res: http.ServerResponse): Promise<void> {
    try {
      if (path === "/_standin/requests" && method === "GET") return send(res, { status: 200, body: requests }, {});
      if (path === "/_standin/rpc" && method === "POST") {
        const { method: name, args } = JSON.parse(text) as { method: string; args?: unknown[] };
        if (!(rpcMethods as readonly string[]).includes(name)) return send(res, { status: 404, body: { message: `No such method ${name}` } }, {});
        const fn = standIn[name as (typeof rpcMethods)[number]] as (...a: unknown[]) => unknown;
        const result = fn.apply(standIn, args ?? []);
        return send(res, { status: 200, body: result === undefined ? {} : { result } }, {});
      }
      send(res, { status: 404, body: { message: "Unknown control route" } }, {});
    } catch (err) {
      send(res, { status: 400, body: { message: (err as Error).message } }, {});
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: String(err) }));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  // ----- public object -----
  const standIn: GitHubStandIn = {
    url: base(),
    host,
    apiUrl: api(),
    bot: { id: botAccount.id, login: botAccount.login },
    appId,
    manifests,
    requests,

    addRepo(fullName, o = {}) {
      const { owner, name } = splitRepo(fullName);
      if (repos.has(lc(fullName))) throw new Error(`Repository ${fullName} already exists`);
      const ownerType = o.ownerType ?? "Organization";
      const ownerAccount = ensureAccount(owner, ownerType);
      if (ownerAccount.type !== ownerType) throw new Error(`${owner} already exists as a ${ownerAccount.type}`);
      const installationId = o.installationId ?? 1;
      installations.add(installationId);
      const r: RepoRec = {
        id: o.id ?? defaultRepoId(fullName),
        owner: ownerAccount.login,
        name,
        fullName: `${ownerAccount.login}/${name}`,
        installationId,
        private: o.private ?? false,
        ownerType,
        defaultBranch: o.defaultBranch ?? "main",
        files: new Map(Object.entries(o.files ?? {}).map(([p, t]) => [p.replace(/^\/+/, ""), t])),
        labels: new Map(),
        permissions: new Map(),
        issues: new Map(),
        nextNumber: 1,
        created_at: startedAt,
      };
      repos.set(lc(fullName), r);
    },

    setFile(repo, path, text) {
      const r = repoRec(repo);
      const p = path.replace(/^\/+/, "");
      if (text === null) r.files.delete(p);
      else r.files.set(p, text);
    },

    addUser(login, o = {}) {
      const existing = accountByLogin(login);
      if (existing) {
        if (o.id !== undefined && o.id !== existing.id) throw new Error(`User ${login} already exists with id ${existing.id}`);
        return { id: existing.id, login: existing.login };
      }
      const a = ensureAccount(login, o.type ?? "User", o.id);
      return { id: a.id, login: a.login };
    },

    setPermission(repo, login, permission) {
      const r = repoRec(repo);
      if (!(permission in PERMISSION_RANK)) throw new Error(`Unknown permission ${permission}`);
      ensureAccount(login);
      r.permissions.set(lc(login), permission);
    },

    addTeamMember(org, teamSlug, login) {
      ensureAccount(login);
      let t = teams.get(lc(org));
      if (!t) teams.set(lc(org), (t = new Map()));
      let members = t.get(lc(teamSlug));
      if (!members) t.set(lc(teamSlug), (members = new Set()));
      members.add(lc(login));
    },

    addIssue(repo, o) {
      const r = repoRec(repo);
      const number = o.number ?? r.nextNumber;
      if (r.issues.has(number)) throw new Error(`${r.fullName}#${number} already exists`);
      r.nextNumber = Math.max(r.nextNumber, number + 1);
      ensureAccount(o.author);
      const now = githubTime();
      const closed = o.state === "closed" || o.merged === true;
      const i: IssueRec = {
        id: defaultIssueId(r.fullName, number),
        number,
        title: o.title ?? `Issue ${number}`,
        body: o.body ?? null,
        author: lc(o.author),
        state: closed ? "closed" : "open",
        state_reason: closed && !o.pull_request ? (o.state_reason ?? "completed") : null,
        labels: [],
        assignees: [],
        pull: o.pull_request ?? false,
        merged_at: o.pull_request && o.merged ? now : null,
        merged_by: o.pull_request && o.merged ? lc(o.merged_by ?? o.author) : null,
        locked: false,
        created_at: now,
        updated_at: now,
        closed_at: closed ? now : null,
        closed_by: null,
        comments: [],
        reactions: [],
      };
      for (const name of o.labels ?? []) i.labels.push(lc(ensureLabel(r, name).name));
      for (const a of o.assignees ?? []) i.assignees.push(lc(ensureAccount(a).login));
      if (i.merged_by) ensureAccount(i.merged_by);
      r.issues.set(number, i);
      return issueJson(r, i);
    },

    addComment(repo, issueNumber, o) {
      const r = repoRec(repo);
      const i = r.issues.get(issueNumber);
      if (!i) throw new Error(`${r.fullName}#${issueNumber} does not exist`);
      ensureAccount(o.author);
      return commentJson(createComment(r, i, o.author, o.body, o.id));
    },

    userToken(login) {
      const a = ensureAccount(login);
      let t = userTokens.get(lc(a.login));
      if (!t) {
        t = randomToken("ghp_");
        userTokens.set(lc(a.login), t);
        tokens.set(t, { auth: { kind: "user", login: a.login }, expiresAt: Number.MAX_SAFE_INTEGER });
      }
      return t;
    },

    issue(repo, issueNumber) {
      const r = repoRec(repo);
      const i = r.issues.get(issueNumber);
      if (!i) throw new Error(`${r.fullName}#${issueNumber} does not exist`);
      return issueJson(r, i);
    },

    comments(repo, issueNumber) {
      const r = repoRec(repo);
      const i = r.issues.get(issueNumber);
      if (!i) throw new Error(`${r.fullName}#${issueNumber} does not exist`);
      return i.comments.map((id) => commentJson(commentsById.get(id)!));
    },

    labels(repo, issueNumber) {
      const r = repoRec(repo);
      const i = r.issues.get(issueNumber);
      if (!i) throw new Error(`${r.fullName}#${issueNumber} does not exist`);
      return i.labels.map((k) => r.labels.get(k)!.name);
    },

    reactions(repo, commentId) {
      const r = repoRec(repo);
      const c = commentsById.get(commentId);
      if (!c || c.repoKey !== lc(r.fullName)) throw new Error(`No comment ${commentId} in ${r.fullName}`);
      return c.reactions.map((x) => ({ content: x.content, user: accountByLogin(x.user)!.login }));
    },

    minimized(commentId) {
      const c = commentsById.get(commentId);
      if (!c) throw new Error(`No comment ${commentId}`);
      return c.minimized;
    },

    writes() {
      return requests.filter((q) => {
        if (q.path === "/graphql") {
          const query = (q.body as { query?: unknown } | undefined)?.query;
          return typeof query === "string" && graphqlOperation(query) === "mutation";
        }
        if (q.method === "GET" || q.method === "HEAD") return false;
        return !/^\/app\/installations\/[^/]+\/access_tokens$/.test(q.path);
      });
    },

    clearRequests() {
      requests.length = 0;
    },

    setLatency(ms) {
      latencyMs = ms;
    },

    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return standIn;
}

// ---------------------------------------------------------------------------
// Remote control from another process
// ---------------------------------------------------------------------------

type RpcName =
  | "addRepo"
  | "setFile"
  | "addUser"
  | "setPermission"
  | "addTeamMember"
  | "addIssue"
  | "addComment"
  | "userToken"
  | "issue"
  | "comments"
  | "labels"
  | "reactions"
  | "minimized"
  | "writes"
  | "clearRequests"
  | "setLatency";

type Fn = (...args: never[]) => unknown;
export type RemoteGitHubStandIn = {
  [K in RpcName]: GitHubStandIn[K] extends Fn ? (...args: Parameters<GitHubStandIn[K]>) => Promise<Awaited<ReturnType<GitHubStandIn[K]>>> : never;
} & {
  url: string;
  host: string;
  apiUrl: string;
  requests(): Promise<RecordedRequest[]>;
};

/** Drives a stand-in running in another process (e.g. `node dist/dev/sandbox/serve.js`) through its control surface. */
export function connectGitHubStandIn(url: string): RemoteGitHubStandIn {
  const u = new URL(url);
  const root = `${u.protocol}//${u.host}`;
  const call = async (method: string, args: unknown[]): Promise<unknown> => {
    const res = await fetch(`${root}/_standin/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ method, args }) });
    const data = (await res.json()) as { result?: unknown; message?: string };
    if (!res.ok) throw new Error(`stand-in ${method} failed: ${data.message ?? res.status}`);
    return "result" in data ? data.result : undefined;
  };
  const names: RpcName[] = ["addRepo", "setFile", "addUser", "setPermission", "addTeamMember", "addIssue", "addComment", "userToken", "issue", "comments", "labels", "reactions", "minimized", "writes", "clearRequests", "setLatency"];
  const remote: Record<string, unknown> = {
    url: root,
    host: u.host,
    apiUrl: `${root}/api/v3`,
    async requests() {
      const res = await fetch(`${root}/_standin/requests`);
      return (await res.json()) as RecordedRequest[];
    },
  };
  for (const n of names) remote[n] = (...args: unknown[]) => call(n, args);
  return remote as RemoteGitHubStandIn;
}
