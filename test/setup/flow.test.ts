import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startGitHubStandIn, type GitHubStandIn } from "../../dev/sandbox/github.js";
import { commentInputFrom, issueCommentCreated, issueInputFrom } from "../../dev/sandbox/payloads.js";
import { startSmeeStandIn, type SmeeStandIn } from "../../dev/sandbox/smee.js";
import { startBountyBot } from "../../src/server.js";
import { loadSettings, readEnvironment } from "../../src/settings.js";
import { startSetup, type SetupServer } from "../../src/setup/server.js";
import { ENGINES, createTestDb, type TestDb } from "../support/databases.js";

const silent = pino({ level: "silent" });
const REPO = "kubernetes/website";

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** What the operator's browser does: open the setup page, submit its form to GitHub, follow GitHub's redirect back. */
async function registerThroughBrowser(setup: SetupServer): Promise<{ action: string; manifest: Record<string, unknown>; installUrl: string | null }> {
  const html = await (await fetch(`${setup.url}/probot`)).text();
  const action = unescape(/<form method="post" action="([^"]+)"/.exec(html)![1]!);
  const manifestJson = unescape(/name="manifest" value="([^"]+)"/.exec(html)![1]!);
  const toGitHub = await fetch(action, { method: "POST", body: new URLSearchParams({ manifest: manifestJson }), redirect: "manual" });
  expect(toGitHub.status).toBe(302);
  const back = await fetch(toGitHub.headers.get("location")!, { redirect: "manual" });
  expect(back.status).toBe(302);
  return { action, manifest: JSON.parse(manifestJson) as Record<string, unknown>, installUrl: back.headers.get("location") };
}

const sign = (body: string, secret: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

async function until<T>(f: () => Promise<T | undefined>, what: string): Promise<T> {
  for (const end = Date.now() + 15_000; Date.now() < end; ) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("the setup page registers a working app", () => {
  let gh: GitHubStandIn;
  let smee: SmeeStandIn;
  let dir: string;
  beforeEach(async () => {
    gh = await startGitHubStandIn();
    smee = await startSmeeStandIn();
    dir = mkdtempSync(join(tmpdir(), "bounty-setup-"));
  });
  afterEach(async () => {
    await gh.close();
    await smee.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const settingsFor = (env: Record<string, string>) => loadSettings({ GHE_HOST: gh.host, GHE_PROTOCOL: "http", PORT: "0", ...env });

  test("with a smee channel and GH_ORG: the manifest carries the channel, goes to the organisation's page, and .env gets the credentials", async () => {
    const channel = smee.channel();
    const setup = await startSetup({ settings: settingsFor({ WEBHOOK_PROXY_URL: channel, GH_ORG: "kubernetes-sigs" }), host: "127.0.0.1", dir, log: silent });
    try {
      const { action, manifest, installUrl } = await registerThroughBrowser(setup);
      expect(new URL(action).pathname).toBe("/organizations/kubernetes-sigs/settings/apps/new");
      expect(manifest.hook_attributes).toEqual({ url: channel, active: true });
      expect(manifest.redirect_url).toBe(`${setup.url}/probot/setup`);
      expect(manifest.public).toBe(false);
      const { app, envFile, keyFile } = await setup.registered;
      expect(gh.manifests).toHaveLength(1);
      expect(gh.manifests[0]!.org).toBe("kubernetes-sigs");
      expect((gh.manifests[0]!.manifest.hook_attributes as { url: string }).url).toBe(channel);
      const conversion = gh.manifests[0]!.conversion!;
      expect(installUrl).toBe(`${conversion.html_url}/installations/new`);

      const env = readEnvironment({}, envFile);
      expect(env).toEqual({
        APP_ID: String(conversion.id),
        PRIVATE_KEY: "",
        PRIVATE_KEY_PATH: `./bounty-bot.${app.id}.private-key.pem`,
        WEBHOOK_SECRET: conversion.webhook_secret,
        GITHUB_CLIENT_ID: conversion.client_id,
        GITHUB_CLIENT_SECRET: conversion.client_secret,
        WEBHOOK_PROXY_URL: channel,
      });
      // One value per line (usable as `docker run --env-file`); both files only for the owner.
      expect(readFileSync(envFile, "utf8").trim().split("\n")).toHaveLength(7);
      expect(readFileSync(keyFile, "utf8")).toBe(conversion.pem);
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      // The written settings start: the key is read from its file relative to the .env.
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        expect(loadSettings({ ...env, GHE_HOST: gh.host }).privateKey).toBe(conversion.pem);
      } finally {
        process.chdir(cwd);
      }
    } finally {
      await setup.close();
    }
  });

  test("with PUBLIC_URL the manifest carries PUBLIC_URL + WEBHOOK_PATH and the form goes to the user's page; .env keeps other lines", async () => {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, ".env"), "# mine\nAPP_ID=\nLOG_LEVEL=debug\n");
    const setup = await startSetup({ settings: settingsFor({ PUBLIC_URL: "https://bounties.k8s.io/", WEBHOOK_PATH: "/hooks" }), host: "127.0.0.1", dir, log: silent });
    try {
      const { action, manifest } = await registerThroughBrowser(setup);
      expect(new URL(action).pathname).toBe("/settings/apps/new");
      expect(manifest.hook_attributes).toEqual({ url: "https://bounties.k8s.io/hooks", active: true });
      const { app } = await setup.registered;
      const lines = readFileSync(join(dir, ".env"), "utf8").split("\n");
      expect(lines.slice(0, 3)).toEqual(["# mine", `APP_ID=${app.id}`, "LOG_LEVEL=debug"]);
      expect(lines).toContain("PUBLIC_URL=https://bounties.k8s.io");
    } finally {
      await setup.close();
    }
  });

  test.each([
    [{}, /^cannot register a GitHub App: no webhook URL to register/],
    [{ PUBLIC_URL: "https://example.com" }, /^cannot register a GitHub App: PUBLIC_URL https:\/\/example.com is a placeholder/],
    [{ PUBLIC_URL: "http://localhost:3000" }, /only reachable from this machine/],
  ])("%j: the setup page refuses to start, in one line", async (env, error) => {
    await expect(startSetup({ settings: settingsFor(env), host: "127.0.0.1", dir, log: silent })).rejects.toThrow(error);
    expect(gh.manifests).toEqual([]);
  });

  test("a redirect the page did not start (unknown state) is refused and writes nothing", async () => {
    const setup = await startSetup({ settings: settingsFor({ WEBHOOK_PROXY_URL: smee.channel() }), host: "127.0.0.1", dir, log: silent });
    try {
      const res = await fetch(`${setup.url}/probot/setup?code=abc&state=forged`);
      expect(res.status).toBe(400);
      expect(() => statSync(join(dir, ".env"))).toThrow();
      expect(gh.requests.filter((r) => r.path.startsWith("/app-manifests"))).toEqual([]);
    } finally {
      await setup.close();
    }
  });
});

describe.each(ENGINES)("a delivery relayed from WEBHOOK_PROXY_URL on %s", (engine) => {
  let t: TestDb;
  let gh: GitHubStandIn;
  let smee: SmeeStandIn;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    gh = await startGitHubStandIn();
    smee = await startSmeeStandIn();
  });
  afterEach(async () => {
    await gh.close();
    await smee.close();
  });

  test("registered through the setup page, started with what it wrote: a signed delivery posted to the channel is relayed, stored and processed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bounty-relay-"));
    const channel = smee.channel();
    const setup = await startSetup({ settings: loadSettings({ GHE_HOST: gh.host, GHE_PROTOCOL: "http", PORT: "0", WEBHOOK_PROXY_URL: channel }), host: "127.0.0.1", dir, log: silent });
    await registerThroughBrowser(setup);
    const { envFile } = await setup.registered;
    await setup.close();

    const written = readEnvironment({}, envFile);
    const cwd = process.cwd();
    process.chdir(dir);
    let settings;
    try {
      settings = loadSettings({ ...written, GHE_HOST: gh.host, GHE_PROTOCOL: "http", PORT: "0", HOST: "127.0.0.1", ALLOWED_ACCOUNTS: "kubernetes" });
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(settings.webhookProxyUrl).toBe(channel);

    gh.addRepo(REPO, { installationId: 7 });
    const maria = gh.addUser("maria");
    gh.setPermission(REPO, maria.login, "write");
    gh.addIssue(REPO, { number: 1, title: "flaky test", author: maria.login, body: "" });
    const bot = await startBountyBot(settings, { db: t.db, log: silent, throttle: false, cardDebounceMs: 0, sweepMs: 60_000 });
    try {
      await until(async () => (smee.subscribers(channel) > 0 ? true : undefined), "the app to listen to the channel");
      const c = gh.addComment(REPO, 1, { author: maria.login, body: "/bounty 5usd" });
      const body = JSON.stringify(issueCommentCreated({ repo: REPO, installationId: 7, issue: issueInputFrom(gh.issue(REPO, 1)), comment: commentInputFrom(c) }));
      const id = randomUUID();
      // What GitHub does: sign with the registered app's webhook secret and post to the hook URL, the channel.
      const posted = await fetch(channel, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "issue_comment", "x-github-delivery": id, "x-hub-signature-256": sign(body, written.WEBHOOK_SECRET!), "user-agent": "GitHub-Hookshot/test" },
        body,
      });
      expect(posted.status).toBe(200);
      await until(async () => (await t.db.query("SELECT 1 FROM webhook_inbox WHERE delivery_id = $1", [id])).length ? true : undefined, "the relayed delivery to be stored");
      await bot.settled();
      expect(await t.db.query("SELECT outcome FROM webhook_inbox WHERE delivery_id = $1", [id])).toEqual([{ outcome: "done" }]);
      // The card is on the issue, written as the registered app's bot.
      expect(gh.comments(REPO, 1).filter((x) => x.user.login === gh.bot.login && x.body.includes("$5"))).toHaveLength(1);

      // A delivery with a bad signature posted to the channel is relayed and refused like any other.
      const forged = randomUUID();
      await fetch(channel, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "issue_comment", "x-github-delivery": forged, "x-hub-signature-256": sign(body, "not-the-secret") },
        body,
      });
      // Relayed in order: once a later good delivery is stored, the forged one has been answered.
      const later = gh.addComment(REPO, 1, { author: maria.login, body: "/bounty 2usd" });
      const laterBody = JSON.stringify(issueCommentCreated({ repo: REPO, installationId: 7, issue: issueInputFrom(gh.issue(REPO, 1)), comment: commentInputFrom(later) }));
      const laterId = randomUUID();
      await fetch(channel, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "issue_comment", "x-github-delivery": laterId, "x-hub-signature-256": sign(laterBody, written.WEBHOOK_SECRET!) },
        body: laterBody,
      });
      await until(async () => (await t.db.query("SELECT 1 FROM webhook_inbox WHERE delivery_id = $1", [laterId])).length ? true : undefined, "the later delivery to be stored");
      await bot.settled();
      expect(await t.db.query("SELECT 1 FROM webhook_inbox WHERE delivery_id = $1", [forged])).toEqual([]);
    } finally {
      await bot.close();
    }
  });
});
