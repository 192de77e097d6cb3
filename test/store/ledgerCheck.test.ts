import { escrowOf, fundsOf, TREASURY, WALLET } from "../../src/ledger/rules.js";
import type { Queryable } from "../../src/store/db.js";
import { postPending, transferNow, voidPending } from "../../src/store/ledger.js";
import { checkLedgerTotals } from "../../src/store/ledgerCheck.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";

const alice = 31;
const bob = 32;

/** Thrown to roll a corruption back once the check has looked at it. */
class Undo extends Error {}

describe.each(ENGINES)("the ledger's own check on %s", (engine) => {
  let t: TestDb;
  let transfers = 0n;
  beforeAll(async () => {
    t = await createTestDb(engine);
    const ok = async (p: Promise<{ ok: boolean }>) => {
      expect((await p).ok).toBe(true);
      transfers++;
    };
    await ok(transferNow(t.db, { key: "dep-a", debit: WALLET, credit: fundsOf(alice), sats: 5000n, kind: "deposit" }));
    await ok(transferNow(t.db, { key: "dep-b", debit: WALLET, credit: fundsOf(bob), sats: 700n, kind: "deposit" }));
    await ok(transferNow(t.db, { key: "a-to-b", debit: fundsOf(alice), credit: fundsOf(bob), sats: 1200n, kind: "correction" }));
    await ok(transferNow(t.db, { key: "esc-1", debit: fundsOf(alice), credit: escrowOf("pledge", 1), sats: 1000n, kind: "escrow", pending: { timeoutAt: null } }));
    await ok(transferNow(t.db, { key: "esc-2", debit: fundsOf(bob), credit: escrowOf("pledge", 2), sats: 300n, kind: "escrow", pending: { timeoutAt: null } }));
    await ok(transferNow(t.db, { key: "esc-3", debit: TREASURY, credit: escrowOf("pledge", 3), sats: 900n, kind: "escrow", pending: { timeoutAt: null } }));
    await ok(t.db.transaction((tx) => postPending(tx, "esc-1", { key: "esc-1:post", sats: 600n })));
    await ok(t.db.transaction((tx) => voidPending(tx, "esc-2", { key: "esc-2:void" })));
  });
  afterAll(async () => {
    await t.close();
  });

  /** Runs `corrupt` and the check in one transaction, then rolls both back. */
  const corrupted = async (corrupt: (tx: Queryable) => Promise<unknown>): Promise<string[]> => {
    let problems: string[] = [];
    await expect(
      t.db.transaction(async (tx) => {
        await corrupt(tx);
        const r = await checkLedgerTotals(tx);
        expect(r.ok).toBe(false);
        problems = r.problems;
        throw new Undo();
      }),
    ).rejects.toBeInstanceOf(Undo);
    return problems;
  };
  const id = async (tx: Queryable, table: "ledger_accounts" | "ledger_transfers", key: string): Promise<bigint> => {
    const [row] = await tx.query<{ id: bigint }>(`SELECT id FROM ${table} WHERE key = $1`, [key]);
    return BigInt(row!.id);
  };
  /** A transfer written straight into the table, past the code that keeps the balances. */
  const insert = async (tx: Queryable, r: { key: string; debit: string; credit: string; sats: bigint; phase: string; pending?: string }) =>
    tx.query(
      `INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, pending_id, kind)
       VALUES ($1, $2, $3, $4, $5, $6, 'escrow')`,
      [r.key, await id(tx, "ledger_accounts", r.debit), await id(tx, "ledger_accounts", r.credit), r.sats, r.phase, r.pending ? await id(tx, "ledger_transfers", r.pending) : null],
    );

  // Each case must leave the ledger as clean as it found it.
  afterEach(async () => {
    expect(await checkLedgerTotals(t.db)).toMatchObject({ ok: true, problems: [] });
  });

  test("a clean ledger checks clean: single, pending, posted in part, voided", async () => {
    const r = await checkLedgerTotals(t.db);
    expect(r).toEqual({ ok: true, problems: [], accounts: 8, transfers });
  });

  test("an account row whose total differs from its transfers is named with both figures", async () => {
    const problems = await corrupted((tx) => tx.query("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE key = $1", [fundsOf(bob).key]));
    expect(problems).toEqual([
      "the ledger does not sum to zero: posted debits are 7500 and posted credits 7501 over all accounts (-1 apart)",
      `account funds:${bob}: credits_posted is 1901 on its row, 1900 by its transfers`,
    ]);
  });

  test("a pending total that does not match the open pending transfers is found", async () => {
    // Both sides moved together: the sums still agree, only the transfers tell.
    const problems = await corrupted(async (tx) => {
      await tx.query("UPDATE ledger_accounts SET debits_pending = debits_pending + 5 WHERE key = 'treasury'");
      await tx.query("UPDATE ledger_accounts SET credits_pending = credits_pending + 5 WHERE key = $1", [escrowOf("pledge", 3).key]);
    });
    expect(problems).toEqual([
      "account escrow:pledge:3: credits_pending is 905 on its row, 900 by its transfers",
      "account treasury: debits_pending is 905 on its row, 900 by its transfers",
    ]);
  });

  test("a transfer recorded without its balances is found on both its accounts", async () => {
    const problems = await corrupted((tx) => insert(tx, { key: "stray", debit: fundsOf(alice).key, credit: fundsOf(bob).key, sats: 50n, phase: "single" }));
    expect(problems).toEqual([
      `account funds:${alice}: debits_posted is 1800 on its row, 1850 by its transfers`,
      `account funds:${bob}: credits_posted is 1900 on its row, 1950 by its transfers`,
    ]);
  });

  test("a transfer changed behind the immutability trigger is found", async () => {
    const problems = await corrupted(async (tx) => {
      await tx.exec("ALTER TABLE ledger_transfers DISABLE TRIGGER USER");
      await tx.query("UPDATE ledger_transfers SET sats = sats + 1 WHERE key = 'a-to-b'");
    });
    expect(problems).toEqual([
      `account funds:${alice}: debits_posted is 1800 on its row, 1801 by its transfers`,
      `account funds:${bob}: credits_posted is 1900 on its row, 1901 by its transfers`,
    ]);
  });

  test("a pending transfer resolved twice is named", async () => {
    const problems = await corrupted(async (tx) => {
      await tx.exec("ALTER TABLE ledger_transfers DROP CONSTRAINT ledger_transfers_pending_id_key");
      await insert(tx, { key: "esc-1:post-again", debit: fundsOf(alice).key, credit: escrowOf("pledge", 1).key, sats: 100n, phase: "post", pending: "esc-1" });
    });
    expect(problems).toContain("pending transfer esc-1 is resolved 2 times (post esc-1:post is one)");
    expect(problems).toContain("pending transfer esc-1 is resolved 2 times (post esc-1:post-again is one)");
    // Its posted sats were never written to the rows either.
    expect(problems).toContain(`account funds:${alice}: debits_posted is 1800 on its row, 1900 by its transfers`);
  });

  test("posting more than was reserved, voiding another amount, or resolving between other accounts is named", async () => {
    const over = await corrupted((tx) => insert(tx, { key: "esc-3:post", debit: TREASURY.key, credit: escrowOf("pledge", 3).key, sats: 901n, phase: "post", pending: "esc-3" }));
    expect(over).toContain("post esc-3:post posts 901 sats of pending transfer esc-3, which reserved 900");
    const short = await corrupted((tx) => insert(tx, { key: "esc-3:void", debit: TREASURY.key, credit: escrowOf("pledge", 3).key, sats: 899n, phase: "void", pending: "esc-3" }));
    expect(short).toContain("void esc-3:void returns 899 sats of pending transfer esc-3, which reserved 900");
    const elsewhere = await corrupted((tx) => insert(tx, { key: "esc-3:void", debit: WALLET.key, credit: escrowOf("pledge", 3).key, sats: 900n, phase: "void", pending: "esc-3" }));
    expect(elsewhere).toContain("void esc-3:void moves between other accounts than pending transfer esc-3");
    const notPending = await corrupted((tx) => insert(tx, { key: "dep-a:void", debit: WALLET.key, credit: fundsOf(alice).key, sats: 5000n, phase: "void", pending: "dep-a" }));
    expect(notPending).toEqual(["void dep-a:void resolves transfer dep-a, which is single, not pending"]);
  });

  test("a transfer of no positive amount is named", async () => {
    const problems = await corrupted(async (tx) => {
      await tx.exec("ALTER TABLE ledger_transfers DROP CONSTRAINT ledger_transfers_sats_check");
      await insert(tx, { key: "nothing", debit: fundsOf(alice).key, credit: fundsOf(bob).key, sats: 0n, phase: "single" });
      await insert(tx, { key: "backwards", debit: fundsOf(alice).key, credit: fundsOf(bob).key, sats: -3n, phase: "single" });
    });
    expect(problems).toEqual([
      `account funds:${alice}: debits_posted is 1800 on its row, 1797 by its transfers`,
      `account funds:${bob}: credits_posted is 1900 on its row, 1897 by its transfers`,
      "transfer nothing moves 0 sats; every transfer moves a positive amount",
      "transfer backwards moves -3 sats; every transfer moves a positive amount",
    ]);
  });
});
