import { earningsOf, escrowOf, fundsOf, TREASURY, WALLET, type TransferRequest } from "../../src/ledger/rules.js";
import {
  accountBalance,
  findTransfer,
  listAccounts,
  lockAccounts,
  listTransfers,
  pendingState,
  postPending,
  transfer,
  transferNow,
  TransferKeyConflict,
  voidExpired,
  voidPending,
} from "../../src/store/ledger.js";
import { createServerDatabase, createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { openDatabase } from "../../src/store/db.js";

const alice = 11;
const bob = 12;
let n = 0;
const key = (what: string) => `${what}-${++n}`;

describe.each(ENGINES)("the ledger on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });

  const deposit = (userId: number, sats: bigint, k = key("deposit")) =>
    transferNow(t.db, { key: k, debit: WALLET, credit: fundsOf(userId), sats, kind: "deposit" });
  const funds = async (userId: number) => accountBalance(t.db, fundsOf(userId));
  const sumZero = async () => {
    const [r] = await t.db.query<{ d: bigint; c: bigint; dq: bigint; cq: bigint }>(
      "SELECT sum(debits_posted) AS d, sum(credits_posted) AS c, sum(debits_pending) AS dq, sum(credits_pending) AS cq FROM ledger_accounts",
    );
    expect(BigInt(r!.d)).toBe(BigInt(r!.c));
    expect(BigInt(r!.dq)).toBe(BigInt(r!.cq));
  };

  afterEach(sumZero);

  test("a transfer moves sats from its debit account to its credit account, both rows in the same transaction", async () => {
    const r = await deposit(alice, 5000n);
    expect(r).toMatchObject({ ok: true, replayed: false });
    const f = await funds(alice);
    expect(f.creditsPosted - f.debitsPosted).toBeGreaterThanOrEqual(5000n);
    const w = await accountBalance(t.db, WALLET);
    expect(w.debitsPosted).toBeGreaterThanOrEqual(5000n);
  });

  test("a retry with the same key records nothing twice; the same key for another movement is refused loudly", async () => {
    const k = key("deposit");
    const before = await funds(bob);
    expect(await deposit(bob, 700n, k)).toMatchObject({ ok: true, replayed: false });
    expect(await deposit(bob, 700n, k)).toMatchObject({ ok: true, replayed: true });
    const after = await funds(bob);
    expect(after.creditsPosted - before.creditsPosted).toBe(700n);
    await expect(deposit(bob, 701n, k)).rejects.toBeInstanceOf(TransferKeyConflict);
    expect((await listTransfers(t.db, { account: fundsOf(bob).key })).filter((x) => x.key === k)).toHaveLength(1);
  });

  test("a personal account can never be overdrawn: refused with the shortfall, nothing recorded", async () => {
    const carol = 13;
    await deposit(carol, 1000n);
    const k = key("spend");
    const r = await transferNow(t.db, { key: k, debit: fundsOf(carol), credit: earningsOf(alice), sats: 1001n, kind: "correction" });
    expect(r).toEqual({ ok: false, reason: "your funds has 1000 sats available, 1 short of 1001" });
    expect(await findTransfer(t.db, k)).toBeNull();
    const f = await funds(carol);
    expect(f.debitsPosted).toBe(0n);
  });

  test("the treasury may owe more than it holds", async () => {
    const r = await transferNow(t.db, { key: key("award"), debit: TREASURY, credit: earningsOf(alice), sats: 10_000_000n, kind: "award" });
    expect(r.ok).toBe(true);
  });

  test("a pending transfer reserves its amount; posted in part, the rest returns; exactly once", async () => {
    const dave = 14;
    await deposit(dave, 3000n);
    const esc = escrowOf("pledge", 901);
    const p = key("escrow");
    expect(await transferNow(t.db, { key: p, debit: fundsOf(dave), credit: esc, sats: 2000n, kind: "escrow", pending: { timeoutAt: null } })).toMatchObject({ ok: true });
    let f = await funds(dave);
    expect(f.creditsPosted - f.debitsPosted - f.debitsPending).toBe(1000n);
    // The reservation counts: more than what is left is refused.
    expect((await transferNow(t.db, { key: key("x"), debit: fundsOf(dave), credit: esc, sats: 1001n, kind: "escrow" })).ok).toBe(false);
    const posted = await t.db.transaction((tx) => postPending(tx, p, { key: `${p}:post`, sats: 1500n }));
    expect(posted).toMatchObject({ ok: true, replayed: false, transfer: { phase: "post", sats: 1500n } });
    f = await funds(dave);
    expect(f).toMatchObject({ creditsPosted: 3000n, debitsPosted: 1500n, debitsPending: 0n });
    expect(await accountBalance(t.db, esc)).toMatchObject({ creditsPosted: 1500n, creditsPending: 0n });
    // Again with the same key: replayed. Voiding it now: refused.
    expect(await t.db.transaction((tx) => postPending(tx, p, { key: `${p}:post`, sats: 1500n }))).toMatchObject({ ok: true, replayed: true });
    expect(await t.db.transaction((tx) => voidPending(tx, p, { key: `${p}:void` }))).toEqual({
      ok: false,
      reason: `pending transfer ${p} was already posted`,
    });
    expect(await pendingState(t.db, p)).toBe("posted");
  });

  test("a pending transfer can be voided, and voids itself when its timeout passes", async () => {
    const erin = 15;
    await deposit(erin, 500n);
    const p1 = key("q");
    const p2 = key("q");
    const soon = new Date(Date.now() + 60_000);
    await transferNow(t.db, { key: p1, debit: fundsOf(erin), credit: escrowOf("question", 1), sats: 200n, kind: "escrow", pending: { timeoutAt: null } });
    await transferNow(t.db, { key: p2, debit: fundsOf(erin), credit: escrowOf("question", 2), sats: 300n, kind: "escrow", pending: { timeoutAt: soon } });
    expect((await funds(erin)).debitsPending).toBe(500n);
    expect(await t.db.transaction((tx) => voidPending(tx, p1, { key: `${p1}:void` }))).toMatchObject({ ok: true });
    expect(await voidExpired(t.db, new Date())).toBe(0);
    expect(await voidExpired(t.db, new Date(soon.getTime() + 1))).toBe(1);
    expect(await voidExpired(t.db, new Date(soon.getTime() + 1))).toBe(0);
    expect(await pendingState(t.db, p2)).toBe("voided");
    expect(await funds(erin)).toMatchObject({ debitsPending: 0n, debitsPosted: 0n, creditsPosted: 500n });
  });

  test("a deposit reversal is the one transfer that may overdraw a personal account; then nothing more is spent", async () => {
    const frank = 16;
    const d = key("deposit");
    await deposit(frank, 800n, d);
    await transferNow(t.db, { key: key("esc"), debit: fundsOf(frank), credit: escrowOf("pledge", 77), sats: 800n, kind: "escrow" });
    const rev = await transferNow(t.db, { key: `${d}:reversal`, debit: fundsOf(frank), credit: WALLET, sats: 800n, kind: "deposit_reversal" });
    expect(rev.ok).toBe(true);
    const f = await funds(frank);
    expect(f.creditsPosted - f.debitsPosted).toBe(-800n);
    expect((await deposit(frank, 500n)).ok).toBe(true);
    const spend = await transferNow(t.db, { key: key("spend"), debit: fundsOf(frank), credit: earningsOf(bob), sats: 1n, kind: "correction" });
    expect(spend).toEqual({ ok: false, reason: "your funds has 0 sats available, 1 short of 1" });
  });

  test("transfers are immutable", async () => {
    await deposit(alice, 1n);
    await expect(t.db.query("UPDATE ledger_transfers SET sats = sats + 1")).rejects.toThrow(/immutable/);
    await expect(t.db.query("DELETE FROM ledger_transfers")).rejects.toThrow(/immutable/);
  });

  test("bad requests are refused before anything is locked or written", async () => {
    const bad: TransferRequest[] = [
      { key: key("b"), debit: WALLET, credit: fundsOf(alice), sats: 0n, kind: "deposit" },
      { key: key("b"), debit: WALLET, credit: fundsOf(alice), sats: -5n, kind: "deposit" },
      { key: key("b"), debit: WALLET, credit: WALLET, sats: 5n, kind: "deposit" },
      { key: "", debit: WALLET, credit: fundsOf(alice), sats: 5n, kind: "deposit" },
      { key: key("b"), debit: WALLET, credit: { key: "funds:abc", kind: "funds", userId: null }, sats: 5n, kind: "deposit" },
      { key: key("b"), debit: WALLET, credit: fundsOf(alice), sats: 5n, kind: "gift" as never },
    ];
    const accounts = (await listAccounts(t.db)).length;
    for (const b of bad) expect((await transferNow(t.db, b)).ok).toBe(false);
    expect((await listAccounts(t.db)).length).toBe(accounts);
  });

  test("the ledger is not reachable by a transfer in a transaction that rolls back", async () => {
    const k = key("deposit");
    await expect(
      t.db.transaction(async (tx) => {
        await transfer(tx, { key: k, debit: WALLET, credit: fundsOf(alice), sats: 9n, kind: "deposit" });
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await findTransfer(t.db, k)).toBeNull();
  });
});

// PGlite is one connection: concurrency is a PostgreSQL question (.ci/run always provides one).
if (ENGINES.includes("postgres")) describe("the ledger under concurrency on PostgreSQL", () => {
  test("transfers racing over the same accounts in both directions neither deadlock nor lose a sat, and never overdraw", async () => {
    const server = await createServerDatabase();
    const dbs = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ databaseUrl: server.url })));
    try {
      const users = [21, 22, 23, 24];
      for (const u of users) await transferNow(dbs[0]!, { key: `seed-${u}`, debit: WALLET, credit: fundsOf(u), sats: 1000n, kind: "deposit" });
      let refused = 0;
      await Promise.all(
        dbs.map(async (db, c) => {
          for (let i = 0; i < 60; i++) {
            const from = users[(i + c) % 4]!;
            const to = users[(i + c + 1 + (i % 3)) % 4]!;
            const r = await transferNow(db, { key: `race-${c}-${i}`, debit: fundsOf(from), credit: fundsOf(to), sats: BigInt(50 + ((i * 37) % 400)), kind: "correction" });
            if (!r.ok) refused++;
          }
        }),
      );
      const rows = await listAccounts(dbs[0]!, { kinds: ["funds"] });
      const total = rows.reduce((s, r) => s + r.creditsPosted - r.debitsPosted, 0n);
      expect(total).toBe(4000n);
      for (const r of rows) expect(r.creditsPosted - r.debitsPosted).toBeGreaterThanOrEqual(0n);
      const [count] = await dbs[0]!.query<{ n: bigint }>("SELECT count(*) AS n FROM ledger_transfers WHERE key LIKE 'race-%'");
      expect(Number(count!.n) + refused).toBe(240);
    } finally {
      for (const db of dbs) await db.close();
      await server.drop();
    }
  }, 60_000);
});

// transferNow takes an unlocked way first (read, decide, compare-and-set); it must answer exactly what
// transfer in a transaction of its own answers, and never let a stale read spend money twice.
describe.each(ENGINES)("transferNow against transfer on %s", (engine) => {
  test("the same requests get the same answers and leave the same balances", async () => {
    const [a, b] = [await createTestDb(engine), await createTestDb(engine)];
    try {
      const requests: TransferRequest[] = [
        { key: "d1", debit: WALLET, credit: fundsOf(41), sats: 1000n, kind: "deposit" },
        { key: "d1", debit: WALLET, credit: fundsOf(41), sats: 1000n, kind: "deposit" },
        { key: "s1", debit: fundsOf(41), credit: fundsOf(42), sats: 400n, kind: "correction" },
        { key: "s2", debit: fundsOf(41), credit: fundsOf(42), sats: 601n, kind: "correction" },
        { key: "p1", debit: fundsOf(41), credit: escrowOf("pledge", 5), sats: 600n, kind: "escrow", pending: { timeoutAt: new Date("2030-01-01T00:00:00Z") } },
        { key: "s3", debit: fundsOf(41), credit: fundsOf(42), sats: 1n, kind: "correction" },
        { key: "s1", debit: fundsOf(41), credit: fundsOf(42), sats: 400n, kind: "correction" },
        { key: "r1", debit: fundsOf(42), credit: WALLET, sats: 900n, kind: "deposit_reversal" },
        { key: "t1", debit: TREASURY, credit: earningsOf(43), sats: 5n, kind: "award", ref: { award: "7" } },
        { key: "", debit: TREASURY, credit: earningsOf(43), sats: 5n, kind: "award" },
      ];
      const strip = (r: Awaited<ReturnType<typeof transferNow>>) => (r.ok ? { ...r, transfer: { ...r.transfer, id: 0n, at: null } } : r);
      for (const r of requests) {
        expect(strip(await transferNow(a.db, r))).toEqual(strip(await b.db.transaction((tx) => transfer(tx, r))));
      }
      await expect(transferNow(a.db, { ...requests[2]!, sats: 401n })).rejects.toBeInstanceOf(TransferKeyConflict);
      await expect(b.db.transaction((tx) => transfer(tx, { ...requests[2]!, sats: 401n }))).rejects.toBeInstanceOf(TransferKeyConflict);
      const rows = async (db: TestDb) => (await listAccounts(db.db)).map(({ id: _id, ...rest }) => rest);
      expect(await rows(a)).toEqual(await rows(b));
    } finally {
      await a.close();
      await b.close();
    }
  });
});

if (ENGINES.includes("postgres")) describe("lockAccounts takes every row in key order, the missing ones too", () => {
  test("a new account beside an existing one is taken before it (key order), so a statement taking them in that order does not deadlock with it", async () => {
    const server = await createServerDatabase();
    const [a, b] = await Promise.all([1, 2].map(() => openDatabase({ databaseUrl: server.url })));
    try {
      // The treasury exists; carol's earnings do not yet ("earnings:…" sorts before "treasury").
      await b.transaction((tx) => lockAccounts(tx, [TREASURY]));
      const carol = earningsOf(9_000_001);
      let made!: () => void;
      const isMade = new Promise<void>((r) => (made = r));
      // One transaction makes carol's account first, then wants the treasury: key order, as the rewards statement does.
      const first = a.transaction(async (tx) => {
        await tx.query("INSERT INTO ledger_accounts (key, kind, user_id) VALUES ($1, 'earnings', $2)", [carol.key, carol.userId]);
        made();
        await new Promise((r) => setTimeout(r, 300));
        await tx.query("SELECT 1 FROM ledger_accounts WHERE key = $1 FOR UPDATE", [TREASURY.key]);
      });
      await isMade;
      // The other wants both: taking the treasury first and making carol's after would deadlock with it.
      const second = b.transaction((tx) => lockAccounts(tx, [TREASURY, carol]));
      await expect(Promise.all([first, second])).resolves.toBeDefined();
    } finally {
      await a.close();
      await b.close();
      await server.drop();
    }
  });
});

if (ENGINES.includes("postgres")) describe("transferNow's unlocked way under concurrency on PostgreSQL", () => {
  test("transfers racing out of one account that can afford some of them: exactly those are written, none overdraws", async () => {
    const server = await createServerDatabase();
    const dbs = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ databaseUrl: server.url })));
    try {
      const payer = 51;
      await transferNow(dbs[0]!, { key: "seed-51", debit: WALLET, credit: fundsOf(payer), sats: 1000n, kind: "deposit" });
      for (let u = 60; u < 100; u++) await transferNow(dbs[0]!, { key: `seed-${u}`, debit: WALLET, credit: fundsOf(u), sats: 1n, kind: "deposit" });
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          transferNow(dbs[i % 4]!, { key: `spend-${i}`, debit: fundsOf(payer), credit: fundsOf(60 + i), sats: 100n, kind: "correction" }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      for (const r of results.filter((r) => !r.ok)) expect(r).toEqual({ ok: false, reason: "your funds has 0 sats available, 100 short of 100" });
      expect(await accountBalance(dbs[0]!, fundsOf(payer))).toMatchObject({ creditsPosted: 1000n, debitsPosted: 1000n, debitsPending: 0n });
      const [count] = await dbs[0]!.query<{ n: bigint }>("SELECT count(*) AS n FROM ledger_transfers WHERE key LIKE 'spend-%'");
      expect(Number(count!.n)).toBe(10);
    } finally {
      for (const db of dbs) await db.close();
      await server.drop();
    }
  }, 60_000);
});
