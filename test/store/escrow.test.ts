import { earningsOf, escrowOf, fundsOf, TREASURY, WALLET } from "../../src/ledger/rules.js";
import { escrowSlots, openEscrow, releaseSlot, returnSlots } from "../../src/store/escrow.js";
import { accountBalance, transferNow, voidExpired } from "../../src/store/ledger.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";

let id = 0;
describe.each(ENGINES)("escrow on the ledger on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  const person = async (funds: bigint, earnings = 0n) => {
    const userId = 1000 + ++id;
    if (funds) await transferNow(t.db, { key: `dep-${userId}`, debit: WALLET, credit: fundsOf(userId), sats: funds, kind: "deposit" });
    if (earnings) await transferNow(t.db, { key: `award-${userId}`, debit: TREASURY, credit: earningsOf(userId), sats: earnings, kind: "award" });
    return userId;
  };
  const avail = async (spec: ReturnType<typeof fundsOf>) => {
    const b = await accountBalance(t.db, spec);
    return b.creditsPosted - b.debitsPosted - b.debitsPending;
  };

  test("a question: escrowed from funds then earnings, released whole to the one who answered", async () => {
    const asker = await person(300n, 500n);
    const expert = await person(0n);
    const esc = escrowOf("question", ++id);
    const open = await t.db.transaction((tx) => openEscrow(tx, { escrow: esc, payer: { kind: "person", userId: asker }, slots: [600n], timeoutAt: null }));
    expect(open).toMatchObject({ ok: true, replayed: false });
    expect(await avail(fundsOf(asker))).toBe(0n);
    expect(await avail(earningsOf(asker))).toBe(200n);
    // A retry of the same ask draws nothing more.
    expect(await t.db.transaction((tx) => openEscrow(tx, { escrow: esc, payer: { kind: "person", userId: asker }, slots: [600n], timeoutAt: null }))).toMatchObject({
      ok: true,
      replayed: true,
    });
    expect(await avail(earningsOf(asker))).toBe(200n);
    expect(await t.db.transaction((tx) => releaseSlot(tx, esc, 0, [{ account: earningsOf(expert), sats: 600n }]))).toBe(true);
    expect(await t.db.transaction((tx) => releaseSlot(tx, esc, 0, [{ account: earningsOf(expert), sats: 600n }]))).toBe(true);
    expect(await avail(earningsOf(expert))).toBe(600n);
    expect(await accountBalance(t.db, esc)).toMatchObject({ creditsPosted: 600n, debitsPosted: 600n, creditsPending: 0n });
    // Released: it cannot also be returned.
    expect(await t.db.transaction((tx) => returnSlots(tx, esc))).toBe(0n);
    expect(await avail(fundsOf(asker))).toBe(0n);
  });

  test("not enough: nothing reserved, the shortfall given", async () => {
    const asker = await person(100n);
    const esc = escrowOf("question", ++id);
    expect(await t.db.transaction((tx) => openEscrow(tx, { escrow: esc, payer: { kind: "person", userId: asker }, slots: [150n], timeoutAt: null }))).toEqual({
      ok: false,
      available: 100n,
      missing: 50n,
    });
    expect(await escrowSlots(t.db, esc.key)).toEqual([]);
    expect(await avail(fundsOf(asker))).toBe(100n);
  });

  test("a survey: first two of three slots paid, the rest returned once; a returned slot cannot be released", async () => {
    const author = await person(900n);
    const [a, b] = [await person(0n), await person(0n)];
    const esc = escrowOf("survey", ++id);
    await t.db.transaction((tx) => openEscrow(tx, { escrow: esc, payer: { kind: "person", userId: author }, slots: [300n, 300n, 300n], timeoutAt: null }));
    await t.db.transaction((tx) => releaseSlot(tx, esc, 0, [{ account: earningsOf(a), sats: 300n }]));
    await t.db.transaction((tx) => releaseSlot(tx, esc, 1, [{ account: earningsOf(b), sats: 300n }]));
    expect(await t.db.transaction((tx) => returnSlots(tx, esc))).toBe(300n);
    expect(await t.db.transaction((tx) => returnSlots(tx, esc))).toBe(0n);
    expect(await t.db.transaction((tx) => releaseSlot(tx, esc, 2, [{ account: earningsOf(a), sats: 300n }]))).toBe(false);
    expect(await avail(fundsOf(author))).toBe(300n);
    expect((await escrowSlots(t.db, esc.key)).map((s) => s.state)).toEqual(["released", "released", "returned"]);
  });

  test("a treasury escrow split among several winners; its timeout returns what is still held", async () => {
    const [a, b] = [await person(0n), await person(0n)];
    const pledge = escrowOf("pledge", ++id);
    await t.db.transaction((tx) => openEscrow(tx, { escrow: pledge, payer: { kind: "treasury" }, slots: [1001n], timeoutAt: null }));
    await expect(t.db.transaction((tx) => releaseSlot(tx, pledge, 0, [{ account: earningsOf(a), sats: 1000n }]))).rejects.toThrow(/holds 1001/);
    await t.db.transaction((tx) =>
      releaseSlot(tx, pledge, 0, [
        { account: earningsOf(a), sats: 501n },
        { account: earningsOf(b), sats: 500n },
      ]),
    );
    expect([await avail(earningsOf(a)), await avail(earningsOf(b))]).toEqual([501n, 500n]);

    const asker = await person(400n);
    const q = escrowOf("question", ++id);
    const at = new Date(Date.now() + 1000);
    await t.db.transaction((tx) => openEscrow(tx, { escrow: q, payer: { kind: "person", userId: asker }, slots: [400n], timeoutAt: at }));
    await voidExpired(t.db, new Date(at.getTime() + 1));
    expect(await avail(fundsOf(asker))).toBe(400n);
    expect(await t.db.transaction((tx) => releaseSlot(tx, q, 0, [{ account: earningsOf(a), sats: 400n }]))).toBe(false);
  });
});
