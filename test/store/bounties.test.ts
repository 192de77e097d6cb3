import { ENGINES, createTestDb, type TestDb } from "../support/databases.js";
import {
  bountyEvents,
  cancelOpenPledges,
  findBounty,
  labelFunder,
  listPledges,
  lockBounty,
  pledge,
  replay,
  userFunder,
  withdraw,
  type Cause,
  type IssueRef,
} from "../../src/store/bounties.js";
import { getWallet, removeWallet, setWallet } from "../../src/store/wallets.js";
import { completeDelivery, failDelivery, pendingDeliveries, storeDelivery } from "../../src/store/inbox.js";
import { claimOutbox, markSent, pendingOutbox, queueReaction, queueReply } from "../../src/store/outbox.js";
import { migrate } from "../../src/store/migrations.js";

const issue: IssueRef = { installationId: 7, repoId: 1001, owner: "kubernetes", repo: "website", number: 42, title: "Docs" };
const alice = { id: 11, login: "alice" };
const bob = { id: 12, login: "bob" };
const cause = (login = "alice", deliveryId: string | null = "d-1"): Cause => ({ actor: { id: 11, login }, deliveryId });
const usd = (c: bigint) => ({ currency: "USD" as const, minor: c });

describe.each(ENGINES)("ledger on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });

  test("migrations are idempotent", async () => {
    expect(await migrate(t.db)).toEqual([]);
  });

  test("a second pledge by the same funder replaces the first; history replays to the tables", async () => {
    const iss = { ...issue, number: 1 };
    await t.db.transaction(async (tx) => {
      const b = await lockBounty(tx, iss);
      expect((await pledge(tx, b, userFunder(alice), usd(500n), cause())).replaced).toBeNull();
      expect((await pledge(tx, b, userFunder(alice), usd(750n), cause())).replaced).toEqual(usd(500n));
      await pledge(tx, b, userFunder(bob), { currency: "BTC", minor: 25000n }, cause("bob"));
      await pledge(tx, b, labelFunder("bounty/50", "bounty-bot[bot]"), usd(5000n), cause("bob"));
    });
    const b = (await findBounty(t.db, iss.repoId, iss.number))!;
    expect(b.status).toBe("open");
    const pledges = await listPledges(t.db, b.id);
    expect(pledges.map((p) => [p.funderKey, p.amount.currency, p.amount.minor, p.status])).toEqual([
      ["user:11", "USD", 750n, "open"],
      ["user:12", "BTC", 25000n, "open"],
      ["label:bounty/50", "USD", 5000n, "open"],
    ]);
    const events = await bountyEvents(t.db, b.id);
    expect(events.filter((e) => e.kind === "pledged")).toHaveLength(4);
    expect(events.every((e) => e.deliveryId === "d-1")).toBe(true);
    const rebuilt = replay(events);
    expect(rebuilt.status).toBe(b.status);
    for (const p of pledges) {
      expect(rebuilt.pledges.get(p.funderKey)).toEqual({ amount: p.amount, status: p.status, login: p.funderLogin });
    }
    expect(b.cardVersion).toBeGreaterThan(b.cardSyncedVersion);
  });

  test("withdrawing the last pledge cancels the bounty; a new pledge reopens it", async () => {
    const iss = { ...issue, number: 2 };
    await t.db.transaction(async (tx) => {
      const b = await lockBounty(tx, iss);
      await pledge(tx, b, userFunder(alice), usd(100n), cause());
    });
    const withdrawn = await t.db.transaction(async (tx) => withdraw(tx, await lockBounty(tx, iss), "user:11", cause()));
    expect(withdrawn).toEqual(usd(100n));
    expect(await t.db.transaction(async (tx) => withdraw(tx, await lockBounty(tx, iss), "user:11", cause()))).toBeNull();
    let b = (await findBounty(t.db, iss.repoId, iss.number))!;
    expect([b.status, b.statusReason]).toEqual(["cancelled", "all pledges were withdrawn"]);
    await t.db.transaction(async (tx) => pledge(tx, await lockBounty(tx, iss), userFunder(bob), usd(300n), cause()));
    b = (await findBounty(t.db, iss.repoId, iss.number))!;
    expect([b.status, b.statusReason]).toEqual(["open", null]);
    expect(replay(await bountyEvents(t.db, b.id)).status).toBe("open");
  });

  test("closing as not planned cancels every open pledge", async () => {
    const iss = { ...issue, number: 3 };
    await t.db.transaction(async (tx) => {
      const b = await lockBounty(tx, iss);
      await pledge(tx, b, userFunder(alice), usd(100n), cause());
      await pledge(tx, b, userFunder(bob), usd(200n), cause());
    });
    const n = await t.db.transaction(async (tx) =>
      cancelOpenPledges(tx, await lockBounty(tx, iss), "the issue was closed as not planned", cause()),
    );
    expect(n).toBe(2);
    const b = (await findBounty(t.db, iss.repoId, iss.number))!;
    expect(b.status).toBe("cancelled");
    expect((await listPledges(t.db, b.id)).map((p) => p.status)).toEqual(["cancelled", "cancelled"]);
    const rebuilt = replay(await bountyEvents(t.db, b.id));
    expect([...rebuilt.pledges.values()].map((p) => p.status)).toEqual(["cancelled", "cancelled"]);
  });

  test("the schema enforces one pledge per funder per issue and positive amounts", async () => {
    const b = await t.db.transaction(async (tx) => lockBounty(tx, { ...issue, number: 4 }));
    await t.db.query(
      "INSERT INTO pledges (bounty_id, funder_key, funder_login, currency, amount_minor) VALUES ($1, 'user:1', 'x', 'USD', 5)",
      [b.id],
    );
    await expect(
      t.db.query(
        "INSERT INTO pledges (bounty_id, funder_key, funder_login, currency, amount_minor) VALUES ($1, 'user:1', 'x', 'USD', 6)",
        [b.id],
      ),
    ).rejects.toThrow(/duplicate key|unique/i);
    await expect(
      t.db.query(
        "INSERT INTO pledges (bounty_id, funder_key, funder_login, currency, amount_minor) VALUES ($1, 'user:2', 'x', 'USD', 0)",
        [b.id],
      ),
    ).rejects.toThrow(/check/i);
  });

  test("a failed transaction records nothing", async () => {
    const iss = { ...issue, number: 5 };
    await expect(
      t.db.transaction(async (tx) => {
        const b = await lockBounty(tx, iss);
        await pledge(tx, b, userFunder(alice), usd(100n), cause());
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await findBounty(t.db, iss.repoId, iss.number)).toBeNull();
  });

  test("events are append-only", async () => {
    await expect(t.db.query("UPDATE events SET kind = 'x'")).rejects.toThrow(/append-only/);
    await expect(t.db.query("DELETE FROM events")).rejects.toThrow(/append-only/);
  });

  test("wallets are keyed by user id and audited", async () => {
    await t.db.transaction(async (tx) =>
      setWallet(
        tx,
        {
          userId: 77,
          login: "carol",
          kind: "address",
          address: "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
          addressType: "p2wpkh",
          network: "testnet",
          charityId: null,
          charityName: null,
        },
        cause("carol"),
      ),
    );
    expect((await getWallet(t.db, 77))?.address).toBe("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx");
    expect((await t.db.transaction(async (tx) => removeWallet(tx, 77, cause("carol"))))?.login).toBe("carol");
    expect(await getWallet(t.db, 77)).toBeNull();
    const kinds = await t.db.query<{ kind: string }>("SELECT kind FROM events WHERE user_id = 77 ORDER BY id");
    expect(kinds.map((k) => k.kind)).toEqual(["wallet_linked", "wallet_removed"]);
  });

  test("the inbox keeps each delivery once and completes it once", async () => {
    expect(await storeDelivery(t.db, { id: "abc", event: "issue_comment", action: "created", installationId: 7, payload: { a: 1 } })).toBe("stored");
    expect(await storeDelivery(t.db, { id: "abc", event: "issue_comment", action: "created", installationId: 7, payload: { a: 2 } })).toBe("redelivery");
    const pending = await pendingDeliveries(t.db);
    expect(pending.map((d) => [d.id, d.payload])).toEqual([["abc", { a: 1 }]]);
    expect(await t.db.transaction((tx) => completeDelivery(tx, "abc", "ok"))).toBe(true);
    expect(await t.db.transaction((tx) => completeDelivery(tx, "abc", "ok"))).toBe(false);
    expect(await pendingDeliveries(t.db)).toEqual([]);

    await storeDelivery(t.db, { id: "def", event: "issues", payload: {} });
    expect(await failDelivery(t.db, "def", "GitHub 502", 2)).toBe("retry");
    expect(await pendingDeliveries(t.db)).toEqual([]); // backing off
    expect(await failDelivery(t.db, "def", "GitHub 502", 2)).toBe("parked");
  });

  test("the outbox queues each reply once and lets one sender claim it", async () => {
    const where = { installationId: 7, owner: "kubernetes", repo: "website", issueNumber: 9 };
    await t.db.transaction(async (tx) => {
      await queueReply(tx, "reply:d-9", where, "hello");
      await queueReply(tx, "reply:d-9", where, "hello again");
      await queueReaction(tx, "react:d-9", { ...where, commentId: 555 }, "+1");
    });
    const items = await pendingOutbox(t.db);
    expect(items.map((i) => [i.kind, i.body, i.commentId])).toEqual([
      ["reply", "hello", null],
      ["reaction", "+1", 555],
    ]);
    expect(await claimOutbox(t.db, items[0]!.id)).toBe(true);
    expect(await claimOutbox(t.db, items[0]!.id)).toBe(false);
    await markSent(t.db, items[0]!.id);
    expect((await pendingOutbox(t.db)).map((i) => i.kind)).toEqual(["reaction"]);
  });
});
