import { pino } from "pino";
import { releaseTip, releaseTips } from "../../../src/features/tips/release.js";
import { tipEscrow } from "../../../src/features/tips/tip.js";
import { earningsOf, fundsOf, WALLET } from "../../../src/ledger/rules.js";
import type { Deps } from "../../../src/deliveries/types.js";
import { openEscrow, returnSlots } from "../../../src/store/escrow.js";
import { accountBalance, transferNow } from "../../../src/store/ledger.js";
import { checkLedgerTotals } from "../../../src/store/ledgerCheck.js";
import {
  dueTips,
  findTip,
  heldTipsTo,
  insertTip,
  latestTipTo,
  lockTipKey,
  markCancelled,
  markReleased,
  tipCancelledBy,
  tipKey,
  type NewTip,
} from "../../../src/store/tips.js";
import { createTestDb, ENGINES, type TestDb } from "../../support/databases.js";

let comment = 5_000_000;
const T0 = new Date("2026-12-01T10:00:00Z");
const HOUR = 3_600_000;

const newTip = (o: Partial<NewTip> = {}): NewTip => ({
  commentId: ++comment,
  position: 0,
  tipper: { id: 11, login: "alice" },
  recipient: { id: 22, login: "Bob" },
  where: { installationId: 1, repoId: 77, owner: "kubernetes", repo: "test-infra", issueNumber: 5 },
  amount: { currency: "USD", minor: 500n },
  sats: 833n,
  rate: "60000",
  payer: "person",
  payableAt: new Date(T0.getTime() + HOUR),
  reason: "thanks",
  createdAt: T0,
  ...o,
});

describe.each(ENGINES)("the tips store on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });

  test("a tip is recorded once per comment and position, and read back as written", async () => {
    const n = newTip();
    const tip = await t.db.transaction((tx) => insertTip(tx, n));
    expect(tip).toMatchObject({ key: `${n.commentId}.0`, state: "held", settledAt: null, cancelKey: null, sats: 833n, rate: "60000", reason: "thanks" });
    expect(await findTip(t.db, n.commentId, 0)).toEqual(tip);
    expect(await findTip(t.db, n.commentId, 1)).toBeNull();
    await expect(t.db.transaction((tx) => insertTip(tx, n))).rejects.toThrow();
    // The second /tip line of the same comment is a tip of its own.
    await t.db.transaction((tx) => insertTip(tx, { ...n, position: 1 }));
    expect(await findTip(t.db, n.commentId, 1)).toMatchObject({ key: `${n.commentId}.1` });
  });

  test("the table refuses what a tip cannot be", async () => {
    await expect(t.db.transaction((tx) => insertTip(tx, newTip({ recipient: { id: 11, login: "alice" } })))).rejects.toThrow();
    await expect(t.db.transaction((tx) => insertTip(tx, newTip({ sats: 0n })))).rejects.toThrow();
    await expect(t.db.transaction((tx) => insertTip(tx, newTip({ amount: { currency: "BTC", minor: 5n }, rate: "60000" })))).rejects.toThrow();
    await expect(t.db.transaction((tx) => insertTip(tx, newTip({ rate: null })))).rejects.toThrow();
  });

  test("cancel finds the latest tip not taken back, any case of the login, on that issue only; it ends once", async () => {
    const where = { installationId: 1, repoId: 78, owner: "kubernetes", repo: "test-infra", issueNumber: 9 };
    const first = await t.db.transaction((tx) => insertTip(tx, newTip({ where })));
    const second = await t.db.transaction((tx) => insertTip(tx, newTip({ where })));
    await t.db.transaction((tx) => insertTip(tx, newTip({ where: { ...where, issueNumber: 10 } })));
    const q = { repoId: 78, issueNumber: 9, tipperId: 11, recipientLogin: "bob" };
    expect((await t.db.transaction((tx) => latestTipTo(tx, q)))?.id).toBe(second.id);
    expect(await t.db.transaction((tx) => latestTipTo(tx, { ...q, tipperId: 12 }))).toBeNull();

    expect(await t.db.transaction((tx) => markCancelled(tx, second.id, T0, "c.0"))).toBe(true);
    expect(await t.db.transaction((tx) => markCancelled(tx, second.id, T0, "c.1"))).toBe(false);
    expect((await tipCancelledBy(t.db, "c.0"))?.id).toBe(second.id);
    expect((await t.db.transaction((tx) => latestTipTo(tx, q)))?.id).toBe(first.id);
    // Released: it can no longer be taken back, nor released again.
    expect(await t.db.transaction((tx) => markReleased(tx, first.id, T0))).toBe(true);
    expect(await t.db.transaction((tx) => markReleased(tx, first.id, T0))).toBe(false);
    expect(await t.db.transaction((tx) => markCancelled(tx, first.id, T0, "c.2"))).toBe(false);
    expect(await t.db.transaction((tx) => latestTipTo(tx, q))).toMatchObject({ id: first.id, state: "released" });
  });

  test("due: held tips whose hold has passed, oldest first", async () => {
    const base = new Date("2030-01-01T00:00:00Z");
    const later = await t.db.transaction((tx) => insertTip(tx, newTip({ payableAt: new Date(base.getTime() + 2 * HOUR) })));
    const sooner = await t.db.transaction((tx) => insertTip(tx, newTip({ payableAt: new Date(base.getTime() + HOUR) })));
    const due = (now: Date) => dueTips(t.db, now).then((ids) => ids.filter((id) => id === later.id || id === sooner.id));
    expect(await due(base)).toEqual([]);
    expect(await due(new Date(base.getTime() + HOUR))).toEqual([sooner.id]);
    expect(await due(new Date(base.getTime() + 3 * HOUR))).toEqual([sooner.id, later.id]);
    await t.db.transaction((tx) => markReleased(tx, sooner.id, base));
    expect(await due(new Date(base.getTime() + 3 * HOUR))).toEqual([later.id]);
  });

  test("what is held for a recipient: pending, not yet payable", async () => {
    const recipient = { id: 33_333, login: "carla" };
    expect(await heldTipsTo(t.db, recipient.id)).toEqual({ count: 0, sats: 0n, nextPayableAt: null });
    const a = await t.db.transaction((tx) => insertTip(tx, newTip({ recipient, sats: 100n, payableAt: new Date("2030-05-01T02:00:00Z") })));
    await t.db.transaction((tx) => insertTip(tx, newTip({ recipient, sats: 250n, payableAt: new Date("2030-05-01T01:00:00Z") })));
    expect(await heldTipsTo(t.db, recipient.id)).toEqual({ count: 2, sats: 350n, nextPayableAt: new Date("2030-05-01T01:00:00Z") });
    await t.db.transaction((tx) => markReleased(tx, a.id, T0));
    expect(await heldTipsTo(t.db, recipient.id)).toMatchObject({ count: 1, sats: 250n });
  });

  describe("the release", () => {
    const deps = () => ({ db: t.db, log: pino({ level: "silent" }) }) as unknown as Deps;
    let user = 90_000;
    async function heldTip(sats: bigint, payableAt: Date) {
      const tipper = ++user;
      const recipient = ++user;
      await transferNow(t.db, { key: `dep-tips-${tipper}`, debit: WALLET, credit: fundsOf(tipper), sats, kind: "deposit" });
      return t.db.transaction(async (tx) => {
        const n = newTip({ tipper: { id: tipper, login: `t${tipper}` }, recipient: { id: recipient, login: `r${recipient}` }, sats, payableAt });
        const key = tipKey(n.commentId, n.position);
        expect(await openEscrow(tx, { escrow: tipEscrow(key), payer: { kind: "person", userId: tipper }, slots: [sats], timeoutAt: null })).toMatchObject({ ok: true });
        return insertTip(tx, n);
      });
    }
    const available = async (userId: number) => {
      const b = await accountBalance(t.db, earningsOf(userId));
      return b.creditsPosted - b.debitsPosted - b.debitsPending;
    };

    test("not before payable_at; then once, to the recipient's earnings", async () => {
      const tip = await heldTip(1_000n, new Date("2031-01-01T01:00:00Z"));
      expect(await releaseTip(deps(), tip.id, new Date("2031-01-01T00:59:59Z"))).toBe(false);
      expect(await available(tip.recipient.id)).toBe(0n);
      expect(await releaseTip(deps(), tip.id, new Date("2031-01-01T01:00:00Z"))).toBe(true);
      expect(await releaseTip(deps(), tip.id, new Date("2031-01-01T02:00:00Z"))).toBe(false);
      expect(await available(tip.recipient.id)).toBe(1_000n);
      expect(await findTip(t.db, tip.commentId, 0)).toMatchObject({ state: "released" });
      const events = await t.db.query<{ kind: string }>("SELECT kind FROM events WHERE user_id = $1 ORDER BY id", [tip.recipient.id]);
      expect(events.map((e) => e.kind)).toEqual(["tip_released"]);
      expect((await checkLedgerTotals(t.db)).problems).toEqual([]);
    });

    test("two sweeps at once (two processes) release each tip once", async () => {
      const due = new Date("2032-01-01T00:00:00Z");
      const tips = [await heldTip(700n, due), await heldTip(900n, due)];
      const changed = await Promise.all([releaseTips.run(deps(), due), releaseTips.run(deps(), due), releaseTips.run(deps(), due)]);
      expect(changed.reduce((s, n) => s + n, 0)).toBe(2);
      expect(await available(tips[0]!.recipient.id)).toBe(700n);
      expect(await available(tips[1]!.recipient.id)).toBe(900n);
      expect((await checkLedgerTotals(t.db)).problems).toEqual([]);
    });

    test("a tip whose escrow was voided behind its back is not marked paid (fail closed)", async () => {
      const tip = await heldTip(500n, new Date("2033-01-01T00:00:00Z"));
      await t.db.transaction((tx) => returnSlots(tx, tipEscrow(tip.key)));
      await expect(releaseTip(deps(), tip.id, new Date("2033-01-01T00:00:00Z"))).rejects.toThrow(/needs an operator/);
      expect(await findTip(t.db, tip.commentId, 0)).toMatchObject({ state: "held" });
      expect(await available(tip.recipient.id)).toBe(0n);
    });
  });

  // Two connections: only PostgreSQL has them (PGlite is one).
  if (engine === "postgres") test("the tip key lock serialises two connections", async () => {
    const order: string[] = [];
    let releaseFirst!: () => void;
    const held = new Promise<void>((r) => (releaseFirst = r));
    const first = t.db.transaction(async (tx) => {
      await lockTipKey(tx, "lock.0");
      order.push("first in");
      await held;
      order.push("first out");
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = t.db.transaction(async (tx) => {
      await lockTipKey(tx, "lock.0");
      order.push("second in");
    });
    await new Promise((r) => setTimeout(r, 100));
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(["first in", "first out", "second in"]);
  });
});
