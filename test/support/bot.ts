import { createHmac, generateKeyPairSync, randomUUID } from "node:crypto";
import nock from "nock";
import { pino } from "pino";
import { startBountyBot, type BountyBot, type StartOptions } from "../../src/server.js";
import { loadSettings } from "../../src/settings.js";
import type { Db } from "../../src/store/db.js";
import { REPO } from "./payloads.js";

export const API = "https://api.github.com";
export const SECRET = "test-webhook-secret";
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

/** bounty-bot on a loopback port with a test database; GitHub is nock's. Throttling off. */
export async function startTestBot(
  db: Db,
  env: Record<string, string> = {},
  opts: Pick<StartOptions, "payouts" | "prices" | "log" | "appRetryMs" | "githubTimeoutMs" | "chain"> & {
    /** What GET /app answers at start (once); null: the test mocks GET /app itself. */
    githubApp?: { slug: string; owner: string } | null;
  } = {},
): Promise<BountyBot> {
  const settings = loadSettings({
    APP_ID: "123",
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: SECRET,
    // The fixtures' repositories belong to REPO.owner; the GET /app default is tested on its own.
    ALLOWED_ACCOUNTS: REPO.owner,
    PORT: "0",
    HOST: "127.0.0.1",
    BITCOIN_NETWORK: "testnet",
    ...env,
  });
  const { githubApp = { slug: "bounty-bot", owner: REPO.owner }, ...start } = opts;
  // Every start asks GitHub who the app is: the fixtures' bot is bounty-bot[bot], owned by REPO.owner.
  const asked = githubApp ? mockApp(githubApp) : undefined;
  try {
    return await startBountyBot(settings, { db, log: pino({ level: "silent" }), throttle: false, cardDebounceMs: 0, sweepMs: 60_000, ...start });
  } catch (err) {
    // Refused before GitHub was asked (e.g. no WEBHOOK_SECRET): that GET /app is not owed.
    if (asked && !asked.isDone()) nock.removeInterceptor({ proto: "https", hostname: "api.github.com", method: "GET", path: "/app" });
    throw err;
  }
}

/** Posts a webhook the way GitHub does: signed, with event and delivery headers. */
export async function deliver(
  bot: BountyBot,
  event: string,
  payload: object,
  opts: { id?: string; secret?: string } = {},
): Promise<{ status: number; id: string }> {
  const id = opts.id ?? randomUUID();
  const body = JSON.stringify(payload);
  const sig = createHmac("sha256", opts.secret ?? SECRET).update(body).digest("hex");
  const res = await fetch(`${bot.url}/api/github/webhooks`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": id,
      "x-hub-signature-256": `sha256=${sig}`,
      "user-agent": "GitHub-Hookshot/test",
    },
    body,
  });
  await res.text();
  return { status: res.status, id };
}

/** GitHub as nock answers it, for the test repository. */
export function github() {
  return nock(API);
}
export const repoPath = `/repos/${REPO.owner}/${REPO.name}`;

/** GET /app with the app's JWT: the app's slug and the account that owns it. */
export function mockApp(app: { slug: string; owner: string }) {
  return github()
    .get("/app")
    .reply(200, { id: 123, slug: app.slug, name: app.slug, owner: { login: app.owner, id: 1, type: "Organization" } });
}

export function mockToken(installationId = REPO.installationId) {
  return github()
    .post(`/app/installations/${installationId}/access_tokens`)
    .reply(201, { token: "ghs_test", expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: {} });
}

/** No .github/bounties.yml in the repo nor in the org's .github repository. */
export function mockNoConfig() {
  return github()
    .get(`${repoPath}/contents/${encodeURIComponent(".github/bounties.yml")}`)
    .reply(404, { message: "Not Found" })
    .get(`/repos/${REPO.owner}/.github/contents/${encodeURIComponent(".github/bounties.yml")}`)
    .reply(404, { message: "Not Found" });
}

/**
 * The repository's .github/bounties.yml, and the org's `.github` file read beside it as the bound
 * of what the repository's file may add (none by default). With `org: "extended"` the repository's
 * file extends the org's, which is then read once, as its base; mock it yourself.
 */
export function mockConfig(yaml: string, org: string | null | "extended" = null) {
  const scope = github()
    .get(`${repoPath}/contents/${encodeURIComponent(".github/bounties.yml")}`)
    .reply(200, yaml);
  if (org === "extended") return scope;
  const orgFile = scope.get(`/repos/${REPO.owner}/.github/contents/${encodeURIComponent(".github/bounties.yml")}`);
  return org === null ? orgFile.reply(404, { message: "Not Found" }) : orgFile.reply(200, org);
}

export function mockPermission(login: string, permission: string) {
  return github()
    .get(`${repoPath}/collaborators/${login}/permission`)
    .reply(200, { permission: permission === "maintain" ? "write" : permission, role_name: permission, user: { login } });
}

/** GraphQL closingIssuesReferences for a PR of the test repository; refs default to the test repository. */
export function mockClosingIssues(
  prNumber: number,
  issues: Array<number | { number: number; owner: string; repo: string; repoId: number }>,
) {
  const nodes = issues.map((i) =>
    typeof i === "number"
      ? { number: i, repository: { databaseId: REPO.id, name: REPO.name, owner: { login: REPO.owner } } }
      : { number: i.number, repository: { databaseId: i.repoId, name: i.repo, owner: { login: i.owner } } },
  );
  return github()
    .post("/graphql", (b: { query?: string; variables?: { owner?: string; repo?: string; number?: number } }) =>
      Boolean(b.query?.includes("closingIssuesReferences")) &&
      b.variables?.owner === REPO.owner &&
      b.variables?.repo === REPO.name &&
      b.variables?.number === prNumber,
    )
    .reply(200, { data: { repository: { pullRequest: { closingIssuesReferences: { nodes } } } } });
}

/** GET /users/{login}: the account, or 404 when `user` is null. */
export function mockUser(login: string, user: { id: number; type?: string } | null) {
  const scope = github().get(`/users/${login}`);
  return user === null
    ? scope.reply(404, { message: "Not Found" })
    : scope.reply(200, { login, id: user.id, type: user.type ?? "User" });
}

/** GET the commits of a PR: messages, and the accounts GitHub matched their authors to. */
export function mockPullCommits(
  prNumber: number,
  commits: Array<{ message: string; email?: string; user?: { login: string; id: number; type?: string } | null }>,
) {
  return github()
    .get(`${repoPath}/pulls/${prNumber}/commits`)
    .query(true)
    .reply(
      200,
      commits.map((c, i) => {
        const who = { name: c.user?.login ?? "someone", email: c.email ?? "someone@example.com", date: "2024-01-01T00:00:00Z" };
        const account = c.user ? { login: c.user.login, id: c.user.id, type: c.user.type ?? "User" } : null;
        return {
          sha: `${i}`.padStart(40, "a"),
          commit: { message: c.message, author: who, committer: who },
          author: account,
          committer: account,
        };
      }),
    );
}

/**
 * GraphQL: what closed an issue of the test repository last (its timeline's latest ClosedEvent):
 * a PR number (of the test repository, or `{ number, repoId }`), null for a person or a commit,
 * or "error" for GitHub answering with errors.
 */
export function mockIssueCloser(issueNumber: number, closer: number | { number: number; repoId: number } | null | "error") {
  const scope = github().post("/graphql", (b: { query?: string; variables?: { owner?: string; repo?: string; number?: number } }) =>
    Boolean(b.query?.includes("CLOSED_EVENT")) &&
    b.variables?.owner === REPO.owner &&
    b.variables?.repo === REPO.name &&
    b.variables?.number === issueNumber,
  );
  if (closer === "error") return scope.reply(200, { data: null, errors: [{ type: "FORBIDDEN", message: "Resource not accessible by integration" }] });
  const pr = typeof closer === "number" ? { number: closer, repoId: REPO.id } : closer;
  const node = pr === null
    ? { closer: { __typename: "User" } }
    : { closer: { __typename: "PullRequest", number: pr.number, repository: { databaseId: pr.repoId } } };
  return scope.reply(200, { data: { repository: { issue: { timelineItems: { nodes: [node] } } } } });
}

/** GET /user/{id}: the account with that id, or 404 when `user` is null. */
export function mockUserById(id: number, user: { login: string; type?: string } | null) {
  const scope = github().get(`/user/${id}`);
  return user === null ? scope.reply(404, { message: "Not Found" }) : scope.reply(200, { login: user.login, id, type: user.type ?? "User" });
}
