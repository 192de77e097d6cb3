import type { Budget } from "../../src/core/budget.js";
import type { Amount } from "../../src/core/money.js";
import { lockBounty, pledge, uncountedCurrencies, userFunder, type Cause, type PledgeTerms } from "../../src/store/bounties.js";
import { chargeBudget, chargesSince, releaseCharge } from "../../src/store/budgets.js";
import { openDatabase } from "../../src/store/db.js";
import { createServerDatabase, createTestDb, ENGINES, type TestDb } from "../support/databases.js";

const usd = (minor: bigint): Amount => ({ currency: "USD", minor });
const DAY = 86_400_000;
const per30d = (limit: Amount): Budget => ({ limit, windowMs: 30 * DAY });
const alice = { id: 11, login: "alice" };
const cause: Cause = { actor: alice, deliveryId: "d-1" };
const terms = (t: Partial<PledgeTerms>): PledgeTerms => ({ chargedUserId: alice.id, funderBudget: null, accountBudget: null, rates: {}, now: new Date(), ...t });
let n = 0;

describe.each(ENGINES)("the treasury's other spends count against budgets on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.db.exec("TRUNCATE pledges, events, bounties, budget_charges RESTART IDENTITY CASCADE");
  });
  const charge = (amount: Amount, tm: PledgeTerms, key = `tip:${++n}`) =>
    t.db.transaction((tx) => chargeBudget(tx, { key, kind: "tip", account: "Kubernetes", amount, terms: tm }));
  const pledgeOf = (amount: Amount, tm: PledgeTerms) =>
    t.db.transaction(async (tx) =>
      pledge(tx, await lockBounty(tx, { installationId: 7, repoId: 1001, owner: "kubernetes", repo: "website", number: ++n, title: "Docs" }), userFunder(alice), amount, cause, tm),
    );

  test("a funder's tips and pledges share one budget, both ways", async () => {
    const funderBudget = per30d(usd(10_000n));
    expect((await pledgeOf(usd(6_000n), terms({ funderBudget }))).over).toBeNull();
    expect(await charge(usd(3_000n), terms({ funderBudget }))).toEqual({ ok: true, replayed: false });
    expect(await charge(usd(1_001n), terms({ funderBudget }))).toEqual({
      ok: false,
      over: { kind: "funder", budget: funderBudget, spent: usd(9_000n), left: usd(1_000n), value: usd(1_001n) },
    });
    expect((await pledgeOf(usd(1_001n), terms({ funderBudget }))).over).toMatchObject({ kind: "funder", spent: usd(9_000n), left: usd(1_000n) });
    expect((await pledgeOf(usd(1_000n), terms({ funderBudget }))).over).toBeNull();
  });

  test("the same key charges once; a released charge no longer counts", async () => {
    const accountBudget = per30d(usd(5_000n));
    expect(await charge(usd(5_000n), terms({ accountBudget }), "question:1")).toEqual({ ok: true, replayed: false });
    expect(await charge(usd(5_000n), terms({ accountBudget }), "question:1")).toEqual({ ok: true, replayed: true });
    expect((await charge(usd(1n), terms({ accountBudget }))).ok).toBe(false);
    expect(await t.db.transaction((tx) => releaseCharge(tx, "question:1"))).toBe(true);
    expect(await t.db.transaction((tx) => releaseCharge(tx, "question:1"))).toBe(false);
    expect((await charge(usd(5_000n), terms({ accountBudget }))).ok).toBe(true);
  });

  test("charges in another currency are counted at their value when made, and listed per kind", async () => {
    const funderBudget = per30d(usd(10_000n));
    await charge({ currency: "BTC", minor: 10_000n }, terms({ funderBudget, rates: { USD: "60000" } }));
    expect(await uncountedCurrencies(t.db, "kubernetes", alice.id, { limit: { currency: "EUR", minor: 1n }, windowMs: DAY }, new Date())).toEqual(["BTC"]);
    const r = await charge(usd(9_500n), terms({ funderBudget, rates: { USD: "120000" } }));
    expect(r).toMatchObject({ ok: false, over: { spent: usd(600n), left: usd(9_400n) } });
    const since = await chargesSince(t.db, { account: "kubernetes", chargedUserId: alice.id, kind: "tip", since: new Date(Date.now() - DAY) });
    expect(since).toEqual([{ amount: { currency: "BTC", minor: 10_000n }, counted: { USD: "600" } }]);
  });
});

if (ENGINES.includes("postgres")) {
  test("tips racing on ten connections never go over the budget", async () => {
    const server = await createServerDatabase();
    const db = await openDatabase({ databaseUrl: server.url });
    try {
      for (let round = 0; round < 5; round++) {
        const funderBudget = per30d(usd(1_000n));
        const tm = terms({ funderBudget, chargedUserId: 100 + round });
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            db.transaction((tx) => chargeBudget(tx, { key: `tip:${round}:${i}`, kind: "tip", account: "kubernetes", amount: usd(300n), terms: tm })),
          ),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(3);
      }
    } finally {
      await db.close();
      await server.drop();
    }
  }, 30_000);
}
