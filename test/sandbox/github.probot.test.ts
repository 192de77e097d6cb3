import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { Probot, createNodeMiddleware, createProbot, type ApplicationFunction } from "probot";
import { startGitHubStandIn, type GitHubStandIn } from "../../dev/sandbox/github.js";
import { ProbotOctokitUnthrottled } from "../../dev/sandbox/probot.js";
import { commentInputFrom, issueCommentCreated, issueInputFrom } from "../../dev/sandbox/payloads.js";
import { deliver } from "../../dev/sandbox/webhooks.js";

const APP_ID = 4242;
const SECRET = "sandbox-secret";
const REPO = "kubernetes/kubernetes";
const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const PEM = privateKey.export({ type: "pkcs1", format: "pem" }).toString();

/** A pino logger whose lines we can read. */
function capturingLog(): { log: pino.Logger; lines: () => Array<{ msg: string; level: number }> } {
  const out: string[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void out.push(s) });
  return { log, lines: () => out.map((s) => JSON.parse(s) as { msg: string; level: number }) };
}

async function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function close(server: http.Server): Promise<void> {
  await new Promise<void>((r) => server.close(() => r()));
  server.closeAllConnections();
}

function gap(gh: GitHubStandIn, a: number, b: number): number {
  const w = gh.writes();
  return w[b]!.at - w[a]!.at;
}

describe("a real Probot against the stand-in", () => {
  let gh: GitHubStandIn;

  beforeAll(async () => {
    gh = await startGitHubStandIn({ app: { id: APP_ID, publicKey, checkIssuer: true } });
    gh.addRepo(REPO, { installationId: 7, files: { ".github/bounties.yml": "minimum_sats: 10000\nlabels:\n  bounty: bounty\n" } });
    gh.addRepo("kubernetes/website", { installationId: 7 });
    gh.addRepo("kubernetes/.github", { installationId: 7, files: { ".github/bounties.yml": "minimum_sats: 5000\norg_default: true\n" } });
    gh.addRepo("solo/project", { installationId: 11, ownerType: "User" });
    gh.setPermission(REPO, "alice", "maintain");
    gh.addUser("bob");
    gh.addTeamMember("kubernetes", "bounty-admins", "alice");
  });
  afterAll(async () => {
    await gh.close();
  });

  test("GHE_PROTOCOL/GHE_HOST make Probot talk to <host>/api/v3; installation tokens are cached", async () => {
    const { log } = capturingLog();
    const probot = createProbot({
      env: { APP_ID: String(APP_ID), PRIVATE_KEY: PEM, WEBHOOK_SECRET: SECRET, GHE_HOST: gh.host, GHE_PROTOCOL: "http" },
      overrides: { log, Octokit: ProbotOctokitUnthrottled },
    });
    gh.clearRequests();
    const octokit = await probot.auth(7);
    const repo = await octokit.rest.repos.get({ owner: "kubernetes", repo: "kubernetes" });
    expect(repo.data.full_name).toBe(REPO);
    await (await probot.auth(7)).rest.users.getByUsername({ username: "alice" });
    expect(gh.requests.map((r) => [r.method, r.url])).toEqual([
      ["POST", "/api/v3/app/installations/7/access_tokens"],
      ["GET", "/api/v3/repos/kubernetes/kubernetes"],
      ["GET", "/api/v3/users/alice"],
    ]);
    expect(gh.requests.map((r) => r.actor)).toEqual(["app", "installation:7", "installation:7"]);
    // the app itself (JWT): GET /app
    const appOctokit = await probot.auth();
    expect((await appOctokit.rest.apps.getAuthenticated()).data).toMatchObject({ id: APP_ID, slug: "bounty-bot" });
  });

  test("octokit.config.get reads .github/bounties.yml from the repo, else from the org's .github repo", async () => {
    const probot = new Probot({ appId: APP_ID, privateKey: PEM, baseUrl: gh.apiUrl, log: capturingLog().log, Octokit: ProbotOctokitUnthrottled });
    const octokit = await probot.auth(7);
    gh.clearRequests();
    const own = await octokit.config.get({ owner: "kubernetes", repo: "kubernetes", path: ".github/bounties.yml" });
    expect(own.config).toEqual({ minimum_sats: 10000, labels: { bounty: "bounty" } });
    expect(own.files.map((f) => f.repo)).toEqual(["kubernetes"]);

    const inherited = await octokit.config.get({ owner: "kubernetes", repo: "website", path: ".github/bounties.yml", defaults: { minimum_sats: 1 } });
    expect(inherited.config).toEqual({ minimum_sats: 5000, org_default: true });
    expect(inherited.files.map((f) => [f.repo, f.config !== null])).toEqual([
      ["website", false],
      [".github", true],
    ]);
    // both reads went through the contents API; the first 404 was tolerated by the plugin
    expect(gh.requests.filter((r) => r.route?.includes("/contents")).map((r) => `${r.status} ${r.path}`)).toEqual([
      "200 /repos/kubernetes/kubernetes/contents/.github%2Fbounties.yml",
      "404 /repos/kubernetes/website/contents/.github%2Fbounties.yml",
      "200 /repos/kubernetes/.github/contents/.github%2Fbounties.yml",
    ]);

    // _extends works too, since it is just more contents reads
    gh.setFile("kubernetes/website", ".github/bounties.yml", "_extends: kubernetes\nextra: 1\n");
    const extended = await octokit.config.get({ owner: "kubernetes", repo: "website", path: ".github/bounties.yml" });
    expect(extended.config).toEqual({ minimum_sats: 10000, labels: { bounty: "bounty" }, extra: 1 });
    gh.setFile("kubernetes/website", ".github/bounties.yml", null);

    // a directory at the config path is rejected by the plugin, as on GitHub
    gh.setFile("kubernetes/website", ".github/dir.yml/x", "y");
    await expect(octokit.config.get({ owner: "kubernetes", repo: "website", path: ".github/dir.yml" })).rejects.toThrow(/directory or a submodule/);
  });

  test("a signed issue_comment webhook runs a handler end to end: context.config, permission, reaction, reply, label", async () => {
    const seen: Array<{ cfg: unknown; permission: string; role: string; member: boolean }> = [];
    const appFn: ApplicationFunction = (app) => {
      app.on("issue_comment.created", async (context) => {
        if (context.isBot) return;
        const cfg = await context.config<{ minimum_sats: number }>("bounties.yml", { minimum_sats: 0 });
        const login = context.payload.sender.login;
        const perm = await context.octokit.rest.repos.getCollaboratorPermissionLevel(context.repo({ username: login }));
        const member = await context.octokit.rest.teams
          .getMembershipForUserInOrg({ org: context.payload.repository.owner.login, team_slug: "bounty-admins", username: login })
          .then(() => true)
          .catch((e: { status?: number }) => (e.status === 404 ? false : Promise.reject(e)));
        seen.push({ cfg, permission: perm.data.permission, role: perm.data.role_name, member });
        await context.octokit.rest.reactions.createForIssueComment(context.repo({ comment_id: context.payload.comment.id, content: "eyes" as const }));
        const reply = await context.octokit.rest.issues.createComment(context.issue({ body: `Bounty acknowledged (min ${cfg!.minimum_sats} sats)` }));
        await context.octokit.rest.issues.updateComment(context.repo({ comment_id: reply.data.id, body: `${reply.data.body} ✅` }));
        await context.octokit.rest.issues.addLabels(context.issue({ labels: ["bounty"] }));
      });
    };
    const probot = new Probot({ appId: APP_ID, privateKey: PEM, baseUrl: gh.apiUrl, secret: SECRET, log: capturingLog().log, Octokit: ProbotOctokitUnthrottled });
    const middleware = await createNodeMiddleware(appFn, { probot });
    const { url, server } = await listen((req, res) => void middleware(req, res));
    try {
      const issue = gh.addIssue(REPO, { author: "bob", title: "Kubelet leaks memory" });
      const comment = gh.addComment(REPO, issue.number, { author: "alice", body: "/bounty 50000" });
      const payload = issueCommentCreated({ repo: REPO, installationId: 7, issue: issueInputFrom(gh.issue(REPO, issue.number)), comment: commentInputFrom(comment) });
      gh.clearRequests();
      const res = await deliver(`${url}/api/github/webhooks`, SECRET, "issue_comment", payload);
      expect(res).toMatchObject({ status: 200, body: "ok\n" });

      expect(seen).toEqual([{ cfg: { minimum_sats: 10000, labels: { bounty: "bounty" } }, permission: "write", role: "maintain", member: true }]);
      expect(gh.reactions(REPO, comment.id)).toEqual([{ content: "eyes", user: "bounty-bot[bot]" }]);
      const comments = gh.comments(REPO, issue.number);
      expect(comments.map((c) => [c.user.login, c.body])).toEqual([
        ["alice", "/bounty 50000"],
        ["bounty-bot[bot]", "Bounty acknowledged (min 10000 sats) ✅"],
      ]);
      expect(gh.labels(REPO, issue.number)).toEqual(["bounty"]);
      expect(gh.writes().map((w) => w.route)).toEqual([
        "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
        "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
      ]);
      expect(gh.requests.filter((r) => r.route === null)).toEqual([]);

      // bob (read, not in the team) is seen as such; a bad signature never reaches the handler
      const c2 = gh.addComment(REPO, issue.number, { author: "bob", body: "/bounty 1" });
      const p2 = issueCommentCreated({ repo: REPO, installationId: 7, issue: issueInputFrom(gh.issue(REPO, issue.number)), comment: commentInputFrom(c2) });
      expect((await deliver(`${url}/api/github/webhooks`, SECRET, "issue_comment", p2)).status).toBe(200);
      expect(seen[1]).toMatchObject({ permission: "read", role: "read", member: false });
      const bad = await deliver(`${url}/api/github/webhooks`, "wrong-secret", "issue_comment", p2);
      expect(bad.status).toBe(400);
      expect(seen).toHaveLength(2);

      // the bot's own comment event is ignored via context.isBot (sender.type === "Bot")
      const mine = gh.comments(REPO, issue.number).find((c) => c.user.type === "Bot")!;
      const p3 = issueCommentCreated({ repo: REPO, installationId: 7, issue: issueInputFrom(gh.issue(REPO, issue.number)), comment: commentInputFrom(mine) });
      expect(p3.sender.type).toBe("Bot");
      expect((await deliver(`${url}/api/github/webhooks`, SECRET, "issue_comment", p3)).status).toBe(200);
      expect(seen).toHaveLength(2);
    } finally {
      await close(server);
    }
  });

  test("a user-owned repository's installation works the same way", async () => {
    const probot = new Probot({ appId: APP_ID, privateKey: PEM, baseUrl: gh.apiUrl, log: capturingLog().log, Octokit: ProbotOctokitUnthrottled });
    const octokit = await probot.auth(11);
    const issue = gh.addIssue("solo/project", { author: "solo" });
    const perm = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: "solo", repo: "project", username: "solo" });
    expect(perm.data).toMatchObject({ permission: "admin", role_name: "admin" });
    await octokit.rest.issues.createComment({ owner: "solo", repo: "project", issue_number: issue.number, body: "hi" });
    await expect(octokit.rest.repos.get({ owner: "kubernetes", repo: "kubernetes" })).rejects.toMatchObject({ status: 404 });
  });
});

describe("Probot's throttling against the stand-in", () => {
  test("default Probot spaces writes >= 1 s and comment creation >= 3 s per throttle id", async () => {
    const gh = await startGitHubStandIn({ app: { id: APP_ID } });
    try {
      gh.addRepo(REPO, { installationId: 21 });
      const issue = gh.addIssue(REPO, { author: "bob" });
      const probot = new Probot({ appId: APP_ID, privateKey: PEM, baseUrl: gh.apiUrl, log: capturingLog().log });
      const octokit = await probot.auth(21);
      const o = { owner: "kubernetes", repo: "kubernetes", issue_number: issue.number };
      await octokit.rest.issues.get(o); // fetch the installation token first, so it does not skew the first gap
      await octokit.rest.issues.createComment({ ...o, body: "one" });
      await octokit.rest.issues.createComment({ ...o, body: "two" });
      await octokit.rest.issues.addLabels({ ...o, labels: ["a"] });
      await octokit.rest.issues.addLabels({ ...o, labels: ["b"] });
      expect(gh.writes()).toHaveLength(4);
      expect(gap(gh, 0, 1)).toBeGreaterThanOrEqual(2700); // Bottleneck's clock starts when the slot is granted, a little before arrival
      expect(gap(gh, 2, 3)).toBeGreaterThanOrEqual(900);
      expect(gap(gh, 2, 3)).toBeLessThan(2000);
    } finally {
      await gh.close();
    }
  }, 20_000);

  test("context.octokit of different installations share one throttle queue (id \"no-id\")", async () => {
    const gh = await startGitHubStandIn({ app: { id: APP_ID } });
    const probot = new Probot({ appId: APP_ID, privateKey: PEM, baseUrl: gh.apiUrl, secret: SECRET, log: capturingLog().log });
    const middleware = await createNodeMiddleware(
      (app) => {
        app.on("issue_comment.created", async (context) => {
          await context.octokit.rest.issues.createComment(context.issue({ body: "ack" }));
        });
      },
      { probot },
    );
    const { url, server } = await listen((req, res) => void middleware(req, res));
    try {
      const payloads = [31, 32].map((installationId) => {
        const repo = `org${installationId}/repo`;
        gh.addRepo(repo, { installationId });
        const issue = gh.addIssue(repo, { author: "bob" });
        const c = gh.addComment(repo, issue.number, { author: "alice", body: "/bounty 5" });
        return issueCommentCreated({ repo, installationId, issue: issueInputFrom(issue), comment: commentInputFrom(c) });
      });
      const results = await Promise.all(payloads.map((p) => deliver(`${url}/api/github/webhooks`, SECRET, "issue_comment", p)));
      expect(results.map((r) => r.status)).toEqual([200, 200]);
      expect(gh.writes().map((w) => w.actor).sort()).toEqual(["installation:31", "installation:32"]);
      expect(gap(gh, 0, 1)).toBeGreaterThanOrEqual(2700);
    } finally {
      await close(server);
      await gh.close();
    }
  }, 20_000);

  test("ProbotOctokitUnthrottled removes the spacing, for app.auth() and context.octokit alike", async () => {
    const gh = await startGitHubStandIn({ app: { id: APP_ID } });
    const probot = new Probot({ appId: APP_ID, privateKey: PEM, baseUrl: gh.apiUrl, secret: SECRET, log: capturingLog().log, Octokit: ProbotOctokitUnthrottled });
    const middleware = await createNodeMiddleware(
      (app) => {
        app.on("issue_comment.created", async (context) => {
          for (let k = 0; k < 5; k++) await context.octokit.rest.issues.createComment(context.issue({ body: `reply ${k}` }));
        });
      },
      { probot },
    );
    const { url, server } = await listen((req, res) => void middleware(req, res));
    try {
      gh.addRepo(REPO, { installationId: 22 });
      const issue = gh.addIssue(REPO, { author: "bob" });
      const octokit = await probot.auth(22);
      const t0 = performance.now();
      for (let k = 0; k < 5; k++) await octokit.rest.issues.createComment({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number, body: `c${k}` });
      const c = gh.addComment(REPO, issue.number, { author: "alice", body: "/bounty 5" });
      const res = await deliver(`${url}/api/github/webhooks`, SECRET, "issue_comment", issueCommentCreated({ repo: REPO, installationId: 22, issue: { number: issue.number, author: "bob" }, comment: commentInputFrom(c) }));
      expect(res.status).toBe(200);
      expect(gh.writes()).toHaveLength(10);
      // throttled, these 10 comment creations would take >= 27 s (3 s apart)
      expect(performance.now() - t0).toBeLessThan(10_000);
      const w = gh.writes();
      expect(w.at(-1)!.at - w[0]!.at).toBeLessThan(10_000);
    } finally {
      await close(server);
      await gh.close();
    }
  });

  test("a secondary rate limit 403 is logged but not retried by Probot", async () => {
    const gh = await startGitHubStandIn({ app: { id: APP_ID }, secondaryRateLimit: { writesPerMinute: 1 } });
    try {
      gh.addRepo(REPO, { installationId: 23 });
      const issue = gh.addIssue(REPO, { author: "bob" });
      const { log, lines } = capturingLog();
      const probot = new Probot({ appId: APP_ID, privateKey: PEM, baseUrl: gh.apiUrl, log });
      const octokit = await probot.auth(23);
      const o = { owner: "kubernetes", repo: "kubernetes", issue_number: issue.number };
      await octokit.rest.issues.addLabels({ ...o, labels: ["a"] });
      await expect(octokit.rest.issues.addLabels({ ...o, labels: ["b"] })).rejects.toMatchObject({ status: 403 });
      expect(gh.writes().map((w) => w.status)).toEqual([200, 403]); // no retry
      expect(lines().some((l) => /Secondary quota detected/.test(l.msg))).toBe(true);
      expect(gh.labels(REPO, issue.number)).toEqual(["a"]);
    } finally {
      await gh.close();
    }
  }, 10_000);
});
