import yaml from "js-yaml";
import type { ProbotOctokit } from "probot";

type Octokit = InstanceType<typeof ProbotOctokit>;

export interface IssueComment {
  id: number;
  body: string;
  userLogin: string;
  /** The author's numeric account id; 0 when GitHub names none (a deleted account). */
  userId: number;
  userType: string;
  /** The GitHub App the comment was made through (`performed_via_github_app.id`), when GitHub says. */
  viaAppId: number | null;
}

/** A GitHub account as the users API describes it. */
export interface GitHubUser {
  id: number;
  login: string;
  /** "User", "Bot" or "Organization" */
  type: string;
}

/** An issue a pull request will close, as GraphQL `closingIssuesReferences` names it. */
export interface ClosingIssue {
  owner: string;
  repo: string;
  repoId: number;
  number: number;
}

/** One commit of a pull request: its message, and the GitHub accounts GitHub matched its author and committer to. */
export interface PullCommit {
  message: string;
  author: { email: string; user: GitHubUser | null };
  committer: { email: string; user: GitHubUser | null };
}

/**
 * What closed an issue last, by GitHub's timeline (the latest ClosedEvent's closer): a pull
 * request (its repository's id and number), or `null` when a person, a commit or nothing
 * GitHub names closed it.
 */
export interface IssueCloser {
  pull: { repoId: number; number: number } | null;
}

/** The GitHub calls bounty-bot makes for one repository; handlers depend on this, not on Octokit. */
export interface RepoGitHub {
  readonly owner: string;
  readonly repo: string;
  listComments(issueNumber: number): Promise<IssueComment[]>;
  createComment(issueNumber: number, body: string): Promise<number>;
  updateComment(commentId: number, body: string): Promise<void>;
  addLabel(issueNumber: number, name: string): Promise<void>;
  /** Removing a label that is not there is not an error. */
  removeLabel(issueNumber: number, name: string): Promise<void>;
  addReaction(commentId: number, content: "+1" | "eyes" | "confused"): Promise<void>;
  /** "admin" | "maintain" | "write" | "triage" | "read" | "none" */
  permission(login: string): Promise<string>;
  isTeamMember(org: string, teamSlug: string, login: string): Promise<boolean>;
  /** A team's members (its child teams' too, as GitHub lists them), or null when the org has no such team the app can see. */
  teamMembers(org: string, teamSlug: string): Promise<GitHubUser[] | null>;
  /** A file's text on the default branch, or null when there is none. */
  readFile(path: string): Promise<string | null>;
  /** .github/bounties.yml (its `_extends` chain, else the org's `.github` file) and the org's file that bounds it. */
  loadConfig(): Promise<LoadedConfig>;
  /** This repository's numeric id, or null when the installation cannot see it. */
  repositoryId(): Promise<number | null>;
  /** A user by login, or null when there is none. */
  user(login: string): Promise<GitHubUser | null>;
  /**
   * The issues a pull request closes by GitHub's own reckoning (keywords and manual links), at
   * most the first 50. When GitHub answers with GraphQL errors, throws Octokit's
   * GraphqlResponseError (name "GraphqlResponseError", with `errors`).
   */
  closingIssues(prNumber: number): Promise<ClosingIssue[]>;
  /** A pull request's commits (GitHub lists at most 250). */
  pullCommits(prNumber: number): Promise<PullCommit[]>;
  /** A user by numeric id (GET /user/{id}), or null when there is none. */
  userById(id: number): Promise<GitHubUser | null>;
  /**
   * What closed an issue last, by its timeline, or null when GitHub knows no such issue. When
   * GitHub answers with GraphQL errors, throws Octokit's GraphqlResponseError as closingIssues does.
   */
  issueCloser(issueNumber: number): Promise<IssueCloser | null>;
  /** Whether the user is a member of the organisation (GET /orgs/{org}/members/{username}: 204 yes, 404 no). */
  isOrgMember(org: string, login: string): Promise<boolean>;
  /** When the account with this id was created (the users API's created_at), or null when there is none. */
  accountCreatedAt(id: number): Promise<Date | null>;
  /**
   * A Discussion's comments and their replies, oldest first (GraphQL, by the Discussion's node id).
   * A bot's login is given as REST gives it (`name[bot]`); `viaAppId` is always null (GraphQL does not say).
   */
  discussionComments(discussionId: string): Promise<DiscussionComment[]>;
  /** addDiscussionComment: the new comment's database id and node id. */
  addDiscussionComment(discussionId: string, body: string): Promise<{ id: number; nodeId: string }>;
  /** updateDiscussionComment, by the comment's node id. */
  updateDiscussionComment(commentNodeId: string, body: string): Promise<void>;
  /** addReaction on a Discussion comment, by its node id. */
  addDiscussionReaction(commentNodeId: string, content: "+1" | "eyes" | "confused"): Promise<void>;
}

/** A comment of a GitHub Discussion: an issue comment's fields and the node id GraphQL writes by. */
export interface DiscussionComment extends IssueComment {
  nodeId: string;
}

const DISCUSSION_COMMENTS_QUERY = `query ($id: ID!, $after: String) {
  node(id: $id) {
    ... on Discussion {
      comments(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id databaseId body
          author { __typename login ... on User { databaseId } ... on Bot { databaseId } }
          replies(first: 100) { nodes { id databaseId body author { __typename login ... on User { databaseId } ... on Bot { databaseId } } } }
        }
      }
    }
  }
}`;

type GraphqlComment = {
  id: string;
  databaseId: number | null;
  body: string | null;
  author: { __typename: string; login: string; databaseId?: number | null } | null;
};
type DiscussionCommentsAnswer = {
  node: {
    comments?: {
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
      nodes: Array<(GraphqlComment & { replies?: { nodes: Array<GraphqlComment | null> } | null }) | null>;
    };
  } | null;
};

const REACTIONS = { "+1": "THUMBS_UP", eyes: "EYES", confused: "CONFUSED" } as const;

/** GraphQL names a bot `name`, REST `name[bot]`: comments are compared in REST's form. */
function fromGraphql(c: GraphqlComment): DiscussionComment {
  const bot = c.author?.__typename === "Bot";
  const login = c.author?.login ?? "";
  return {
    id: c.databaseId ?? 0,
    nodeId: c.id,
    body: c.body ?? "",
    userLogin: bot && !login.endsWith("[bot]") ? `${login}[bot]` : login,
    userId: c.author?.databaseId ?? 0,
    userType: bot ? "Bot" : c.author ? "User" : "",
    viaAppId: null,
  };
}

const CLOSING_ISSUES_QUERY = `query ($owner: String!, $repo: String!, $number: Int!) {
  repository(owner: $owner, name: $repo) {
    pullRequest(number: $number) {
      closingIssuesReferences(first: 50) {
        nodes { number repository { databaseId name owner { login } } }
      }
    }
  }
}`;

type ClosingIssuesAnswer = {
  repository: {
    pullRequest: {
      closingIssuesReferences: {
        nodes: Array<{ number: number; repository: { databaseId: number; name: string; owner: { login: string } } } | null>;
      } | null;
    } | null;
  } | null;
};

const ISSUE_CLOSER_QUERY = `query ($owner: String!, $repo: String!, $number: Int!) {
  repository(owner: $owner, name: $repo) {
    issue(number: $number) {
      timelineItems(itemTypes: [CLOSED_EVENT], last: 1) {
        nodes { ... on ClosedEvent { closer { __typename ... on PullRequest { number repository { databaseId } } } } }
      }
    }
  }
}`;

type IssueCloserAnswer = {
  repository: {
    issue: {
      timelineItems: {
        nodes: Array<{ closer?: { __typename: string; number?: number; repository?: { databaseId: number } } | null } | null>;
      } | null;
    } | null;
  } | null;
};

type RestUser = { id: number; login: string; type?: string } | null | undefined;
const toUser = (u: RestUser): GitHubUser | null => (u ? { id: u.id, login: u.login, type: u.type ?? "User" } : null);

export const CONFIG_PATH = ".github/bounties.yml";

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Merges an `_extends` chain (base first, the repository's own file last): objects merge key by
 * key, while lists and scalars from a later file replace earlier ones (two `max_bounty` lists
 * must not be concatenated into duplicate currencies).
 */
export function mergeConfigs(configs: unknown[]): Record<string, unknown> {
  const merge = (a: unknown, b: unknown): unknown => {
    if (!isPlainObject(a) || !isPlainObject(b)) return b;
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  };
  return configs.filter((c) => c !== null && c !== undefined).reduce<Record<string, unknown>>(
    (acc, c) => merge(acc, c) as Record<string, unknown>,
    {},
  );
}

/** A config file that cannot be used: not YAML, not a mapping, or `_extends` outside the account. */
export class ConfigFileError extends Error {}

/** The settings a repository runs with, and the org-wide file that bounds them. */
export interface LoadedConfig {
  /** The repository's own file merged over its `_extends` chain, else the org's `.github` file; null when none exists. */
  config: unknown;
  /**
   * The org's `<owner>/.github` file (its own `_extends` chain merged) when the repository has a file
   * of its own: what that file may add to funders and budgets is bounded by it. Null when the org has
   * no file, or when `config` is the org's file itself.
   */
  bound: unknown;
}

const EXTENDS_RE = /^(?:([a-z\d](?:[a-z\d]|-(?=[a-z\d])){0,38})\/)?([-_.\w\d]+)(?::([-_./\w\d]+\.ya?ml))?$/i;

/**
 * Reads the config the way Probot's config plugin does (the repository's file, else the org's
 * `.github` repository; `_extends: repo` or `_extends: owner/repo` followed, later files as bases),
 * with two differences that keep the operator's bounds: `_extends` may only name repositories of the
 * same account (refused before anything is fetched), and the org's file is read as the bound of a
 * repository that has a file of its own.
 */
export async function loadConfigFiles(
  fetchFile: (repo: string) => Promise<string | { notAFile: true } | null>,
  owner: string,
  repo: string,
): Promise<LoadedConfig> {
  const read = async (r: string): Promise<Record<string, unknown> | null> => {
    const where = `${owner}/${r}:${CONFIG_PATH}`;
    const text = await fetchFile(r);
    if (text === null) return null;
    if (typeof text !== "string") throw new ConfigFileError(`${where} is a directory or a submodule, not a file`);
    let parsed: unknown;
    try {
      parsed = yaml.load(text);
    } catch (err) {
      throw new ConfigFileError(`${where} is not valid YAML: ${String((err as Error).message).split("\n")[0]}`);
    }
    if (parsed === null || parsed === undefined) return {};
    if (!isPlainObject(parsed)) throw new ConfigFileError(`${where} is not a mapping of settings`);
    return parsed;
  };
  /** The files of one chain, first the one `start` names, then what it extends. */
  const chain = async (start: string, first: Record<string, unknown>): Promise<Array<{ repo: string; config: Record<string, unknown> }>> => {
    const files = [{ repo: start, config: first }];
    for (let current = files[0]!; "_extends" in current.config; ) {
      const value = current.config["_extends"];
      const { _extends: _, ...rest } = current.config;
      current.config = rest;
      const m = typeof value === "string" ? EXTENDS_RE.exec(value.trim()) : null;
      if (!m) throw new ConfigFileError(`_extends: ${JSON.stringify(value)} in ${owner}/${current.repo} is not a repository like ".github" or "${owner}/.github"`);
      if (m[1] !== undefined && m[1].toLowerCase() !== owner.toLowerCase()) {
        throw new ConfigFileError(
          `_extends: "${value}" in ${owner}/${current.repo} names a repository of another account (${m[1]}); ` +
            `a config may only extend repositories of ${owner}`,
        );
      }
      if (m[3] !== undefined && m[3] !== CONFIG_PATH) {
        throw new ConfigFileError(`_extends: "${value}" in ${owner}/${current.repo} names another file; only ${CONFIG_PATH} is read`);
      }
      const next = m[2]!;
      if (files.some((f) => f.repo.toLowerCase() === next.toLowerCase())) {
        throw new ConfigFileError(`_extends: "${value}" in ${owner}/${current.repo} loops back to ${owner}/${next}`);
      }
      const config = await read(next);
      if (config === null) break;
      current = { repo: next, config };
      files.push(current);
    }
    return files;
  };
  const merged = (files: Array<{ config: Record<string, unknown> }>) => mergeConfigs(files.map((f) => f.config).reverse());
  const isOrgRepo = (r: string) => r.toLowerCase() === ORG_CONFIG_REPO;

  const own = await read(repo);
  if (own === null) {
    if (isOrgRepo(repo)) return { config: null, bound: null };
    const org = await read(ORG_CONFIG_REPO);
    return { config: org === null ? null : merged(await chain(ORG_CONFIG_REPO, org)), bound: null };
  }
  const files = await chain(repo, own);
  if (isOrgRepo(repo)) return { config: merged(files), bound: null };
  const at = files.findIndex((f) => isOrgRepo(f.repo));
  if (at !== -1) return { config: merged(files), bound: merged(files.slice(at)) };
  const org = await read(ORG_CONFIG_REPO);
  return { config: merged(files), bound: org === null ? null : merged(await chain(ORG_CONFIG_REPO, org)) };
}

/** The repository whose config is the organisation's. */
const ORG_CONFIG_REPO = ".github";

const status = (err: unknown): number | undefined =>
  typeof err === "object" && err !== null && "status" in err ? Number((err as { status: unknown }).status) : undefined;

export function octokitRepo(octokit: Octokit, owner: string, repo: string): RepoGitHub {
  return {
    owner,
    repo,
    async listComments(issueNumber) {
      const all = await octokit.paginate(octokit.rest.issues.listComments, {
        owner,
        repo,
        issue_number: issueNumber,
        per_page: 100,
      });
      return all.map((c) => ({
        id: c.id,
        body: c.body ?? "",
        userLogin: c.user?.login ?? "",
        userId: c.user?.id ?? 0,
        userType: c.user?.type ?? "",
        viaAppId: (c as { performed_via_github_app?: { id?: number } | null }).performed_via_github_app?.id ?? null,
      }));
    },
    async createComment(issueNumber, body) {
      const res = await octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
      return res.data.id;
    },
    async updateComment(commentId, body) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
    },
    async addLabel(issueNumber, name) {
      await octokit.rest.issues.addLabels({ owner, repo, issue_number: issueNumber, labels: [name] });
    },
    async removeLabel(issueNumber, name) {
      try {
        await octokit.rest.issues.removeLabel({ owner, repo, issue_number: issueNumber, name });
      } catch (err) {
        if (status(err) !== 404) throw err;
      }
    },
    async addReaction(commentId, content) {
      await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: commentId, content });
    },
    async permission(login) {
      try {
        const res = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: login });
        // role_name tells "maintain" apart; the legacy permission field folds it into "write".
        const role = (res.data as { role_name?: string }).role_name;
        return role && role !== "" ? role : res.data.permission;
      } catch (err) {
        if (status(err) === 404) return "none";
        throw err;
      }
    },
    async isTeamMember(org, teamSlug, login) {
      try {
        const res = await octokit.rest.teams.getMembershipForUserInOrg({ org, team_slug: teamSlug, username: login });
        return res.data.state === "active";
      } catch (err) {
        if (status(err) === 404) return false;
        throw err;
      }
    },
    async teamMembers(org, teamSlug) {
      try {
        const all = await octokit.paginate(octokit.rest.teams.listMembersInOrg, { org, team_slug: teamSlug, per_page: 100 });
        return all.flatMap((u) => toUser(u as RestUser) ?? []);
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    async readFile(path) {
      try {
        const res = await octokit.rest.repos.getContent({ owner, repo, path });
        const data = res.data as { type?: string; content?: string; encoding?: string };
        if (Array.isArray(res.data) || data.type !== "file" || typeof data.content !== "string") return null;
        return Buffer.from(data.content, (data.encoding as BufferEncoding) ?? "base64").toString("utf8");
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    async loadConfig() {
      return loadConfigFiles(async (r) => {
        try {
          const res = await octokit.request("GET /repos/{owner}/{repo}/contents/{path}", {
            owner,
            repo: r,
            path: CONFIG_PATH,
            mediaType: { format: "raw" },
          });
          return typeof res.data === "string" ? res.data : { notAFile: true };
        } catch (err) {
          if (status(err) === 404) return null;
          throw err;
        }
      }, owner, repo);
    },
    async repositoryId() {
      try {
        return (await octokit.rest.repos.get({ owner, repo })).data.id;
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    async user(login) {
      try {
        return toUser((await octokit.rest.users.getByUsername({ username: login })).data);
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    async closingIssues(prNumber) {
      const data = await octokit.graphql<ClosingIssuesAnswer>(CLOSING_ISSUES_QUERY, { owner, repo, number: prNumber });
      const nodes = data.repository?.pullRequest?.closingIssuesReferences?.nodes ?? [];
      return nodes.flatMap((n) =>
        n ? [{ owner: n.repository.owner.login, repo: n.repository.name, repoId: n.repository.databaseId, number: n.number }] : [],
      );
    },
    async userById(id) {
      try {
        return toUser((await octokit.request("GET /user/{account_id}", { account_id: id })).data as RestUser);
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    async issueCloser(issueNumber) {
      const data = await octokit.graphql<IssueCloserAnswer>(ISSUE_CLOSER_QUERY, { owner, repo, number: issueNumber });
      const issue = data.repository?.issue;
      if (!issue) return null;
      const closer = issue.timelineItems?.nodes?.at(-1)?.closer;
      return closer?.__typename === "PullRequest" && closer.number !== undefined && closer.repository
        ? { pull: { repoId: closer.repository.databaseId, number: closer.number } }
        : { pull: null };
    },
    async isOrgMember(org, login) {
      try {
        const res = await octokit.request("GET /orgs/{org}/members/{username}", { org, username: login });
        return (res.status as number) === 204;
      } catch (err) {
        if (status(err) === 404) return false;
        throw err;
      }
    },
    async discussionComments(discussionId) {
      const all: DiscussionComment[] = [];
      let after: string | null = null;
      // At most 50 pages (5,000 comments): a card is found among them, and a Discussion is rarely longer.
      for (let page = 0; page < 50; page++) {
        const data: DiscussionCommentsAnswer = await octokit.graphql<DiscussionCommentsAnswer>(DISCUSSION_COMMENTS_QUERY, { id: discussionId, after });
        const comments = data.node?.comments;
        if (!comments) throw new Error(`GitHub knows no Discussion ${discussionId}`);
        for (const c of comments.nodes) {
          if (!c) continue;
          all.push(fromGraphql(c));
          for (const r of c.replies?.nodes ?? []) if (r) all.push(fromGraphql(r));
        }
        if (!comments.pageInfo.hasNextPage) break;
        after = comments.pageInfo.endCursor;
      }
      return all;
    },
    async addDiscussionComment(discussionId, body) {
      const data = await octokit.graphql<{ addDiscussionComment: { comment: { id: string; databaseId: number } } }>(
        `mutation ($id: ID!, $body: String!) { addDiscussionComment(input: { discussionId: $id, body: $body }) { comment { id databaseId } } }`,
        { id: discussionId, body },
      );
      const c = data.addDiscussionComment.comment;
      return { id: c.databaseId, nodeId: c.id };
    },
    async updateDiscussionComment(commentNodeId, body) {
      await octokit.graphql(
        `mutation ($id: ID!, $body: String!) { updateDiscussionComment(input: { commentId: $id, body: $body }) { comment { id } } }`,
        { id: commentNodeId, body },
      );
    },
    async addDiscussionReaction(commentNodeId, content) {
      await octokit.graphql(
        `mutation ($id: ID!, $content: ReactionContent!) { addReaction(input: { subjectId: $id, content: $content }) { reaction { content } } }`,
        { id: commentNodeId, content: REACTIONS[content] },
      );
    },
    async accountCreatedAt(id) {
      try {
        const data = (await octokit.request("GET /user/{account_id}", { account_id: id })).data as { created_at?: string };
        const at = data.created_at ? new Date(data.created_at) : null;
        return at && !Number.isNaN(at.getTime()) ? at : null;
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    async pullCommits(prNumber) {
      const all = await octokit.paginate(octokit.rest.pulls.listCommits, { owner, repo, pull_number: prNumber, per_page: 100 });
      return all.map((c) => ({
        message: c.commit.message,
        author: { email: c.commit.author?.email ?? "", user: toUser(c.author as RestUser) },
        committer: { email: c.commit.committer?.email ?? "", user: toUser(c.committer as RestUser) },
      }));
    },
  };
}
