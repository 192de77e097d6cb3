import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { Webhooks } from "@octokit/webhooks";
import pino from "pino";
import { Probot } from "probot";
import { deliver, signature256 } from "../../dev/sandbox/webhooks.js";
import {
  commentInputFrom,
  issueCommentCreated,
  issueInputFrom,
  issuesClosed,
  issuesLabeled,
  issuesUnlabeled,
  pullRequestClosed,
} from "../../dev/sandbox/payloads.js";
import { startGitHubStandIn } from "../../dev/sandbox/github.js";
import { defaultAccountId, defaultRepoId } from "../../dev/sandbox/ids.js";

type Obj = Record<string, unknown>;

describe("deliver()", () => {
  const secret = "It's a Secret to Everybody";
  let server: http.Server;
  let url: string;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string; verified: boolean }> = [];

  beforeAll(async () => {
    const webhooks = new Webhooks({ secret });
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        void webhooks.verify(body, String(req.headers["x-hub-signature-256"])).then((verified) => {
          received.push({ headers: req.headers, body, verified });
          res.writeHead(verified ? 202 : 401, { "content-type": "text/plain" });
          res.end(verified ? "accepted" : "bad signature");
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  test("signs the exact body with HMAC-SHA256 and sends GitHub's headers", async () => {
    const payload = { action: "created", zap: "é ✓", installation: { id: 5 } };
    const res = await deliver(url, secret, "issue_comment", payload);
    expect(res).toMatchObject({ status: 202, body: "accepted" });
    const got = received.at(-1)!;
    expect(got.verified).toBe(true);
    expect(got.body).toBe(JSON.stringify(payload));
    expect(got.headers).toMatchObject({
      "content-type": "application/json",
      "x-github-event": "issue_comment",
      "x-github-delivery": res.deliveryId,
      "x-github-hook-installation-target-type": "integration",
    });
    expect(got.headers["x-github-delivery"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(got.headers["user-agent"]).toMatch(/^GitHub-Hookshot\//);
    expect(got.headers["x-hub-signature-256"]).toBe(`sha256=${crypto.createHmac("sha256", secret).update(got.body).digest("hex")}`);
    expect(got.headers["x-hub-signature"]).toBe(`sha1=${crypto.createHmac("sha1", secret).update(got.body).digest("hex")}`);
    // GitHub's documented test vector for x-hub-signature-256
    expect(signature256(secret, "Hello, World!")).toBe("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  });

  test("honours a given delivery id; a wrong secret or forced signature is rejected by the receiver", async () => {
    const res = await deliver(url, secret, "issues", { action: "closed" }, { deliveryId: "d-1" });
    expect(received.at(-1)!.headers["x-github-delivery"]).toBe("d-1");
    expect(res.deliveryId).toBe("d-1");
    expect((await deliver(url, "other", "issues", { action: "closed" })).status).toBe(401);
    expect((await deliver(url, secret, "issues", { action: "closed" }, { signature: "sha256=" + "0".repeat(64) })).status).toBe(401);
    expect(received.at(-1)!.verified).toBe(false);
  });
});

// --------------------------------------------------------------------------

const require = createRequire(import.meta.url);
const definitions = require("@octokit/webhooks-examples") as Array<{ name: string; examples: Obj[] }>;
function example(name: string, action: string): Obj {
  const all = definitions.find((d) => d.name === name)!.examples.filter((e) => e.action === action);
  return all.find((e) => "organization" in e && "installation" in e) ?? all.find((e) => "organization" in e) ?? all[0]!;
}

/** Paths present in `a` but missing in `b`, and paths whose JSON type changed (null may stand for an object). */
function shapeDiff(a: unknown, b: unknown, path = "$"): string[] {
  const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb) return ka === "null" || kb === "null" ? [] : [`${path}: ${ka} -> ${kb}`];
  if (ka === "array") {
    const xs = a as unknown[];
    const ys = b as unknown[];
    return xs.length && ys.length ? shapeDiff(xs[0], ys[0], `${path}[0]`) : [];
  }
  if (ka !== "object") return [];
  const out: string[] = [];
  for (const k of Object.keys(a as Obj)) {
    if (!(k in (b as Obj))) out.push(`${path}.${k} missing`);
    else out.push(...shapeDiff((a as Obj)[k], (b as Obj)[k], `${path}.${k}`));
  }
  return out;
}

function addedKeys(a: unknown, b: unknown, path = "$"): string[] {
  if (!a || !b || typeof a !== "object" || typeof b !== "object" || Array.isArray(a) !== Array.isArray(b)) return [];
  if (Array.isArray(a)) return (a as unknown[]).length && (b as unknown[]).length ? addedKeys((a as unknown[])[0], (b as unknown[])[0], `${path}[0]`) : [];
  const out: string[] = [];
  for (const k of Object.keys(b as Obj)) {
    if (!(k in (a as Obj))) out.push(`${path}.${k}`);
    else out.push(...addedKeys((a as Obj)[k], (b as Obj)[k], `${path}.${k}`));
  }
  return out;
}

const REPO = "kubernetes/kubernetes";
const base = { repo: REPO, installationId: 7 };

describe("payload builders", () => {
  test("issue_comment.created keeps every field of GitHub's example and overrides the subject", () => {
    const p = issueCommentCreated({
      ...base,
      issue: { number: 1234, title: "Flaky e2e", author: "bob", labels: ["kind/flake"] },
      comment: { id: 3_000_000_123, body: "/bounty 50000", user: { login: "alice" } },
    });
    const ex = example("issue_comment", "created");
    expect(shapeDiff(ex, p)).toEqual([]);
    // what GitHub sends today but the 2019 example lacks
    expect(addedKeys(ex, p).sort()).toEqual(["$.issue.state_reason", "$.issue.timeline_url"]);
    expect(p).toMatchObject({
      action: "created",
      installation: { id: 7 },
      repository: { full_name: REPO, name: "kubernetes", id: defaultRepoId(REPO), owner: { login: "kubernetes", type: "Organization" }, html_url: "https://github.com/kubernetes/kubernetes" },
      organization: { login: "kubernetes", id: defaultAccountId("kubernetes") },
      sender: { login: "alice", id: defaultAccountId("alice"), type: "User" },
      issue: {
        number: 1234,
        title: "Flaky e2e",
        state: "open",
        user: { login: "bob" },
        url: "https://api.github.com/repos/kubernetes/kubernetes/issues/1234",
        html_url: "https://github.com/kubernetes/kubernetes/issues/1234",
        labels: [{ name: "kind/flake" }],
        milestone: null,
      },
      comment: {
        id: 3_000_000_123,
        body: "/bounty 50000",
        user: { login: "alice" },
        html_url: "https://github.com/kubernetes/kubernetes/issues/1234#issuecomment-3000000123",
        issue_url: "https://api.github.com/repos/kubernetes/kubernetes/issues/1234",
      },
    });
    expect(p.issue.pull_request).toBeUndefined();
    expect(JSON.stringify(p)).not.toMatch(/Codertocat|Hello-World|Octocoders/);
    // GitHub's key order: action, subject, then the envelope
    expect(Object.keys(p)).toEqual(["action", "issue", "comment", "repository", "organization", "sender", "installation"]);
  });

  test("a comment on a pull request carries issue.pull_request and /pull/ URLs", () => {
    const p = issueCommentCreated({ ...base, issue: { number: 9, author: "bob", pull_request: true }, comment: { id: 1, body: "/claim", user: { login: "bob" } } });
    expect(p.issue.pull_request).toEqual({
      url: "https://api.github.com/repos/kubernetes/kubernetes/pulls/9",
      html_url: "https://github.com/kubernetes/kubernetes/pull/9",
      diff_url: "https://github.com/kubernetes/kubernetes/pull/9.diff",
      patch_url: "https://github.com/kubernetes/kubernetes/pull/9.patch",
      merged_at: null,
    });
    expect(p.comment.html_url).toBe("https://github.com/kubernetes/kubernetes/pull/9#issuecomment-1");
  });

  test("issues.closed, labeled, unlabeled", () => {
    const closed = issuesClosed({ ...base, issue: { number: 5, author: "bob", labels: ["bounty"] }, state_reason: "not_planned", sender: "alice" });
    const { label: _dropped, ...closedEnvelope } = example("issues", "labeled");
    expect(shapeDiff(closedEnvelope, closed)).toEqual([]);
    expect(closed).toMatchObject({ action: "closed", issue: { number: 5, state: "closed", state_reason: "not_planned" }, sender: { login: "alice" } });
    expect(closed.issue.closed_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/));
    expect("label" in closed).toBe(false);

    const labeled = issuesLabeled({ ...base, issue: { number: 5, author: "bob", labels: ["kind/bug"] }, label: "bounty", sender: "alice" });
    expect(shapeDiff(example("issues", "labeled"), labeled)).toEqual([]);
    expect(labeled.label).toMatchObject({ name: "bounty", url: "https://api.github.com/repos/kubernetes/kubernetes/labels/bounty" });
    expect(labeled.issue.labels!.map((l) => l.name)).toEqual(["kind/bug", "bounty"]);

    const unlabeled = issuesUnlabeled({ ...base, issue: { number: 5, author: "bob", labels: ["kind/bug", "bounty"] }, label: { name: "bounty", color: "ff0000" }, sender: "alice" });
    expect(shapeDiff(example("issues", "unlabeled"), unlabeled)).toEqual([]);
    expect(unlabeled).toMatchObject({ action: "unlabeled", label: { name: "bounty", color: "ff0000" } });
    expect(unlabeled.issue.labels!.map((l) => l.name)).toEqual(["kind/bug"]);
  });

  test("pull_request.closed, merged or not", () => {
    const merged = pullRequestClosed({ ...base, pull_request: { number: 77, author: "bob", merged: true, merged_by: "alice", body: "Fixes #5" }, sender: "alice" });
    expect(shapeDiff(example("pull_request", "closed"), merged)).toEqual([]);
    expect(merged).toMatchObject({
      action: "closed",
      number: 77,
      pull_request: {
        number: 77,
        state: "closed",
        merged: true,
        merged_by: { login: "alice" },
        user: { login: "bob" },
        body: "Fixes #5",
        url: "https://api.github.com/repos/kubernetes/kubernetes/pulls/77",
        head: { repo: { full_name: REPO } },
        base: { ref: "main", repo: { full_name: REPO } },
      },
    });
    expect(merged.pull_request.merged_at).not.toBeNull();
    expect(merged.pull_request._links.html.href).toBe("https://github.com/kubernetes/kubernetes/pull/77");
    const unmerged = pullRequestClosed({ ...base, pull_request: { number: 78, author: "bob", merged: false }, sender: "bob" });
    expect(unmerged.pull_request).toMatchObject({ merged: false, merged_at: null, merged_by: null, merge_commit_sha: null });
  });

  test("user-owned repositories drop `organization`; urls can point at the stand-in", () => {
    const p = issueCommentCreated({
      repo: "solo/project",
      installationId: 3,
      ownerType: "User",
      urls: { api: "http://127.0.0.1:1/api/v3", web: "http://127.0.0.1:1" },
      issue: { number: 1, author: "solo" },
      comment: { id: 2, body: "hi", user: { login: "renovate[bot]" } },
    });
    expect("organization" in p).toBe(false);
    expect(p.repository.owner.type).toBe("User");
    expect(p.sender).toMatchObject({ login: "renovate[bot]", type: "Bot" });
    expect(p.issue.url).toBe("http://127.0.0.1:1/api/v3/repos/solo/project/issues/1");
    expect(p.comment.html_url).toBe("http://127.0.0.1:1/solo/project/issues/1#issuecomment-2");
  });

  test("ids and fields agree with the stand-in when built from its objects", async () => {
    const gh = await startGitHubStandIn();
    try {
      gh.addRepo(REPO, { installationId: 7 });
      const bob = gh.addUser("bob");
      gh.setPermission(REPO, "alice", "write");
      const issue = gh.addIssue(REPO, { author: "bob", title: "t", labels: ["kind/bug"] });
      const c = gh.addComment(REPO, issue.number, { author: "alice", body: "/bounty 1" });
      const p = issueCommentCreated({ ...base, issue: issueInputFrom(gh.issue(REPO, issue.number)), comment: commentInputFrom(c) });
      const repo = (await fetch(`${gh.apiUrl}/repos/${REPO}`).then((r) => r.json())) as { id: number; owner: { id: number } };
      expect(p.repository.id).toBe(repo.id);
      expect(p.repository.owner.id).toBe(repo.owner.id);
      expect(p.issue).toMatchObject({ id: issue.id, number: issue.number, user: { id: bob.id }, labels: [{ name: "kind/bug", id: issue.labels[0]!.id }], comments: 1 });
      expect(p.comment).toMatchObject({ id: c.id, user: { login: "alice", id: gh.addUser("alice").id }, author_association: "COLLABORATOR" });
    } finally {
      await gh.close();
    }
  });

  test("Probot routes the built payloads to the right handlers with the right context", async () => {
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const probot = new Probot({ appId: 1, privateKey: privateKey.export({ type: "pkcs1", format: "pem" }).toString(), log: pino({ level: "silent" }) });
    const seen: string[] = [];
    probot.on("issue_comment.created", async (ctx) => void seen.push(`comment ${JSON.stringify(ctx.issue())} bot=${ctx.isBot}`));
    probot.on("issues.closed", async (ctx) => void seen.push(`closed ${ctx.payload.issue.number} ${ctx.payload.issue.state_reason}`));
    probot.on("issues.labeled", async (ctx) => void seen.push(`labeled ${ctx.payload.label?.name}`));
    probot.on("issues.unlabeled", async (ctx) => void seen.push(`unlabeled ${ctx.payload.label?.name}`));
    probot.on("pull_request.closed", async (ctx) => void seen.push(`pr ${JSON.stringify(ctx.pullRequest())} merged=${ctx.payload.pull_request.merged}`));
    const issue = { number: 5, author: "bob" };
    await probot.receive({ id: "1", name: "issue_comment", payload: issueCommentCreated({ ...base, issue, comment: { id: 1, body: "x", user: { login: "bounty-bot[bot]" } } }) });
    await probot.receive({ id: "2", name: "issues", payload: issuesClosed({ ...base, issue, state_reason: "completed", sender: "alice" }) });
    await probot.receive({ id: "3", name: "issues", payload: issuesLabeled({ ...base, issue, label: "bounty", sender: "alice" }) });
    await probot.receive({ id: "4", name: "issues", payload: issuesUnlabeled({ ...base, issue, label: "bounty", sender: "alice" }) });
    await probot.receive({ id: "5", name: "pull_request", payload: pullRequestClosed({ ...base, pull_request: { number: 6, author: "bob", merged: true }, sender: "alice" }) });
    expect(seen).toEqual([
      'comment {"issue_number":5,"owner":"kubernetes","repo":"kubernetes"} bot=true',
      "closed 5 completed",
      "labeled bounty",
      "unlabeled bounty",
      'pr {"pull_number":6,"owner":"kubernetes","repo":"kubernetes"} merged=true',
    ]);
  });
});
