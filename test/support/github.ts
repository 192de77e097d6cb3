import type { ClosingIssue, GitHubUser, IssueCloser, PullCommit, RepoGitHub } from "../../src/github/client.js";

/** A RepoGitHub for unit tests: the closing-issue, closer, repository, user and commit calls, answered from tables; `calls` records them. */
export function fakeGitHub(o: {
  linked?: ClosingIssue[] | Error;
  closer?: IssueCloser | null | Error;
  usersById?: Record<number, GitHubUser>;
  repoIds?: Record<string, number>;
  users?: Record<string, GitHubUser>;
  commits?: PullCommit[];
  repo?: string;
}): RepoGitHub & { calls: string[] } {
  const calls: string[] = [];
  const repo = o.repo ?? "website";
  const gh = {
    owner: "kubernetes",
    repo,
    calls,
    async closingIssues(n: number) {
      calls.push(`graphql ${n}`);
      if (o.linked instanceof Error) throw o.linked;
      return o.linked ?? [];
    },
    async repositoryId() {
      calls.push(`repo ${repo}`);
      return o.repoIds?.[repo] ?? null;
    },
    async user(login: string) {
      calls.push(`user ${login}`);
      return o.users?.[login] ?? null;
    },
    async userById(id: number) {
      calls.push(`user #${id}`);
      return o.usersById?.[id] ?? null;
    },
    async issueCloser(n: number) {
      calls.push(`closer ${n}`);
      if (o.closer instanceof Error) throw o.closer;
      return o.closer === undefined ? { pull: null } : o.closer;
    },
    async pullCommits(n: number) {
      calls.push(`commits ${n}`);
      return o.commits ?? [];
    },
  };
  return gh as unknown as RepoGitHub & { calls: string[] };
}
