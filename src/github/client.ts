import type { ProbotOctokit } from "probot";

type Octokit = InstanceType<typeof ProbotOctokit>;

export interface IssueComment {
  id: number;
  body: string;
  userLogin: string;
  userType: string;
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
  /** A file's text on the default branch, or null when there is none. */
  readFile(path: string): Promise<string | null>;
  /** .github/bounties.yml the way Probot's context.config reads it (_extends, the org's .github repo). */
  loadConfig(): Promise<unknown>;
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
        userType: c.user?.type ?? "",
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
      const { config, files } = await octokit.config.get({
        owner,
        repo,
        path: CONFIG_PATH,
        defaults: (configs: object[]) => mergeConfigs(configs),
      });
      return files.every((f) => f.config === null) ? null : config;
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
