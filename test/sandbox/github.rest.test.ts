import crypto from "node:crypto";
import { Octokit as RestOctokit } from "@octokit/rest";
import { connectGitHubStandIn, startGitHubStandIn, type GitHubStandIn } from "../../dev/sandbox/github.js";
import { defaultAccountId } from "../../dev/sandbox/ids.js";

/** A minimal RS256 app JWT, as @octokit/auth-app makes them. */
function appJwt(privateKey: crypto.KeyObject, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = enc({ alg: "RS256", typ: "JWT" });
  const body = enc({ iat: now - 30, exp: now + 540, iss: 1, ...claims });
  const sig = crypto.sign("RSA-SHA256", Buffer.from(`${head}.${body}`), privateKey).toString("base64url");
  return `${head}.${body}.${sig}`;
}

const REPO = "kubernetes/kubernetes";
// @octokit/rest logs every failed request with console.error; these tests fail requests on purpose.
const log = { debug() {}, info() {}, warn() {}, error() {} };
class Octokit extends RestOctokit {
  constructor(options: ConstructorParameters<typeof RestOctokit>[0] = {}) {
    super({ log, ...options });
  }
}

describe("GitHub stand-in over HTTP with @octokit/rest", () => {
  let gh: GitHubStandIn;
  let keys: crypto.KeyPairKeyObjectResult;
  let app: Octokit; // authenticated as the app's installation 7
  let alice: Octokit; // a human with a personal token

  beforeAll(async () => {
    keys = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    gh = await startGitHubStandIn({ app: { publicKey: keys.publicKey, checkIssuer: true } });
    gh.addRepo(REPO, { installationId: 7, files: { ".github/bounties.yml": "currency: BTC\nmin: 1000\n", OWNERS: "approvers:\n- alice\n", "docs/a.md": "a" } });
    gh.addRepo("kubernetes/.github", { installationId: 7, files: { ".github/bounties.yml": "org: true\n" } });
    gh.addRepo("other-org/thing", { installationId: 99 });
    gh.addUser("alice");
    gh.addUser("bob");
    gh.setPermission(REPO, "alice", "maintain");
    gh.setPermission(REPO, "carol", "triage");
    gh.addTeamMember("kubernetes", "sig-node-leads", "alice");
    const jwt = appJwt(keys.privateKey);
    const tokenRes = await new Octokit({ baseUrl: gh.apiUrl, auth: jwt }).rest.apps.createInstallationAccessToken({ installation_id: 7 });
    app = new Octokit({ baseUrl: gh.apiUrl, auth: tokenRes.data.token });
    alice = new Octokit({ baseUrl: gh.url, auth: gh.userToken("alice") });
  });

  afterAll(async () => {
    await gh.close();
  });

  test("installation tokens: JWT is checked, token shape is GitHub's, unknown installation is 404", async () => {
    const viaApp = new Octokit({ baseUrl: gh.apiUrl, auth: appJwt(keys.privateKey) });
    const res = await viaApp.rest.apps.createInstallationAccessToken({ installation_id: 7 });
    expect(res.status).toBe(201);
    expect(res.data.token).toMatch(/^ghs_/);
    expect(Date.parse(res.data.expires_at) - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(res.data.repository_selection).toBe("all");
    expect((await viaApp.rest.apps.getAuthenticated()).data).toMatchObject({ id: 1, slug: "bounty-bot" });
    expect((await viaApp.rest.apps.getRepoInstallation({ owner: "kubernetes", repo: "kubernetes" })).data).toMatchObject({ id: 7, app_id: 1, account: { login: "kubernetes", type: "Organization" } });
    await expect(viaApp.rest.apps.createInstallationAccessToken({ installation_id: 8 })).rejects.toMatchObject({ status: 404 });

    const other = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const forged = new Octokit({ baseUrl: gh.apiUrl, auth: appJwt(other.privateKey) });
    await expect(forged.rest.apps.createInstallationAccessToken({ installation_id: 7 })).rejects.toMatchObject({ status: 401 });
    const expired = new Octokit({ baseUrl: gh.apiUrl, auth: appJwt(keys.privateKey, { exp: Math.floor(Date.now() / 1000) - 5 }) });
    await expect(expired.rest.apps.createInstallationAccessToken({ installation_id: 7 })).rejects.toMatchObject({ status: 401 });
    const wrongIssuer = new Octokit({ baseUrl: gh.apiUrl, auth: appJwt(keys.privateKey, { iss: 2 }) });
    await expect(wrongIssuer.rest.apps.createInstallationAccessToken({ installation_id: 7 })).rejects.toMatchObject({ status: 401 });
    // A JWT is not an installation token.
    await expect(viaApp.rest.issues.get({ owner: "kubernetes", repo: "kubernetes", issue_number: 1 })).rejects.toMatchObject({ status: 403 });
    await expect(new Octokit({ baseUrl: gh.apiUrl, auth: "ghs_not-a-real-token" }).rest.repos.get({ owner: "kubernetes", repo: "kubernetes" })).rejects.toMatchObject({ status: 401 });
  });

  test("serves the API under /api/v3 and at the root", async () => {
    const root = new Octokit({ baseUrl: gh.url });
    const a = await root.rest.repos.get({ owner: "kubernetes", repo: "kubernetes" });
    const b = await app.rest.repos.get({ owner: "kubernetes", repo: "kubernetes" });
    expect(a.data.full_name).toBe(REPO);
    expect(b.data.id).toBe(a.data.id);
    expect(b.data.owner).toMatchObject({ login: "kubernetes", type: "Organization" });
    const paths = gh.requests.slice(-2).map((r) => [r.url.startsWith("/api/v3/"), r.path, r.route]);
    expect(paths).toEqual([
      [false, "/repos/kubernetes/kubernetes", "GET /repos/{owner}/{repo}"],
      [true, "/repos/kubernetes/kubernetes", "GET /repos/{owner}/{repo}"],
    ]);
  });

  test("installation tokens only reach their installation's repositories", async () => {
    await expect(app.rest.repos.get({ owner: "other-org", repo: "thing" })).rejects.toMatchObject({ status: 404 });
  });

  test("contents: base64 JSON, raw media type, directories and 404", async () => {
    const json = await app.rest.repos.getContent({ owner: "kubernetes", repo: "kubernetes", path: ".github/bounties.yml" });
    const file = json.data as { type: string; encoding: string; content: string; sha: string; path: string };
    expect(file).toMatchObject({ type: "file", encoding: "base64", path: ".github/bounties.yml" });
    expect(Buffer.from(file.content, "base64").toString()).toBe("currency: BTC\nmin: 1000\n");
    // git blob sha, like GitHub's
    expect(file.sha).toBe(crypto.createHash("sha1").update("blob 24\0currency: BTC\nmin: 1000\n").digest("hex"));

    const raw = await app.rest.repos.getContent({ owner: "kubernetes", repo: "kubernetes", path: "OWNERS", mediaType: { format: "raw" } });
    expect(raw.data).toBe("approvers:\n- alice\n");
    expect(raw.headers["content-type"]).toBe("text/plain; charset=utf-8");

    const dir = await app.rest.repos.getContent({ owner: "kubernetes", repo: "kubernetes", path: ".github" });
    expect(dir.data).toEqual([expect.objectContaining({ type: "file", name: "bounties.yml", path: ".github/bounties.yml" })]);
    const root = await app.rest.repos.getContent({ owner: "kubernetes", repo: "kubernetes", path: "" });
    expect((root.data as Array<{ name: string; type: string }>).map((e) => `${e.type}:${e.name}`)).toEqual(["dir:.github", "dir:docs", "file:OWNERS"]);

    await expect(app.rest.repos.getContent({ owner: "kubernetes", repo: "kubernetes", path: "missing.yml" })).rejects.toMatchObject({ status: 404, response: { data: { message: "Not Found" } } });
    gh.setFile(REPO, "docs/a.md", null);
    await expect(app.rest.repos.getContent({ owner: "kubernetes", repo: "kubernetes", path: "docs/a.md" })).rejects.toMatchObject({ status: 404 });
  });

  test("collaborator permission: role_name is exact, permission is GitHub's legacy fold; unknown user 404", async () => {
    const get = (username: string) => app.rest.repos.getCollaboratorPermissionLevel({ owner: "kubernetes", repo: "kubernetes", username });
    expect((await get("alice")).data).toMatchObject({ permission: "write", role_name: "maintain", user: { login: "alice", permissions: { maintain: true, admin: false } } });
    expect((await get("carol")).data).toMatchObject({ permission: "read", role_name: "triage" });
    // an existing user without a role on a public repository reads
    expect((await get("bob")).data).toMatchObject({ permission: "read", role_name: "read", user: { login: "bob" } });
    await expect(get("nobody-at-all")).rejects.toMatchObject({ status: 404 });
  });

  test("team membership and users", async () => {
    const m = await app.rest.teams.getMembershipForUserInOrg({ org: "kubernetes", team_slug: "sig-node-leads", username: "Alice" });
    expect(m.data).toMatchObject({ state: "active", role: "member" });
    await expect(app.rest.teams.getMembershipForUserInOrg({ org: "kubernetes", team_slug: "sig-node-leads", username: "bob" })).rejects.toMatchObject({ status: 404 });
    await expect(app.rest.teams.getMembershipForUserInOrg({ org: "kubernetes", team_slug: "no-such-team", username: "alice" })).rejects.toMatchObject({ status: 404 });
    // No x-github-enterprise-version header, so plugin-enterprise-compatibility leaves the 404 alone.
    const u = await app.rest.users.getByUsername({ username: "alice" });
    expect(u.data).toMatchObject({ login: "alice", id: defaultAccountId("alice"), type: "User" });
    await expect(app.rest.users.getByUsername({ username: "ghost-404" })).rejects.toMatchObject({ status: 404 });
    expect((await app.rest.users.getByUsername({ username: "bounty-bot[bot]" })).data.type).toBe("Bot");
  });

  test("comments: pagination with GitHub's Link header, create/edit/delete, authorship", async () => {
    const issue = gh.addIssue(REPO, { title: "Flaky test", author: "bob" });
    expect(issue.id).toBeGreaterThan(2 ** 31);
    for (let k = 1; k <= 75; k++) gh.addComment(REPO, issue.number, { author: k % 2 ? "alice" : "bob", body: `comment ${k}` });

    const page2 = await app.rest.issues.listComments({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number, per_page: 30, page: 2 });
    expect(page2.data.map((c) => c.body)).toEqual(Array.from({ length: 30 }, (_, k) => `comment ${k + 31}`));
    const base = `${gh.apiUrl}/repos/kubernetes/kubernetes/issues/${issue.number}/comments`;
    expect(page2.headers.link).toBe(
      `<${base}?per_page=30&page=1>; rel="prev", <${base}?per_page=30&page=3>; rel="next", <${base}?per_page=30&page=3>; rel="last", <${base}?per_page=30&page=1>; rel="first"`,
    );
    const page3 = await app.rest.issues.listComments({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number, per_page: 30, page: 3 });
    expect(page3.data).toHaveLength(15);
    expect(page3.headers.link).not.toContain('rel="next"');

    const all = await app.paginate(app.rest.issues.listComments, { owner: "kubernetes", repo: "kubernetes", issue_number: issue.number, per_page: 30 });
    expect(all).toHaveLength(75);
    expect(new Set(all.map((c) => c.id)).size).toBe(75);
    expect(all[0]!.id).toBeGreaterThan(2 ** 31);
    // default page size is 30
    expect((await app.rest.issues.listComments({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number })).data).toHaveLength(30);

    const before = gh.writes().length;
    const created = await app.rest.issues.createComment({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number, body: "Bounty of 10k sats posted" });
    expect(created.status).toBe(201);
    expect(created.data.user).toMatchObject({ login: "bounty-bot[bot]", type: "Bot", id: gh.bot.id });
    expect(created.data.html_url).toBe(`${gh.url}/kubernetes/kubernetes/issues/${issue.number}#issuecomment-${created.data.id}`);
    const edited = await app.rest.issues.updateComment({ owner: "kubernetes", repo: "kubernetes", comment_id: created.data.id, body: "Bounty of 20k sats posted" });
    expect(edited.data.body).toBe("Bounty of 20k sats posted");
    expect((await app.rest.issues.getComment({ owner: "kubernetes", repo: "kubernetes", comment_id: created.data.id })).data.body).toBe("Bounty of 20k sats posted");
    expect(gh.comments(REPO, issue.number).at(-1)).toMatchObject({ id: created.data.id, body: "Bounty of 20k sats posted", user: { login: "bounty-bot[bot]" } });
    expect(gh.issue(REPO, issue.number).comments).toBe(76);

    // validation like GitHub's
    await expect(app.rest.issues.createComment({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number, body: "" })).rejects.toMatchObject({ status: 422 });
    await expect(app.rest.issues.createComment({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number, body: "x".repeat(65537) })).rejects.toMatchObject({ status: 422 });
    await expect(app.rest.issues.createComment({ owner: "kubernetes", repo: "kubernetes", issue_number: 999999, body: "hi" })).rejects.toMatchObject({ status: 404 });

    // a human cannot edit someone else's comment without write access, but can edit their own
    const bobs = gh.comments(REPO, issue.number).find((c) => c.user.login === "bob")!;
    const carol = new Octokit({ baseUrl: gh.apiUrl, auth: gh.userToken("carol") });
    await expect(carol.rest.issues.updateComment({ owner: "kubernetes", repo: "kubernetes", comment_id: bobs.id, body: "hijack" })).rejects.toMatchObject({ status: 403 });
    const bob = new Octokit({ baseUrl: gh.apiUrl, auth: gh.userToken("bob") });
    await bob.rest.issues.updateComment({ owner: "kubernetes", repo: "kubernetes", comment_id: bobs.id, body: "edited by bob" });
    expect(gh.comments(REPO, issue.number).find((c) => c.id === bobs.id)!.body).toBe("edited by bob");

    await app.rest.issues.deleteComment({ owner: "kubernetes", repo: "kubernetes", comment_id: created.data.id });
    expect(gh.comments(REPO, issue.number).some((c) => c.id === created.data.id)).toBe(false);
    await expect(app.rest.issues.getComment({ owner: "kubernetes", repo: "kubernetes", comment_id: created.data.id })).rejects.toMatchObject({ status: 404 });

    const w = gh.writes().slice(before);
    // 3 failed creates + create + edit + carol's failed edit + bob's edit + delete
    expect(w.map((r) => `${r.method} ${r.status}`)).toEqual(["POST 201", "PATCH 200", "POST 422", "POST 422", "POST 404", "PATCH 403", "PATCH 200", "DELETE 204"]);
    expect(w.map((r) => r.actor)).toEqual(["installation:7", "installation:7", "installation:7", "installation:7", "installation:7", "user:carol", "user:bob", "installation:7"]);
  });

  test("reactions: 201 new, 200 when the same user already reacted the same way, 422 on bad content", async () => {
    const issue = gh.addIssue(REPO, { author: "alice" });
    const c = gh.addComment(REPO, issue.number, { author: "alice", body: "/bounty 50000" });
    const react = (content: "+1" | "eyes" | "rocket", who: Octokit = app) =>
      who.rest.reactions.createForIssueComment({ owner: "kubernetes", repo: "kubernetes", comment_id: c.id, content });
    const first = await react("eyes");
    expect(first.status).toBe(201);
    const again = await react("eyes");
    expect(again.status).toBe(200);
    expect(again.data.id).toBe(first.data.id);
    expect((await react("rocket")).status).toBe(201);
    expect((await react("eyes", alice)).status).toBe(201);
    expect(gh.reactions(REPO, c.id)).toEqual([
      { content: "eyes", user: "bounty-bot[bot]" },
      { content: "rocket", user: "bounty-bot[bot]" },
      { content: "eyes", user: "alice" },
    ]);
    await expect(app.request({ method: "POST", url: `/repos/kubernetes/kubernetes/issues/comments/${c.id}/reactions`, content: "thumbsup" })).rejects.toMatchObject({ status: 422 });
    const listed = await app.rest.reactions.listForIssueComment({ owner: "kubernetes", repo: "kubernetes", comment_id: c.id, content: "eyes" });
    expect(listed.data.map((r) => r.user?.login)).toEqual(["bounty-bot[bot]", "alice"]);
    expect((await app.rest.issues.getComment({ owner: "kubernetes", repo: "kubernetes", comment_id: c.id })).data.reactions).toMatchObject({ total_count: 3, eyes: 2, rocket: 1 });
  });

  test("labels: add (auto-creating), list, remove, 404 for an absent label; close via PATCH", async () => {
    const issue = gh.addIssue(REPO, { author: "bob", labels: ["kind/bug"] });
    const o = { owner: "kubernetes", repo: "kubernetes", issue_number: issue.number };
    const added = await app.rest.issues.addLabels({ ...o, labels: ["bounty", "bounty/50k-sats"] });
    expect(added.status).toBe(200);
    expect(added.data.map((l) => l.name)).toEqual(["kind/bug", "bounty", "bounty/50k-sats"]);
    expect((await app.rest.issues.addLabels({ ...o, labels: ["Bounty"] })).data).toHaveLength(3); // case-insensitive, no duplicate
    expect((await app.rest.issues.listLabelsOnIssue(o)).data.map((l) => l.name)).toEqual(["kind/bug", "bounty", "bounty/50k-sats"]);
    const removed = await app.rest.issues.removeLabel({ ...o, name: "bounty/50k-sats" });
    expect(removed.data.map((l) => l.name)).toEqual(["kind/bug", "bounty"]);
    await expect(app.rest.issues.removeLabel({ ...o, name: "bounty/50k-sats" })).rejects.toMatchObject({ status: 404, response: { data: { message: "Label does not exist" } } });
    expect(gh.labels(REPO, issue.number)).toEqual(["kind/bug", "bounty"]);
    expect((await app.rest.issues.getLabel({ owner: "kubernetes", repo: "kubernetes", name: "bounty/50k-sats" })).data.name).toBe("bounty/50k-sats");

    // a human needs triage to label
    const bob = new Octokit({ baseUrl: gh.apiUrl, auth: gh.userToken("bob") });
    await expect(bob.rest.issues.addLabels({ ...o, labels: ["x"] })).rejects.toMatchObject({ status: 403 });
    const carol = new Octokit({ baseUrl: gh.apiUrl, auth: gh.userToken("carol") });
    await carol.rest.issues.addLabels({ ...o, labels: ["triaged"] });

    const closed = await app.rest.issues.update({ ...o, state: "closed", state_reason: "not_planned" });
    expect(closed.data).toMatchObject({ state: "closed", state_reason: "not_planned", closed_by: { login: "bounty-bot[bot]" } });
    expect(closed.data.closed_at).not.toBeNull();
    const relabelled = await app.rest.issues.update({ ...o, labels: ["only-this"] });
    expect(relabelled.data.labels.map((l) => (typeof l === "string" ? l : l.name))).toEqual(["only-this"]);
    const reopened = await app.rest.issues.update({ ...o, state: "open" });
    expect(reopened.data).toMatchObject({ state: "open", state_reason: "reopened", closed_at: null });
  });

  test("issues and pull requests read back with GitHub's fields", async () => {
    const pr = gh.addIssue(REPO, { author: "bob", pull_request: true, merged: true, merged_by: "alice", title: "Fix flake", body: "Fixes #1" });
    const i = await app.rest.issues.get({ owner: "kubernetes", repo: "kubernetes", issue_number: pr.number });
    expect(i.data.pull_request).toMatchObject({ url: `${gh.apiUrl}/repos/kubernetes/kubernetes/pulls/${pr.number}` });
    expect(i.data.pull_request?.merged_at).not.toBeNull();
    const p = await app.rest.pulls.get({ owner: "kubernetes", repo: "kubernetes", pull_number: pr.number });
    expect(p.data).toMatchObject({ merged: true, state: "closed", merged_by: { login: "alice" }, user: { login: "bob" }, body: "Fixes #1" });
    const plain = gh.addIssue(REPO, { author: "bob" });
    await expect(app.rest.pulls.get({ owner: "kubernetes", repo: "kubernetes", pull_number: plain.number })).rejects.toMatchObject({ status: 404 });
    expect(gh.issue(REPO, plain.number).author_association).toBe("CONTRIBUTOR"); // bob has a merged PR
    expect(gh.addComment(REPO, plain.number, { author: "alice", body: "x" }).author_association).toBe("MEMBER");
    expect(gh.addComment(REPO, plain.number, { author: "carol", body: "x" }).author_association).toBe("COLLABORATOR");
    expect(gh.addComment(REPO, plain.number, { author: "kubernetes", body: "x" }).author_association).toBe("OWNER");
  });

  test("writes need authentication; unknown routes are 404 and recorded", async () => {
    const anon = new Octokit({ baseUrl: gh.apiUrl });
    const issue = gh.addIssue(REPO, { author: "bob" });
    await expect(anon.rest.issues.createComment({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number, body: "x" })).rejects.toMatchObject({ status: 401 });
    await expect(app.request("GET /repos/{owner}/{repo}/issues/{issue_number}/timeline", { owner: "kubernetes", repo: "kubernetes", issue_number: issue.number })).rejects.toMatchObject({
      status: 404,
    });
    const last = gh.requests.at(-1)!;
    expect(last).toMatchObject({ method: "GET", path: `/repos/kubernetes/kubernetes/issues/${issue.number}/timeline`, status: 404, route: null, actor: "installation:7" });
    expect(gh.requests.filter((r) => r.route === null).map((r) => r.path)).toEqual([`/repos/kubernetes/kubernetes/issues/${issue.number}/timeline`]);
  });

  test("writes() excludes token creation and read-only GraphQL, includes mutations; minimizeComment works", async () => {
    const issue = gh.addIssue(REPO, { author: "bob" });
    const c = gh.addComment(REPO, issue.number, { author: "bob", body: "old" });
    gh.clearRequests();
    await new Octokit({ baseUrl: gh.apiUrl, auth: appJwt(keys.privateKey) }).rest.apps.createInstallationAccessToken({ installation_id: 7 });
    await app.rest.issues.get({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number });
    await expect(app.graphql("query { viewer { login } }")).rejects.toThrow(/does not implement/);
    const res = await app.graphql<{ minimizeComment: { minimizedComment: { isMinimized: boolean } } }>(
      "mutation($id: ID!) { minimizeComment(input: {subjectId: $id, classifier: OUTDATED}) { minimizedComment { isMinimized } } }",
      { id: c.node_id },
    );
    expect(res.minimizeComment.minimizedComment.isMinimized).toBe(true);
    expect(gh.minimized(c.id)).toBe("OUTDATED");
    await app.rest.issues.createComment({ owner: "kubernetes", repo: "kubernetes", issue_number: issue.number, body: "new" });
    expect(gh.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /app/installations/7/access_tokens",
      `GET /repos/kubernetes/kubernetes/issues/${issue.number}`,
      "POST /graphql",
      "POST /graphql",
      `POST /repos/kubernetes/kubernetes/issues/${issue.number}/comments`,
    ]);
    // graphql went to /api/graphql, as @octokit/graphql derives it from an /api/v3 base URL
    expect(gh.requests[2]!.url).toBe("/api/graphql");
    expect(gh.writes().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(["POST /graphql 200", `POST /repos/kubernetes/kubernetes/issues/${issue.number}/comments 201`]);
  });

  test("remote control surface drives the same state and is not recorded", async () => {
    const remote = connectGitHubStandIn(gh.url);
    const n = gh.requests.length;
    await remote.addRepo("kubernetes/test-infra", { installationId: 7 });
    const issue = await remote.addIssue("kubernetes/test-infra", { author: "alice", title: "remote" });
    const c = await remote.addComment("kubernetes/test-infra", issue.number, { author: "bob", body: "/bounty 1" });
    await app.rest.reactions.createForIssueComment({ owner: "kubernetes", repo: "test-infra", comment_id: c.id, content: "+1" });
    expect(await remote.reactions("kubernetes/test-infra", c.id)).toEqual([{ content: "+1", user: "bounty-bot[bot]" }]);
    expect(await remote.minimized(c.id)).toBeNull();
    expect((await remote.writes()).at(-1)).toMatchObject({ method: "POST", status: 201 });
    expect(gh.requests.length).toBe(n + 1);
    expect((await remote.requests()).length).toBe(n + 1);
    await expect(remote.addRepo("kubernetes/test-infra")).rejects.toThrow(/already exists/);
  });
});

describe("GitHub stand-in options", () => {
  test("secondary rate limit: 403 with retry-after once an actor exceeds its writes per minute", async () => {
    const gh = await startGitHubStandIn({ secondaryRateLimit: { writesPerMinute: 3 } });
    try {
      gh.addRepo("k/k");
      const issue = gh.addIssue("k/k", { author: "bob" });
      const alice = new Octokit({ baseUrl: gh.apiUrl, auth: gh.userToken("alice") });
      const bob = new Octokit({ baseUrl: gh.apiUrl, auth: gh.userToken("bob") });
      const post = (o: Octokit) => o.rest.issues.createComment({ owner: "k", repo: "k", issue_number: issue.number, body: "x" });
      for (let k = 0; k < 3; k++) await post(alice);
      const err = (await post(alice).catch((e: unknown) => e)) as { status: number; message: string; response: { headers: Record<string, string> } };
      expect(err.status).toBe(403);
      expect(err.message).toMatch(/secondary rate limit/);
      expect(Number(err.response.headers["retry-after"])).toBeGreaterThanOrEqual(59);
      // reads are not limited, other actors have their own budget
      await alice.rest.issues.get({ owner: "k", repo: "k", issue_number: issue.number });
      expect((await post(bob)).status).toBe(201);
      expect(gh.comments("k/k", issue.number)).toHaveLength(4);
      expect(gh.writes().map((r) => r.status)).toEqual([201, 201, 201, 403, 201]);
    } finally {
      await gh.close();
    }
  });

  test("latencyMs delays every response", async () => {
    const gh = await startGitHubStandIn({ latencyMs: 120 });
    try {
      gh.addRepo("k/k");
      const t0 = performance.now();
      await new Octokit({ baseUrl: gh.url }).rest.repos.get({ owner: "k", repo: "k" });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
      expect(gh.requests[0]!.durationMs).toBeGreaterThanOrEqual(115);
      gh.setLatency(0);
      await new Octokit({ baseUrl: gh.url }).rest.repos.get({ owner: "k", repo: "k" });
      expect(gh.requests[1]!.durationMs).toBeLessThan(100); // server-side time, robust to a busy test machine
    } finally {
      await gh.close();
    }
  });

  test("private repositories are invisible without access", async () => {
    const gh = await startGitHubStandIn();
    try {
      gh.addRepo("k/secret", { private: true });
      gh.setPermission("k/secret", "alice", "read");
      gh.addUser("bob");
      await expect(new Octokit({ baseUrl: gh.url }).rest.repos.get({ owner: "k", repo: "secret" })).rejects.toMatchObject({ status: 404 });
      await expect(new Octokit({ baseUrl: gh.url, auth: gh.userToken("bob") }).rest.repos.get({ owner: "k", repo: "secret" })).rejects.toMatchObject({ status: 404 });
      expect((await new Octokit({ baseUrl: gh.url, auth: gh.userToken("alice") }).rest.repos.get({ owner: "k", repo: "secret" })).data.private).toBe(true);
      const perm = await new Octokit({ baseUrl: gh.url, auth: gh.userToken("alice") }).rest.repos.getCollaboratorPermissionLevel({ owner: "k", repo: "secret", username: "bob" });
      expect(perm.data).toMatchObject({ permission: "none", role_name: "none" });
    } finally {
      await gh.close();
    }
  });
});
