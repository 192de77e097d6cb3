import { pino } from "pino";
import { closerOf, issuesClosedBy } from "../../src/github/closing.js";
import { fakeGitHub } from "../support/github.js";

const log = pino({ level: "silent" });
const here = { owner: "kubernetes", repo: "website", repoId: 1, defaultBranch: "main" };

const graphqlError = (type: string) => Object.assign(new Error("GraphQL errors"), { name: "GraphqlResponseError", errors: [{ type, message: "x" }] });

describe("issuesClosedBy", () => {
  test("when GraphQL answers, its list is the whole truth: keywords in the description add nothing", async () => {
    const gh = fakeGitHub({
      linked: [
        { owner: "kubernetes", repo: "website", repoId: 1, number: 5 },
        { owner: "Someone-Else", repo: "website", repoId: 99, number: 6 },
        { owner: "kubernetes", repo: "website", repoId: 1, number: 5 },
      ],
    });
    const issues = await issuesClosedBy(
      gh,
      { number: 10, body: "Fixes #5\nFixes #7\nFixes kubernetes/community#8", baseRef: "main" },
      here,
      async (_owner, repo) => fakeGitHub({ repo, repoIds: { community: 2 } }),
      log,
    );
    expect(issues).toEqual([{ owner: "kubernetes", repo: "website", repoId: 1, number: 5 }]);
    expect(gh.calls).toEqual(["graphql 10"]);
  });

  test("the keyword fallback: deduplicated, other accounts' and unseen repositories dropped", async () => {
    const gh = fakeGitHub({ linked: graphqlError("NOT_SUPPORTED") });
    const others = new Map([["kubernetes/community", fakeGitHub({ repo: "community", repoIds: { community: 2 } })]]);
    const issues = await issuesClosedBy(
      gh,
      { number: 10, body: "Fixes #5\nFixes #5\nFixes Kubernetes/Community#7\nFixes kubernetes/gone#8\nFixes someone-else/website#9", baseRef: "main" },
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
    const gh = fakeGitHub({ linked: graphqlError("NOT_SUPPORTED") });
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

describe("closerOf", () => {
  test("a PR, nobody named, or failed when GraphQL answers with errors or knows no such issue; other errors are thrown", async () => {
    expect(await closerOf(fakeGitHub({ closer: { pull: { repoId: 1, number: 12 } } }), 5, log)).toEqual({ kind: "pull", repoId: 1, number: 12 });
    expect(await closerOf(fakeGitHub({ closer: { pull: null } }), 5, log)).toEqual({ kind: "none" });
    expect(await closerOf(fakeGitHub({ closer: null }), 5, log)).toEqual({ kind: "failed" });
    expect(await closerOf(fakeGitHub({ closer: graphqlError("FORBIDDEN") }), 5, log)).toEqual({ kind: "failed" });
    await expect(closerOf(fakeGitHub({ closer: graphqlError("RATE_LIMITED") }), 5, log)).rejects.toThrow();
    const http = Object.assign(new Error("Bad gateway"), { status: 502 });
    await expect(closerOf(fakeGitHub({ closer: http }), 5, log)).rejects.toThrow("Bad gateway");
  });
});
