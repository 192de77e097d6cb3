import { pino } from "pino";
import { issuesClosedBy } from "../../src/github/closing.js";
import { fakeGitHub } from "../support/github.js";

const log = pino({ level: "silent" });
const here = { owner: "kubernetes", repo: "website", repoId: 1, defaultBranch: "main" };

const graphqlError = (type: string) => Object.assign(new Error("GraphQL errors"), { name: "GraphqlResponseError", errors: [{ type, message: "x" }] });

describe("issuesClosedBy", () => {
  test("GraphQL's list first, then keywords, deduplicated; other accounts' repositories dropped", async () => {
    const gh = fakeGitHub({
      linked: [
        { owner: "kubernetes", repo: "website", repoId: 1, number: 5 },
        { owner: "Someone-Else", repo: "website", repoId: 99, number: 6 },
      ],
    });
    const others = new Map([["kubernetes/community", fakeGitHub({ repo: "community", repoIds: { community: 2 } })]]);
    const issues = await issuesClosedBy(
      gh,
      { number: 10, body: "Fixes #5\nFixes Kubernetes/Community#7\nFixes kubernetes/gone#8\nFixes someone-else/website#9", baseRef: "main" },
      here,
      async (owner, repo) => others.get(`${owner.toLowerCase()}/${repo.toLowerCase()}`) ?? fakeGitHub({ repo }),
      log,
    );
    expect(issues).toEqual([
      { owner: "kubernetes", repo: "website", repoId: 1, number: 5 },
      { owner: "Kubernetes", repo: "Community", repoId: 2, number: 7 },
    ]);
  });

  test("keywords count only for a PR into the default branch", async () => {
    const gh = fakeGitHub({});
    const into = (baseRef: string) => issuesClosedBy(gh, { number: 10, body: "Fixes #5", baseRef }, here, async () => gh, log);
    expect(await into("main")).toEqual([{ owner: "kubernetes", repo: "website", repoId: 1, number: 5 }]);
    expect(await into("release-1.31")).toEqual([]);
  });

  test("GraphQL answering with errors falls back to keywords; a rate limit or an HTTP error is thrown for a retry", async () => {
    const pr = { number: 10, body: "Closes #5", baseRef: "main" };
    const fallback = await issuesClosedBy(fakeGitHub({ linked: graphqlError("NOT_SUPPORTED") }), pr, here, async () => fakeGitHub({}), log);
    expect(fallback.map((i) => i.number)).toEqual([5]);
    await expect(issuesClosedBy(fakeGitHub({ linked: graphqlError("RATE_LIMITED") }), pr, here, async () => fakeGitHub({}), log)).rejects.toThrow();
    const http = Object.assign(new Error("Bad gateway"), { status: 502 });
    await expect(issuesClosedBy(fakeGitHub({ linked: http }), pr, here, async () => fakeGitHub({}), log)).rejects.toThrow("Bad gateway");
  });
});
