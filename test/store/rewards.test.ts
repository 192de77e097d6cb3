import { availableBalance, decideTransfer, earningsOf, grantOf, TREASURY, type Balance } from "../../src/ledger/rules.js";
import { openDatabase, type Db } from "../../src/store/db.js";
import { accountBalance, findTransfer, transfer } from "../../src/store/ledger.js";
import { checkLedgerTotals } from "../../src/store/ledgerCheck.js";
import { recordReward, RewardRefused, rewardsNow, RewardWriter, type NewReward } from "../../src/store/rewards.js";
import { fundPeriod, insertToken, revokeToken } from "../../src/store/tokens.js";
import { createServerDatabase, createTestDb, ENGINES, type TestDb } from "../support/databases.js";

let n = 0;

/** A token whose first period is funded with `budget` sats. */
async function token(db: Db, budget: bigint): Promise<{ id: bigint; name: string }> {
  const name = `store-${process.pid}-${++n}`;
  return db.transaction(async (tx) => {
    const t = await insertToken(tx, { name, secretHash: Buffer.alloc(32), budget: { limit: { currency: "BTC", minor: budget }, windowMs: 86_400_000 }, repos: null, recipientCap: null });
    await fundPeriod(tx, t.id, 0, budget, null);
    return { id: t.id, name };
  });
}

const reward = (tokenId: bigint, sats: bigint, recipientId: number, keyHash = `key-${++n}`): NewReward => ({
  tokenId,
  keyHash,
  requestHash: `request-${keyHash}`,
  recipientId,
  recipientLogin: `person-${recipientId}`,
  sats,
  currency: "BTC",
  minor: sats,
  rate: null,
  reason: "store test",
  url: null,
  notify: null,
});

const totals = (b: Balance) => [b.debitsPosted, b.creditsPosted, b.debitsPending, b.creditsPending];
const refusal = (err: unknown) => (err instanceof RewardRefused ? err.why : err);

describe.each(ENGINES)("rewards in one statement on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());

  test("the statement's overdraft rule agrees with the ledger's rules (decideTransfer), alone and in a batch", async () => {
    // A grant funded with `funded`, `spent` of it rewarded, `held` of it reserved by a pending
    // transfer; then `asked` as one reward, and as a batch of two (both or neither).
    const cases: Array<[funded: bigint, spent: bigint, held: bigint, asked: bigint]> = [
      [1000n, 0n, 0n, 1000n],
      [1000n, 0n, 0n, 1001n],
      [1000n, 400n, 0n, 600n],
      [1000n, 400n, 0n, 601n],
      [1000n, 0n, 300n, 700n],
      [1000n, 0n, 300n, 701n],
      [1000n, 400n, 300n, 300n],
      [1000n, 400n, 300n, 301n],
      [1000n, 999n, 0n, 1n],
      [1000n, 1000n, 0n, 1n],
      [1000n, 0n, 1000n, 1n],
      [1n, 0n, 0n, 1n],
      [5_000_000_000n, 0n, 0n, 2_100_000_000_000_001n],
    ];
    const person = 93001;
    for (const [funded, spent, held, asked] of cases) {
      const label = `funded ${funded}, spent ${spent}, held ${held}, asked ${asked}`;
      const { id } = await token(t.db, funded);
      if (spent) expect(await rewardsNow(t.db, [reward(id, spent, 93002)])).not.toBeNull();
      if (held) {
        const hold = await t.db.transaction((tx) =>
          transfer(tx, { key: `hold:${id}`, debit: grantOf(id), credit: earningsOf(93003), sats: held, kind: "reward", pending: { timeoutAt: null } }),
        );
        expect(hold.ok).toBe(true);
      }

      const grant = await accountBalance(t.db, grantOf(id));
      const earned = await accountBalance(t.db, earningsOf(person));
      const rule = decideTransfer({ key: `reward:${id}:x`, debit: grantOf(id), credit: earningsOf(person), sats: asked, kind: "reward" }, grant, earned);
      const written = await rewardsNow(t.db, [reward(id, asked, person)]);
      expect([label, written !== null]).toEqual([label, rule.ok]);
      const grantAfter = await accountBalance(t.db, grantOf(id));
      const earnedAfter = await accountBalance(t.db, earningsOf(person));
      if (rule.ok) {
        expect([label, totals(grantAfter), totals(earnedAfter)]).toEqual([label, totals(rule.debit), totals(rule.credit)]);
        expect((await findTransfer(t.db, `reward:${id}:${written![0]!.keyHash}`))?.sats).toBe(asked);
      } else {
        expect([label, totals(grantAfter), totals(earnedAfter)]).toEqual([label, totals(grant), totals(earned)]);
      }

      // The same ask split in two, in one statement: written only when the rules take both, one after the other.
      if (asked < 2n) continue;
      const first = asked / 2n;
      const second = asked - first;
      const one = decideTransfer({ key: "a", debit: grantOf(id), credit: earningsOf(person), sats: first, kind: "reward" }, grantAfter, earnedAfter);
      const both = one.ok && decideTransfer({ key: "b", debit: grantOf(id), credit: earningsOf(person + 1), sats: second, kind: "reward" }, one.debit, earnedAfter).ok;
      const batch = await rewardsNow(t.db, [reward(id, first, person), reward(id, second, person + 1)]);
      expect([label, "batch", batch !== null]).toEqual([label, "batch", both]);
      const spentByBatch = availableBalance(grantAfter) - availableBalance(await accountBalance(t.db, grantOf(id)));
      expect([label, spentByBatch]).toEqual([label, both ? asked : 0n]);
    }
    expect((await checkLedgerTotals(t.db)).problems).toEqual([]);
  });

  test("a batch is all or nothing: a used key, a revoked token or a short budget writes none of it; the transactional way answers each", async () => {
    const { id, name } = await token(t.db, 1000n);
    const stored = reward(id, 100n, 93010);
    expect((await rewardsNow(t.db, [stored]))?.map((r) => r.sats)).toEqual([100n]);

    const fresh = reward(id, 100n, 93011);
    expect(await rewardsNow(t.db, [fresh, stored])).toBeNull();
    expect(await rewardsNow(t.db, [fresh, reward(id, 900n, 93012)])).toBeNull();
    expect(availableBalance(await accountBalance(t.db, grantOf(id)))).toBe(900n);
    expect(await findTransfer(t.db, `reward:${id}:${fresh.keyHash}`)).toBeNull();

    // The same key again goes the transactional way, which finds the stored reward.
    const again = await recordReward(t.db, stored);
    expect([again.replayed, again.reward.sats]).toEqual([true, 100n]);
    expect(await recordReward(t.db, fresh)).toMatchObject({ replayed: false, reward: { sats: 100n } });

    await revokeToken(t.db, name);
    const late = reward(id, 1n, 93013);
    expect(await rewardsNow(t.db, [late])).toBeNull();
    expect(refusal(await recordReward(t.db, late).catch((e) => e))).toBe("revoked");
    // A revoked token's stored rewards are not replayed either: its caller is refused.
    expect(refusal(await recordReward(t.db, stored).catch((e) => e))).toBe("revoked");
    expect((await checkLedgerTotals(t.db)).problems).toEqual([]);
  });

  test("calls racing for the last sats, batched or not: never more than the budget, each reward with its transfer", async () => {
    const { id } = await token(t.db, 1000n);
    const writer = new RewardWriter(t.db);
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => {
        const r = reward(id, 100n, 93020 + (i % 4));
        // Half through a process's writer (batched), half alone; the first rewards to new people among them.
        return (i % 2 ? writer.record(r) : recordReward(t.db, r)).then(
          (w) => w.reward.sats,
          (err) => refusal(err),
        );
      }),
    );
    expect(answers.filter((a) => a === 100n).length).toBe(10);
    expect(answers.filter((a) => a === "budget").length).toBe(15);
    expect(availableBalance(await accountBalance(t.db, grantOf(id)))).toBe(0n);
    const [rows] = await t.db.query<{ n: bigint; sats: bigint }>("SELECT count(*) AS n, coalesce(sum(sats), 0) AS sats FROM api_rewards WHERE token_id = $1", [id]);
    expect([Number(rows!.n), BigInt(rows!.sats)]).toEqual([10, 1000n]);
    expect((await checkLedgerTotals(t.db)).problems).toEqual([]);
  });

  if (engine === "postgres") {
    test("the transactional way makes a new recipient's earnings account before it locks the grant: two first rewards to one person do not deadlock", async () => {
      const { id } = await token(t.db, 1000n);
      const person = 93040;
      const waiters = async () =>
        Number((await t.db.query<{ n: bigint }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))[0]!.n);
      const until = async (want: number): Promise<boolean> => {
        for (let i = 0; i < 200; i++) {
          if ((await waiters()) >= want) return true;
          await new Promise((r) => setTimeout(r, 25));
        }
        return false;
      };
      // Another transaction holds the grant's row, as a reward of this token in the middle of its transaction does.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = t.db.transaction(async (tx) => {
        await tx.query("SELECT id FROM ledger_accounts WHERE key = $1 FOR UPDATE", [grantOf(id).key]);
        locked();
        await held;
      });
      await isLocked;
      // The first reward to the person waits for the grant; meanwhile their earnings account comes to be
      // (an award), and a second reward to them starts, then the grant is let go.
      const first = recordReward(t.db, reward(id, 10n, person), { cap: { sats: 1000n, windowMs: 60_000 } });
      expect(await until(1)).toBe(true);
      // The award commits at once, or (the account being made by the first reward) waits for it.
      const award = t.db.transaction((tx) => transfer(tx, { key: `award-${id}`, debit: TREASURY, credit: earningsOf(person), sats: 5n, kind: "award" }));
      await Promise.race([award.catch(() => undefined), until(2)]);
      const second = recordReward(t.db, reward(id, 20n, person), { cap: { sats: 1000n, windowMs: 60_000 } });
      expect(await until(2)).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      release();
      await holder;
      const answers = await Promise.allSettled([first, second, award]);
      expect(answers.map((a) => (a.status === "fulfilled" ? "ok" : String(a.reason)))).toEqual(["ok", "ok", "ok"]);
      expect(availableBalance(await accountBalance(t.db, earningsOf(person)))).toBe(35n);
      expect((await checkLedgerTotals(t.db)).problems).toEqual([]);
    });

    test("two processes' writers racing for one budget: exactly what it holds is rewarded", async () => {
      const server = await createServerDatabase();
      const a = await openDatabase({ databaseUrl: server.url });
      const b = await openDatabase({ databaseUrl: server.url });
      try {
        for (let round = 0; round < 3; round++) {
          const { id } = await token(a, 1000n);
          const writers = [new RewardWriter(a), new RewardWriter(b)];
          const answers = await Promise.all(
            Array.from({ length: 40 }, (_, i) =>
              writers[i % 2]!.record(reward(id, 30n, 93030 + (i % 7))).then(
                (w) => w.reward.sats,
                (err) => refusal(err),
              ),
            ),
          );
          expect([round, answers.filter((x) => x === 30n).length, answers.filter((x) => x === "budget").length]).toEqual([round, 33, 7]);
          expect(availableBalance(await accountBalance(a, grantOf(id)))).toBe(10n);
        }
        expect((await checkLedgerTotals(a)).problems).toEqual([]);
      } finally {
        await a.close();
        await b.close();
        await server.drop();
      }
    });
  }
});
