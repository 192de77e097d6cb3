import { createServer } from "node:net";
import nock from "nock";
import { CARD_MARKER } from "../../src/github/card.js";
import { ENGINES, createTestDb, type TestDb } from "../support/databases.js";
import { deliver, github, mockApp, mockNoConfig, mockPermission, mockToken, repoPath, startTestBot } from "../support/bot.js";
import { REPO, commentCreated, type Who } from "../support/payloads.js";
import type { BountyBot } from "../../src/server.js";

const alice: Who = { login: "alice", id: 1001 };
let nextIssue = 5100;
let nextComment = 951000;
const bounty = (n: number) => commentCreated({ issue: { number: n }, commentId: nextComment++, body: "/bounty 5usd", user: alice });

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const inbox = (t: TestDb) => t.db.query<{ delivery_id: string; outcome: string | null }>("SELECT delivery_id, outcome FROM webhook_inbox ORDER BY received_at");

/** The calls a /bounty on a new issue makes, with its card created. */
function mockNewBounty(n: number) {
  mockToken();
  mockNoConfig();
  mockPermission("alice", "write");
  github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
  github().post(`${repoPath}/issues/${n}/comments`).reply(201, { id: 77 });
  github().post(`${repoPath}/issues/${n}/labels`).reply(200, []);
}

/** Polls until `f` holds (or fails the test after a few seconds). */
async function until(f: () => Promise<boolean>, what: string) {
  for (const end = Date.now() + 10_000; Date.now() < end; ) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(ENGINES)("credentials checked at start (GET /app) on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
    nock.enableNetConnect();
  });
  beforeEach(() => t.db.exec("TRUNCATE webhook_inbox"));
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
  });

  test("GET /app is asked even with ALLOWED_ACCOUNTS set, and a 401 stops the start with one line", async () => {
    github().get("/app").reply(401, { message: "A JSON web token could not be decoded" });
    const err = await startTestBot(t.db, {}, { githubApp: null }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^GitHub refused the app's credentials: APP_ID 123 and PRIVATE_KEY do not match \(GET \/app answered 401/);
    expect(err!.message.split("\n")).toHaveLength(1);
  });

  test("the bot login is the app's slug from GET /app: the card its bot wrote is found and edited, not written twice", async () => {
    const bot = await startTestBot(t.db, {}, { githubApp: { slug: "acme-bounties", owner: REPO.owner } });
    try {
      const n = nextIssue++;
      mockToken();
      mockNoConfig();
      mockPermission("alice", "write");
      // A card left by an earlier run of this app, as acme-bounties[bot]; one by bounty-bot[bot] is someone else's.
      const card = (id: number, login: string) => ({ id, body: `${CARD_MARKER}\nold`, user: { login, id: 9000 + id, type: "Bot" }, performed_via_github_app: { id: 123 } });
      github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, [card(41, "bounty-bot[bot]"), card(42, "acme-bounties[bot]")]);
      const edits: string[] = [];
      github()
        .patch(`${repoPath}/issues/comments/42`)
        .reply(200, (_u, b) => {
          edits.push((b as { body: string }).body);
          return {};
        });
      github().post(`${repoPath}/issues/${n}/labels`).reply(200, []);
      await deliver(bot, "issue_comment", bounty(n));
      await bot.settled();
      expect(edits).toEqual([expect.stringContaining("$5")]);
    } finally {
      await bot.close();
    }
  });

  test("without ALLOWED_ACCOUNTS, the owner from GET /app is served", async () => {
    const bot = await startTestBot(t.db, { ALLOWED_ACCOUNTS: "" }, { githubApp: { slug: "bounty-bot", owner: "Someone-Else" } });
    try {
      await deliver(bot, "issue_comment", bounty(nextIssue++));
      await bot.settled();
      expect(await inbox(t)).toEqual([]); // kubernetes is not the app's owner: dropped at the door
    } finally {
      await bot.close();
    }
  });

  test("GitHub unreachable at start: retried with backoff, /readyz 503 meanwhile, webhooks 503 while the served accounts are unknown", async () => {
    github().get("/app").replyWithError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED" });
    github()
      .get("/app")
      .times(2)
      .reply(503, { message: "unavailable" });
    const port = await freePort();
    const starting = startTestBot(t.db, { ALLOWED_ACCOUNTS: "", PORT: String(port) }, { githubApp: null, appRetryMs: 20 });
    const url = `http://127.0.0.1:${port}`;
    await until(async () => (await fetch(`${url}/healthz`).catch(() => null))?.status === 200, "the server to listen");
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/GET \/app/);
    const early = await deliver({ url } as BountyBot, "issue_comment", bounty(nextIssue++));
    expect(early.status).toBe(503);
    expect(await inbox(t)).toEqual([]);
    await until(async () => nock.pendingMocks().length === 0, "three failed attempts");
    mockApp({ slug: "bounty-bot", owner: REPO.owner });
    const bot = await starting;
    try {
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      await bot.close();
    }
  });

  test("GitHub unreachable at start with ALLOWED_ACCOUNTS set: deliveries are stored meanwhile and processed once GitHub answers", async () => {
    github().get("/app").times(2).replyWithError({ code: "ECONNRESET", message: "socket hang up" });
    const port = await freePort();
    const starting = startTestBot(t.db, { PORT: String(port) }, { githubApp: null, appRetryMs: 20 });
    const url = `http://127.0.0.1:${port}`;
    await until(async () => (await fetch(`${url}/healthz`).catch(() => null))?.status === 200, "the server to listen");
    const n = nextIssue++;
    const stored = await deliver({ url } as BountyBot, "issue_comment", bounty(n));
    expect(stored.status).toBe(200);
    expect(await inbox(t)).toEqual([{ delivery_id: stored.id, outcome: null }]);
    await until(async () => nock.pendingMocks().length === 0, "two failed attempts");
    mockApp({ slug: "bounty-bot", owner: REPO.owner });
    mockNewBounty(n);
    const bot = await starting;
    try {
      await bot.settled();
      expect(await inbox(t)).toEqual([{ delivery_id: stored.id, outcome: "done" }]);
    } finally {
      await bot.close();
    }
  });
});
