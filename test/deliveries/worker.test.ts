import nock from "nock";
import { pino } from "pino";
import { InboxWorker } from "../../src/deliveries/worker.js";
import { objectKey } from "../../src/core/webhooks.js";
import { listDeliveries, pendingDeliveries, storeDelivery } from "../../src/store/inbox.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { commentCreated } from "../support/payloads.js";
import { deliver, github, mockNoConfig, mockToken, repoPath, startTestBot } from "../support/bot.js";

describe.each(ENGINES)("the inbox worker on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });

  test("a delivery that keeps failing is parked with its error once its attempts are spent, and no longer picked up", async () => {
    const lines: string[] = [];
    const worker = new InboxWorker(
      {
        db: t.db,
        github: async () => {
          throw new Error("GitHub answered 502");
        },
        network: "testnet",
        defaults: {},
        appLogin: "bounty-bot[bot]",
        log: pino({ level: "warn" }, { write: (s: string) => void lines.push(s) }),
      },
      { onCommitted: () => undefined, maxAttempts: 2 },
    );
    const payload = commentCreated({ issue: { number: 42 }, commentId: 424242, body: "/bounty 5usd", user: { login: "alice", id: 1001 } });
    await storeDelivery(t.db, { id: "d-fails", event: "issue_comment", action: "created", payload, objectKey: objectKey("issue_comment", "created", payload) });

    for (let attempt = 1; attempt <= 2; attempt++) {
      await t.db.query("UPDATE webhook_inbox SET next_attempt_at = now() WHERE parked_at IS NULL");
      const [d] = await pendingDeliveries(t.db);
      expect(d).toMatchObject({ id: "d-fails", attempts: attempt - 1 });
      await worker.processOne(d!);
    }
    await t.db.query("UPDATE webhook_inbox SET next_attempt_at = now()");
    expect(await pendingDeliveries(t.db)).toEqual([]);
    expect(await listDeliveries(t.db, { failed: true })).toEqual([
      expect.objectContaining({ id: "d-fails", state: "parked", attempts: 2, lastError: "GitHub answered 502" }),
    ]);
    expect(lines.some((l) => l.includes("deliveries retry d-fails"))).toBe(true);
    await worker.stop();
  });
});

describe.each(ENGINES)("a GitHub outage on one issue, on %s", (engine) => {
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

  test("does not hold other issues' deliveries; a later delivery of the same issue waits while the first backs off", async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
    const bot = await startTestBot(t.db, {}, { githubTimeoutMs: 300, log });
    try {
      // Issue 51 is in an installation whose token request never gets an answer in time.
      const stuck = (commentId: number) => {
        const p = commentCreated({ issue: { number: 51 }, commentId, body: "/bounty 5xyz", user: { login: "alice", id: 1001 } });
        p.installation.id = 77;
        return p;
      };
      const hung = github().post("/app/installations/77/access_tokens").delay(5_000).reply(201, { token: "ghs_late", expires_at: new Date(Date.now() + 3600_000).toISOString() });
      const first = await deliver(bot, "issue_comment", stuck(515001));
      const second = await deliver(bot, "issue_comment", stuck(515002));

      // Issue 52 is answered at once, and is processed while issue 51 waits.
      mockToken();
      mockNoConfig();
      const replied = new Promise<string>((resolve) =>
        github()
          .post(`${repoPath}/issues/52/comments`)
          .reply(201, (_u, b) => {
            resolve((b as { body: string }).body);
            return { id: 1 };
          }),
      );
      const started = Date.now();
      const other = await deliver(bot, "issue_comment", commentCreated({ issue: { number: 52 }, commentId: 525001, body: "/bounty 5xyz", user: { login: "alice", id: 1001 } }));
      expect(await replied).toContain("5xyz");
      expect(Date.now() - started).toBeLessThan(2_000);

      // The first delivery of issue 51 failed its attempt (timed out) and backs off; the second was not tried.
      const until = Date.now() + 5_000;
      let rows: Array<{ delivery_id: string; attempts: number; processed_at: Date | null; outcome: string | null }> = [];
      while (Date.now() < until) {
        rows = await t.db.query("SELECT delivery_id, attempts, processed_at, outcome FROM webhook_inbox ORDER BY received_at");
        if (rows[0]?.attempts === 1 && rows[2]?.outcome === "done") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rows).toEqual([
        expect.objectContaining({ delivery_id: first.id, attempts: 1, processed_at: null }),
        expect.objectContaining({ delivery_id: second.id, attempts: 0, processed_at: null }),
        expect.objectContaining({ delivery_id: other.id, outcome: "done" }),
      ]);
      expect(hung.isDone()).toBe(true);
      // One info line per processed delivery: event, delivery id, outcome, ms.
      const processed = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "delivery processed" && l.delivery === other.id);
      expect(processed).toMatchObject({ event: "issue_comment", outcome: "done", ms: expect.any(Number) });
      expect(lines.map((l) => JSON.parse(l)).find((l) => l.delivery === first.id && l.outcome === "retry")).toBeDefined();
    } finally {
      await bot.close();
      nock.cleanAll();
      await t.db.exec("TRUNCATE webhook_inbox, outbox");
    }
  }, 20_000);
});
