import type { ClosingIssue, GitHubUser, PullCommit, RepoGitHub } from "../../src/github/client.js";

/** A RepoGitHub for unit tests: the closing-issue, repository, user and commit calls, answered from tables; `calls` records them. */
export function fakeGitHub(o: {
  linked?: ClosingIssue[] | Error;
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
    async pullCommits(n: number) {
      calls.push(`commits ${n}`);
      return o.commits ?? [];
    },
  };
  return gh as unknown as RepoGitHub & { calls: string[] };
}
