import type { Budget } from "../../src/core/budget.js";
import type { Amount } from "../../src/core/money.js";
import type { Queryable } from "../../src/store/db.js";
import {
  bountyEvents,
  labelFunder,
  listPledges,
  lockBounty,
  pledge,
  uncountedCurrencies,
  userFunder,
  withdraw,
  type Cause,
  type IssueRef,
  type PledgeTerms,
} from "../../src/store/bounties.js";
import { ENGINES, createTestDb, type TestDb } from "../support/databases.js";

const usd = (minor: bigint): Amount => ({ currency: "USD", minor });
const sats = (minor: bigint): Amount => ({ currency: "BTC", minor });
const DAY = 86_400_000;
const per30d = (limit: Amount): Budget => ({ limit, windowMs: 30 * DAY });
const alice = { id: 11, login: "alice" };
const bob = { id: 12, login: "bob" };
const cause: Cause = { actor: alice, deliveryId: "d-1" };

let nextIssue = 1;
const issueOf = (owner = "kubernetes", repo = "website", repoId = 1001): IssueRef => ({
  installationId: 7,
  repoId,
  owner,
  repo,
  number: nextIssue++,
  title: "Docs",
});
const terms = (t: Partial<PledgeTerms>): PledgeTerms => ({
  chargedUserId: alice.id,
  funderBudget: null,
  accountBudget: null,
  rates: {},
  now: new Date(),
  ...t,
});

describe.each(ENGINES)("budgets in the ledger on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.db.exec("TRUNCATE pledges, events, bounties RESTART IDENTITY CASCADE");
  });

  const pledgeOn = (issue: IssueRef, funder: ReturnType<typeof userFunder>, amount: Amount, tm: PledgeTerms) =>
    t.db.transaction(async (tx) => pledge(tx, await lockBounty(tx, issue), funder, amount, cause, tm));

  test("a funder's budget counts their pledges across every repository of the account, and only that account", async () => {
    const funderBudget = per30d(usd(50_000n));
    expect((await pledgeOn(issueOf(), userFunder(alice), usd(30_000n), terms({ funderBudget }))).over).toBeNull();
    expect((await pledgeOn(issueOf("kubernetes", "kubectl", 1002), userFunder(alice), usd(15_000n), terms({ funderBudget }))).over).toBeNull();
    // Another account's pledges do not count here; bob's do not count against alice.
    expect((await pledgeOn(issueOf("etcd-io", "etcd", 2001), userFunder(alice), usd(40_000n), terms({ funderBudget }))).over).toBeNull();
    expect((await pledgeOn(issueOf(), userFunder(bob), usd(40_000n), terms({ chargedUserId: bob.id, funderBudget }))).over).toBeNull();

    const issue = issueOf("Kubernetes", "test-infra", 1003);
    const r = await pledgeOn(issue, userFunder(alice), usd(10_000n), terms({ funderBudget }));
    expect(r.over).toEqual({ kind: "funder", budget: funderBudget, spent: usd(45_000n), left: usd(5_000n), value: usd(10_000n) });
    // Refused: nothing recorded, not even the bounty lockBounty made for it, nor an event.
    expect(await t.db.query("SELECT id FROM bounties WHERE repo_id = 1003")).toEqual([]);
    expect(await t.db.query("SELECT id FROM events WHERE data->>'funder' = 'user:11' AND (data->'amount'->>'minor') = '10000'")).toEqual([]);
    expect((await pledgeOn(issue, userFunder(alice), usd(5_000n), terms({ funderBudget }))).over).toBeNull();
  });

  test("the account budget counts every funder's pledges, label pledges of trusted bots included", async () => {
    const accountBudget = per30d(usd(100_000n));
    await pledgeOn(issueOf(), userFunder(alice), usd(50_000n), terms({ accountBudget }));
    const bot = labelFunder("bounty/large", "bounty-bot[bot]");
    expect((await pledgeOn(issueOf(), bot, usd(40_000n), terms({ chargedUserId: null, accountBudget }))).over).toBeNull();
    const r = await pledgeOn(issueOf(), userFunder(bob), usd(20_000n), terms({ chargedUserId: bob.id, accountBudget, funderBudget: per30d(usd(1_000_000n)) }));
    expect(r.over).toMatchObject({ kind: "account", spent: usd(90_000n), left: usd(10_000n) });
  });

  test("a label pledge counts against whoever added the label", async () => {
    const funderBudget = per30d(usd(10_000n));
    const label = labelFunder("bounty/small", "bounty-bot[bot]");
    expect((await pledgeOn(issueOf(), label, usd(8_000n), terms({ chargedUserId: bob.id, funderBudget }))).over).toBeNull();
    expect((await pledgeOn(issueOf(), userFunder(bob), usd(3_000n), terms({ chargedUserId: bob.id, funderBudget }))).over).toMatchObject({
      kind: "funder",
      spent: usd(8_000n),
    });
    // Alice's budget is untouched by bob's label.
    expect((await pledgeOn(issueOf(), userFunder(alice), usd(10_000n), terms({ funderBudget }))).over).toBeNull();
  });

  test("pledges are counted at their value when pledged: later prices change nothing counted", async () => {
    const funderBudget = per30d(usd(10_000n));
    const first = issueOf();
    // 100,000 sats at $60,000/BTC is $60.
    await pledgeOn(first, userFunder(alice), sats(100_000n), terms({ funderBudget, rates: { USD: "60000" } }));
    const [row] = await t.db.query<{ counted: unknown; rates: unknown; value_sats: bigint; account: string; charged_user_id: bigint }>(
      "SELECT counted, rates, value_sats, account, charged_user_id FROM pledges",
    );
    expect(row).toMatchObject({ counted: { USD: "6000" }, rates: { USD: "60000" }, value_sats: 100_000n, account: "kubernetes", charged_user_id: 11n });
    // The price doubles: the old pledge still counts $60, so $40 is left (at today's price it would be $120).
    const r = await pledgeOn(first, userFunder(bob), usd(4_001n), terms({ chargedUserId: alice.id, funderBudget, rates: { USD: "120000" } }));
    expect(r.over).toMatchObject({ spent: usd(6_000n), left: usd(4_000n) });
    // A refusal on a bounty that has pledges keeps the bounty and its pledges as they were.
    const [kept] = await t.db.query<{ id: bigint }>("SELECT id FROM bounties");
    expect((await listPledges(t.db, kept!.id)).map((p) => p.amount)).toEqual([sats(100_000n)]);
    expect((await bountyEvents(t.db, kept!.id)).map((e) => e.kind)).toEqual(["pledged"]);
    expect(await uncountedCurrencies(t.db, "kubernetes", alice.id, funderBudget, new Date())).toEqual([]);
    expect(await uncountedCurrencies(t.db, "kubernetes", alice.id, per30d(sats(1n)), new Date())).toEqual([]);
    expect(await uncountedCurrencies(t.db, "kubernetes", alice.id, { limit: { currency: "EUR", minor: 1n }, windowMs: DAY }, new Date())).toEqual(["BTC"]);
  });

  test("a replacement that lowers a pledge always goes through; one that raises it is checked without the old amount", async () => {
    const funderBudget = per30d(usd(10_000n));
    const issue = issueOf();
    await pledgeOn(issue, userFunder(alice), usd(9_000n), terms({ funderBudget }));
    // Raising 90 → 100 fits (the 90 is replaced, not added); 100 → 101 does not.
    expect((await pledgeOn(issue, userFunder(alice), usd(10_000n), terms({ funderBudget }))).over).toBeNull();
    expect((await pledgeOn(issue, userFunder(alice), usd(10_100n), terms({ funderBudget }))).over).toMatchObject({ spent: usd(0n), left: usd(10_000n) });
    // The budget shrinks below what is pledged: lowering still works.
    const lowered = await pledgeOn(issue, userFunder(alice), usd(6_000n), terms({ funderBudget: per30d(usd(1_000n)) }));
    expect(lowered).toEqual({ replaced: usd(10_000n), over: null });
  });

  test("the window rolls: pledges older than it, and withdrawn ones, no longer count; awarded ones do", async () => {
    const funderBudget = per30d(usd(10_000n));
    const old = issueOf();
    await pledgeOn(old, userFunder(alice), usd(10_000n), terms({ funderBudget }));
    const full = await pledgeOn(issueOf(), userFunder(alice), usd(1n), terms({ funderBudget }));
    expect(full.over).toMatchObject({ left: usd(0n) });
    await t.db.query("UPDATE pledges SET pledged_at = now() - interval '31 days'");
    expect((await pledgeOn(issueOf(), userFunder(alice), usd(7_000n), terms({ funderBudget }))).over).toBeNull();
    await t.db.query("UPDATE pledges SET status = 'awarded' WHERE amount_minor = 7000");
    expect((await pledgeOn(issueOf(), userFunder(alice), usd(3_001n), terms({ funderBudget }))).over).toMatchObject({ spent: usd(7_000n) });
    const withdrawnOne = issueOf();
    await pledgeOn(withdrawnOne, userFunder(alice), usd(3_000n), terms({ funderBudget }));
    await t.db.transaction(async (tx) => withdraw(tx, await lockBounty(tx, withdrawnOne), userFunder(alice).key, cause));
    expect((await pledgeOn(issueOf(), userFunder(alice), usd(3_000n), terms({ funderBudget }))).over).toBeNull();
  });

  test("a pledge in another currency without the price it needs is not guessed: the transaction fails", async () => {
    await expect(pledgeOn(issueOf(), userFunder(alice), sats(1_000n), terms({ funderBudget: per30d(usd(10_000n)) }))).rejects.toThrow(/no USD price/);
    expect(await t.db.query("SELECT * FROM pledges")).toEqual([]);
  });

  if (engine === "postgres") {
    test("two pledges racing on two connections cannot both fit under what is left", async () => {
      const funderBudget = per30d(usd(50_000n));
      const accountBudget = per30d(usd(80_000n));
      await pledgeOn(issueOf(), userFunder(bob), usd(20_000n), terms({ chargedUserId: bob.id, accountBudget }));
      // Both transactions hold their bounty before either pledges, so neither has committed when the other counts.
      let arrived = 0;
      let release!: () => void;
      const bothIn = new Promise<void>((r) => (release = r));
      const race = (issue: IssueRef, amount: Amount) =>
        t.db.transaction(async (tx: Queryable) => {
          const bounty = await lockBounty(tx, issue);
          if (++arrived === 2) release();
          await bothIn;
          return pledge(tx, bounty, userFunder(alice), amount, cause, terms({ funderBudget, accountBudget }));
        });
      const results = await Promise.all([race(issueOf(), usd(30_000n)), race(issueOf("kubernetes", "kubectl", 1002), usd(30_000n))]);
      expect(results.filter((r) => r.over === null)).toHaveLength(1);
      expect(results.find((r) => r.over !== null)!.over).toMatchObject({ kind: "funder", spent: usd(30_000n), left: usd(20_000n) });
      const [sum] = await t.db.query<{ n: bigint }>("SELECT sum(amount_minor)::bigint AS n FROM pledges WHERE charged_user_id = 11");
      expect(sum!.n).toBe(30_000n);
    });
  }
});
