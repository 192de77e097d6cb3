import crypto from "node:crypto";
import { Octokit } from "@octokit/rest";
import { pino } from "pino";
import { octokitRepo } from "../../src/github/client.js";
import { closerOf } from "../../src/github/closing.js";
import { startGitHubStandIn, type GitHubStandIn } from "../../dev/sandbox/github.js";

const REPO = "kubernetes/website";
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A minimal RS256 app JWT, as @octokit/auth-app makes them. */
function appJwt(privateKey: crypto.KeyObject): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = `${enc({ alg: "RS256", typ: "JWT" })}.${enc({ iat: now - 30, exp: now + 540, iss: 1 })}`;
  return `${head}.${crypto.sign("RSA-SHA256", Buffer.from(head), privateKey).toString("base64url")}`;
}

describe("the GitHub stand-in answers the issue-closer query the app asks", () => {
  let gh: GitHubStandIn;
  let repo: ReturnType<typeof octokitRepo>;

  beforeAll(async () => {
    const keys = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    gh = await startGitHubStandIn({ app: { publicKey: keys.publicKey, checkIssuer: true } });
    gh.addRepo(REPO, { installationId: 7 });
    gh.addUser("alice");
    gh.setPermission(REPO, "alice", "maintain");
    const token = await new Octokit({ baseUrl: gh.apiUrl, auth: appJwt(keys.privateKey), log: silent }).rest.apps.createInstallationAccessToken({
      installation_id: 7,
    });
    const octokit = new Octokit({ baseUrl: gh.apiUrl, auth: token.data.token, log: silent });
    repo = octokitRepo(octokit as unknown as Parameters<typeof octokitRepo>[0], "kubernetes", "website");
  });

  afterAll(async () => {
    await gh.close();
  });

  test("open: no closer; closed by a person: no pull request; an unknown issue: GitHub could not say", async () => {
    const log = pino({ level: "silent" });
    const issue = gh.addIssue(REPO, { author: "alice" });
    expect(await repo.issueCloser(issue.number)).toEqual({ pull: null });
    const alice = new Octokit({ baseUrl: gh.url, auth: gh.userToken("alice"), log: silent });
    await alice.rest.issues.update({ owner: "kubernetes", repo: "website", issue_number: issue.number, state: "closed", state_reason: "completed" });
    expect(await closerOf(repo, issue.number, log)).toEqual({ kind: "none" });
    expect(await closerOf(repo, 9999, log)).toEqual({ kind: "failed" });
  });
});
