import { pino } from "pino";
import { InboxWorker } from "../../src/deliveries/worker.js";
import { objectKey } from "../../src/core/webhooks.js";
import { listDeliveries, pendingDeliveries, storeDelivery } from "../../src/store/inbox.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { commentCreated } from "../support/payloads.js";

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
