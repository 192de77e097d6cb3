import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import {
  completeDelivery,
  failDelivery,
  listDeliveries,
  pendingDeliveries,
  pruneInbox,
  retryDeliveries,
  storeDelivery,
} from "../../src/store/inbox.js";

let seq = 0;
const delivery = (objectKey: string | null = `key-${++seq}`, id = `d-${++seq}`) => ({
  id,
  event: "issue_comment",
  action: "created",
  installationId: 2,
  payload: { hello: id },
  objectKey,
});

describe.each(ENGINES)("the webhook inbox on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.db.exec("TRUNCATE webhook_inbox");
  });

  const row = async (id: string) =>
    (
      await t.db.query<{ processed_at: Date | null; parked_at: Date | null; payload: unknown; object_key: string | null; outcome: string | null }>(
        "SELECT processed_at, parked_at, payload, object_key, outcome FROM webhook_inbox WHERE delivery_id = $1",
        [id],
      )
    )[0];

  test("a new delivery id for an object already stored is a duplicate: kept without payload, never pending", async () => {
    const first = delivery("comment:1");
    expect(await storeDelivery(t.db, first)).toBe("stored");
    const replay = { ...delivery("comment:1"), payload: { evil: true } };
    expect(await storeDelivery(t.db, replay)).toBe("duplicate");
    expect((await pendingDeliveries(t.db)).map((d) => d.id)).toEqual([first.id]);
    expect(await row(replay.id)).toMatchObject({ payload: null, object_key: null, outcome: "duplicate" });
    const [listed] = await listDeliveries(t.db, { ids: [replay.id] });
    expect(listed).toMatchObject({ state: "duplicate", duplicateOf: first.id });
    // The same replay again (same id) is a redelivery of the duplicate: still nothing.
    expect(await storeDelivery(t.db, replay)).toBe("redelivery");
    // Once the first is processed, a replay is still a duplicate.
    await t.db.transaction((tx) => completeDelivery(tx, first.id, "done"));
    expect(await storeDelivery(t.db, delivery("comment:1"))).toBe("duplicate");
    expect(await pendingDeliveries(t.db)).toEqual([]);
  });

  test("a delivery without an object key is guarded by its delivery id alone", async () => {
    const a = delivery(null);
    expect(await storeDelivery(t.db, a)).toBe("stored");
    expect(await storeDelivery(t.db, delivery(null))).toBe("stored");
    expect(await storeDelivery(t.db, a)).toBe("redelivery");
  });

  test("after its retries a delivery is parked with its error, not processed; GitHub's redelivery (same id) arms it again", async () => {
    const d = delivery();
    await storeDelivery(t.db, d);
    expect(await failDelivery(t.db, d.id, "GitHub said 502", 2)).toBe("retry");
    await t.db.query("UPDATE webhook_inbox SET next_attempt_at = now() WHERE delivery_id = $1", [d.id]);
    expect(await failDelivery(t.db, d.id, "GitHub said 503", 2)).toBe("parked");
    const parked = (await row(d.id))!;
    expect(parked.processed_at).toBeNull();
    expect(parked.parked_at).not.toBeNull();
    expect(parked.outcome).toBe("failed");
    await t.db.query("UPDATE webhook_inbox SET next_attempt_at = now() - interval '1 day' WHERE delivery_id = $1", [d.id]);
    expect(await pendingDeliveries(t.db)).toEqual([]);
    expect(await t.db.transaction((tx) => completeDelivery(tx, d.id, "done"))).toBe(false);
    expect(await listDeliveries(t.db, { failed: true })).toEqual([
      expect.objectContaining({ id: d.id, state: "parked", attempts: 2, lastError: "GitHub said 503" }),
    ]);

    expect(await storeDelivery(t.db, d)).toBe("rearmed");
    expect(await pendingDeliveries(t.db)).toEqual([expect.objectContaining({ id: d.id, attempts: 0 })]);
    expect(await t.db.transaction((tx) => completeDelivery(tx, d.id, "done"))).toBe(true);
    expect(await listDeliveries(t.db, { ids: [d.id] })).toEqual([expect.objectContaining({ state: "done", lastError: null })]);
    expect(await storeDelivery(t.db, d)).toBe("redelivery");
  });

  test("retryDeliveries arms the parked ones named, or all; others are left as they are", async () => {
    const [a, b, c] = [delivery(), delivery(), delivery()];
    for (const d of [a, b, c]) await storeDelivery(t.db, d);
    await failDelivery(t.db, a.id, "x", 1);
    await failDelivery(t.db, b.id, "y", 1);
    expect(await retryDeliveries(t.db, [a.id, c.id, "nope"])).toEqual([a.id]);
    expect((await listDeliveries(t.db, { failed: true })).map((d) => d.id)).toEqual([b.id]);
    expect(await retryDeliveries(t.db, "all")).toEqual([b.id]);
    expect(await retryDeliveries(t.db, "all")).toEqual([]);
    expect((await pendingDeliveries(t.db)).map((d) => d.id).sort()).toEqual([a.id, b.id, c.id].sort());
  });

  test("pruning drops old processed payloads but keeps their tombstone, which still stops a replay; parked and pending stay whole", async () => {
    const [old, recent, parked, pending] = [delivery("comment:old"), delivery(), delivery(), delivery()];
    for (const d of [old, recent, parked, pending]) await storeDelivery(t.db, d);
    await t.db.transaction((tx) => completeDelivery(tx, old.id, "done"));
    await t.db.transaction((tx) => completeDelivery(tx, recent.id, "done"));
    await failDelivery(t.db, parked.id, "boom", 1);
    const dup = delivery("comment:old");
    expect(await storeDelivery(t.db, dup)).toBe("duplicate");
    await t.db.query(
      "UPDATE webhook_inbox SET received_at = now() - interval '40 days', processed_at = CASE WHEN processed_at IS NULL THEN NULL ELSE now() - interval '40 days' END, parked_at = CASE WHEN parked_at IS NULL THEN NULL ELSE now() - interval '40 days' END WHERE delivery_id <> $1",
      [recent.id],
    );

    expect(await pruneInbox(t.db, 30 * 86_400_000)).toEqual({ pruned: 1, deleted: 1 });
    expect(await row(old.id)).toMatchObject({ payload: null, object_key: "comment:old", outcome: "done" });
    expect(await row(dup.id)).toBeUndefined();
    expect((await row(recent.id))!.payload).not.toBeNull();
    expect((await row(parked.id))!.payload).not.toBeNull();
    expect((await row(pending.id))!.payload).not.toBeNull();
    expect((await listDeliveries(t.db, { ids: [old.id] }))[0]).toMatchObject({ state: "done", pruned: true });

    // A replay of the pruned delivery, under a new id or its own, still does nothing.
    expect(await storeDelivery(t.db, delivery("comment:old"))).toBe("duplicate");
    expect(await storeDelivery(t.db, old)).toBe("redelivery");
    expect(await pruneInbox(t.db, 30 * 86_400_000)).toEqual({ pruned: 0, deleted: 0 });
  });
});
