import { createHmac, randomUUID } from "node:crypto";
import { request } from "node:http";
import nock from "nock";
import { pino } from "pino";
import { ENGINES, createTestDb, type TestDb } from "../support/databases.js";
import { SECRET, deliver, github, mockNoConfig, mockPermission, mockToken, repoPath, startTestBot } from "../support/bot.js";
import { REPO, commentCreated, type Who } from "../support/payloads.js";
import type { Db } from "../../src/store/db.js";
import { failDelivery } from "../../src/store/inbox.js";
/** GitHub caps webhook payloads at 25 MB. */
const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

const alice: Who = { login: "alice", id: 1001 };
let nextIssue = 3000;
let nextComment = 930000;
const comment = (body: string, issue = nextIssue++, owner?: string) => {
  const p = commentCreated({ issue: { number: issue }, commentId: nextComment++, body, user: alice });
  if (owner) {
    p.repository.owner.login = owner;
    p.repository.full_name = `${owner}/${p.repository.name}`;
  }
  return p;
};

const inbox = (db: Db) =>
  db.query<{ delivery_id: string; outcome: string | null; processed_at: Date | null }>(
    "SELECT delivery_id, outcome, processed_at FROM webhook_inbox ORDER BY received_at, delivery_id",
  );

/** A logger whose lines the test reads. */
function capturedLog() {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
  return { log, lines };
}

/** One raw request: for bodies and headers fetch() would not send. Resolves with the status GitHub would see, or the socket error. */
function raw(
  url: string,
  headers: Record<string, string | number>,
  write: (req: ReturnType<typeof request>) => void,
): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request(`${url}/api/github/webhooks`, { method: "POST", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, body }));
      res.on("error", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", (err) => resolve({ error: err.message }));
    write(req);
  });
}

const hookHeaders = (event: string, id: string, signature: string) => ({
  "content-type": "application/json",
  "x-github-event": event,
  "x-github-delivery": id,
  "x-hub-signature-256": signature,
});
const sign = (body: string | Buffer) => `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;

describe.each(ENGINES)("the webhook endpoint on %s", (engine) => {
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
  beforeEach(async () => {
    await t.db.exec("TRUNCATE webhook_inbox");
  });
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
  });

  test("a signed comment replayed under a fresh delivery id is acknowledged and does nothing", async () => {
    const bot = await startTestBot(t.db);
    const payload = comment("/bounty 5xyz");
    const n = payload.issue.number as number;
    mockToken();
    mockNoConfig();
    const replies: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        replies.push((b as { body: string }).body);
        return { id: 1 };
      });
    const first = await deliver(bot, "issue_comment", payload);
    await bot.settled();
    const replay = await deliver(bot, "issue_comment", payload);
    expect(replay.status).toBe(200);
    await bot.settled();
    expect(replies).toHaveLength(1);
    expect(await inbox(t.db)).toEqual([
      expect.objectContaining({ delivery_id: first.id, outcome: "done" }),
      expect.objectContaining({ delivery_id: replay.id, outcome: "duplicate" }),
    ]);
    await bot.close();
  });

  test("GitHub's Redeliver (same id) processes a delivery that was parked after its retries", async () => {
    const crashed = await startTestBot(t.db);
    await crashed.inbox.stop();
    const payload = comment("/bounty 5xyz");
    const n = payload.issue.number as number;
    const { id } = await deliver(crashed, "issue_comment", payload);
    await crashed.close();
    // Its retries were spent (GitHub was down): parked, with its error.
    expect(await failDelivery(t.db, id, "GitHub answered 502", 1)).toBe("parked");

    const bot = await startTestBot(t.db);
    await bot.settled(); // parked: not processed, and nothing to wait for
    expect(await inbox(t.db)).toEqual([expect.objectContaining({ delivery_id: id, processed_at: null })]);

    mockToken();
    mockNoConfig();
    const replies: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        replies.push((b as { body: string }).body);
        return { id: 2 };
      });
    expect((await deliver(bot, "issue_comment", payload, { id })).status).toBe(200);
    await bot.settled();
    expect(replies).toHaveLength(1);
    expect(await inbox(t.db)).toEqual([expect.objectContaining({ delivery_id: id, outcome: "done" })]);
    await bot.close();
  });

  test("a body over 25 MB is refused with 413 before it is read: by its Content-Length, or by counting", async () => {
    const bot = await startTestBot(t.db);
    const id = randomUUID();
    // Headers only: the answer comes without a byte of the body having been sent.
    const declared = await raw(bot.url, { ...hookHeaders("issue_comment", id, sign("x")), "content-length": MAX_WEBHOOK_BYTES + 1 }, (req) =>
      req.flushHeaders(),
    );
    expect(declared.status).toBe(413);

    // Chunked, no length: counted while read. Signed correctly, so only the size refuses it.
    const body = Buffer.alloc(MAX_WEBHOOK_BYTES + 1024, 0x20);
    body.write(JSON.stringify(comment("/bounty 5usd")));
    const counted = await raw(bot.url, hookHeaders("issue_comment", randomUUID(), sign(body)), (req) => {
      const step = 1 << 20;
      let at = 0;
      const more = () => {
        while (at < body.length) {
          const ok = req.write(body.subarray(at, (at += step)));
          if (!ok) return void req.once("drain", more);
        }
        req.end();
      };
      req.on("error", () => undefined);
      more();
    });
    // The 413, or (when the server cut the upload first) a reset: never stored.
    if (counted.status !== undefined) expect(counted.status).toBe(413);
    else expect(counted.error).toMatch(/EPIPE|ECONNRESET|socket hang up/);
    expect(await inbox(t.db)).toEqual([]);
    // Still serving.
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    await bot.close();
  });

  test("a bad signature gets 400; the log names the delivery id and event, never the payload", async () => {
    const { log, lines } = capturedLog();
    const bot = await startTestBot(t.db, {}, { log });
    const res = await deliver(bot, "issue_comment", comment("/bounty 5usd SECRET-LOOKING-PAYLOAD"), { secret: "wrong" });
    expect(res.status).toBe(400);
    expect(await inbox(t.db)).toEqual([]);
    const text = lines.join("");
    expect(text).toContain(res.id);
    expect(text).toContain("issue_comment");
    expect(text).not.toContain("SECRET-LOOKING-PAYLOAD");
    expect(text).not.toContain("alice");
    await bot.close();
  });

  test("missing headers, a body that is not JSON, other paths and methods get clear 4xx answers", async () => {
    const bot = await startTestBot(t.db);
    const url = `${bot.url}/api/github/webhooks`;
    const missing = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain("x-github-event, x-github-delivery, x-hub-signature-256");
    const notJson = await fetch(url, { method: "POST", headers: hookHeaders("issue_comment", randomUUID(), sign("not json")), body: "not json" });
    expect(notJson.status).toBe(400);
    const form = await fetch(url, {
      method: "POST",
      headers: { ...hookHeaders("issue_comment", randomUUID(), sign("payload=%7B%7D")), "content-type": "application/x-www-form-urlencoded" },
      body: "payload=%7B%7D",
    });
    expect(form.status).toBe(415);
    expect((await fetch(url)).status).toBe(405);
    expect((await fetch(`${bot.url}/nope`)).status).toBe(404);
    expect(await (await fetch(`${bot.url}/healthz`)).text()).toBe("ok\n");
    expect(await inbox(t.db)).toEqual([]);
    await bot.close();
  });

  test("deliveries from an account not in ALLOWED_ACCOUNTS are acknowledged, not stored, and logged once", async () => {
    const { log, lines } = capturedLog();
    const bot = await startTestBot(t.db, { ALLOWED_ACCOUNTS: `${REPO.owner.toUpperCase()}, kubernetes-sigs` }, { log });
    for (let i = 0; i < 3; i++) expect((await deliver(bot, "issue_comment", comment("/bounty 5usd", undefined, "evil-corp"))).status).toBe(200);
    await bot.settled();
    expect(await inbox(t.db)).toEqual([]);
    expect(lines.filter((l) => l.includes("evil-corp") && l.includes("ALLOWED_ACCOUNTS"))).toHaveLength(1);

    // An allowed account (matched without regard to case) is stored and processed.
    mockToken();
    mockNoConfig();
    mockPermission("alice", "write");
    const n = nextIssue++;
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${n}/comments`).reply(201, { id: 77 });
    github().post(`${repoPath}/issues/${n}/labels`).reply(200, []);
    await deliver(bot, "issue_comment", comment("/bounty 5usd", n));
    await bot.settled();
    expect(await inbox(t.db)).toEqual([expect.objectContaining({ outcome: "done" })]);
    await bot.close();
  });

  test("without ALLOWED_ACCOUNTS the account that owns the app (GET /app) is served; if GitHub cannot say, the app does not start", async () => {
    const bot = await startTestBot(t.db, { ALLOWED_ACCOUNTS: "" }, { githubApp: { slug: "bounty-bot", owner: "Kubernetes" } });
    await deliver(bot, "issue_comment", comment("/bounty 5usd", undefined, "kubernetes-sigs"));
    await bot.settled();
    expect(await inbox(t.db)).toEqual([]);
    await bot.close();

    github().get("/app").reply(401, { message: "A JSON web token could not be decoded" });
    await expect(startTestBot(t.db, { ALLOWED_ACCOUNTS: "" }, { githubApp: null })).rejects.toThrow(
      /^GitHub refused the app's credentials: APP_ID 123 and PRIVATE_KEY do not match/,
    );
  });

  test("without WEBHOOK_SECRET, or with the old example value, the app refuses to start", async () => {
    await expect(startTestBot(t.db, { WEBHOOK_SECRET: "" })).rejects.toThrow(/^WEBHOOK_SECRET is not set/);
    await expect(startTestBot(t.db, { WEBHOOK_SECRET: "development" })).rejects.toThrow(/published example value/);
  });

  test("processed deliveries older than INBOX_RETENTION lose their payload at the sweep; parked ones do not", async () => {
    const crashed = await startTestBot(t.db);
    await crashed.inbox.stop();
    const kept = await deliver(crashed, "issue_comment", comment("/bounty 5usd"));
    const parked = await deliver(crashed, "issue_comment", comment("/bounty 6usd"));
    await crashed.close();
    await t.db.query("UPDATE webhook_inbox SET processed_at = now() - interval '3 days', outcome = 'done' WHERE delivery_id = $1", [kept.id]);
    await failDelivery(t.db, parked.id, "boom", 1);
    await t.db.query("UPDATE webhook_inbox SET parked_at = now() - interval '3 days' WHERE delivery_id = $1", [parked.id]);

    const bot = await startTestBot(t.db, { INBOX_RETENTION: "2d" });
    await bot.settled();
    const rows = await t.db.query<{ delivery_id: string; pruned: boolean }>(
      "SELECT delivery_id, payload IS NULL AS pruned FROM webhook_inbox ORDER BY delivery_id",
    );
    expect(Object.fromEntries(rows.map((r) => [r.delivery_id, r.pruned]))).toEqual({ [kept.id]: true, [parked.id]: false });
    await bot.close();
  });
});

test("the 2xx is sent only once the delivery is stored, however long storing takes", async () => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  const t = await createTestDb("pglite");
  let stored = 0;
  const slow: Db = {
    ...t.db,
    kind: t.db.kind,
    query: async (sql: string, params?: unknown[]) => {
      if (sql.includes("INSERT INTO webhook_inbox")) {
        // Longer than Probot's middleware waited before answering 202 with nothing stored.
        await new Promise((r) => setTimeout(r, 9_500));
        const rows = await t.db.query(sql, params);
        stored = Date.now();
        return rows as never;
      }
      return t.db.query(sql, params);
    },
    exec: (sql) => t.db.exec(sql),
    transaction: (fn) => t.db.transaction(fn),
    withLock: (key, fn) => t.db.withLock(key, fn),
    close: async () => undefined,
  };
  const bot = await startTestBot(slow);
  await bot.inbox.stop();
  const res = await deliver(bot, "issue_comment", comment("/bounty 5usd"));
  const answered = Date.now();
  expect(res.status).toBe(200);
  expect(stored).toBeGreaterThan(0);
  expect(answered).toBeGreaterThanOrEqual(stored);
  await bot.close();
  await t.close();
  nock.cleanAll();
  nock.enableNetConnect();
}, 30_000);
