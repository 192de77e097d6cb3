import { earningsOf, escrowOf, fundsOf, TREASURY, WALLET } from "../../src/ledger/rules.js";
import { mustTransfer, postPending, transferNow } from "../../src/store/ledger.js";
import { lastSolvency, payoutFacts, payoutSources, peopleLiabilities, recordSolvency } from "../../src/store/solvency.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";

describe.each(ENGINES)("solvency facts on %s", (engine) => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb(engine);
  });
  afterEach(async () => {
    await t.close();
  });

  const move = (
    key: string,
    debit: Parameters<typeof mustTransfer>[1]["debit"],
    credit: typeof debit,
    sats: bigint,
    kind: Parameters<typeof mustTransfer>[1]["kind"],
    pending = false,
    ref: Record<string, string> = {},
  ) => t.db.transaction((tx) => mustTransfer(tx, { key, debit, credit, sats, kind, ref, ...(pending ? { pending: { timeoutAt: null } } : {}) }));

  test("owed to people: positive funds, and escrow only as far as it came from funds", async () => {
    await move("deposit:a:0:1", WALLET, fundsOf(1), 10_000n, "deposit");
    await move("deposit:b:0:1", WALLET, fundsOf(2), 5_000n, "deposit");
    // An overdrawn account (a reversed deposit already spent) owes nothing back to its owner.
    await move("deposit:c:0:1", WALLET, fundsOf(3), 1_000n, "deposit");
    await move("x-spend", fundsOf(3), escrowOf("pledge", 9), 1_000n, "escrow");
    await move("deposit:c:0:1:reversal", fundsOf(3), WALLET, 1_000n, "deposit_reversal");
    expect(await peopleLiabilities(t.db)).toEqual({ funds: 15_000n, escrow: 1_000n });

    // Pending escrow still sits in the funds' posted balance: counted once.
    await move("escrow-1", fundsOf(1), escrowOf("pledge", 1), 2_000n, "escrow", true);
    expect(await peopleLiabilities(t.db)).toEqual({ funds: 15_000n, escrow: 1_000n });
    await t.db.transaction((tx) => postPending(tx, "escrow-1", { key: "escrow-1:post" }));
    expect(await peopleLiabilities(t.db)).toEqual({ funds: 13_000n, escrow: 3_000n });

    // Escrow from earnings is the treasury's debt, not people's deposits.
    await move("award:1", TREASURY, earningsOf(4), 4_000n, "award");
    await move("escrow-2", earningsOf(4), escrowOf("pledge", 2), 4_000n, "escrow");
    expect(await peopleLiabilities(t.db)).toEqual({ funds: 13_000n, escrow: 3_000n });

    // Released to a winner's earnings: no longer held for the funder.
    await move("release-1", escrowOf("pledge", 1), earningsOf(5), 1_500n, "escrow_release");
    expect(await peopleLiabilities(t.db)).toEqual({ funds: 13_000n, escrow: 1_500n });
  });

  test("an escrow funded from both funds and earnings counts what came from funds at most, whatever left first", async () => {
    await move("deposit:d:0:1", WALLET, fundsOf(6), 3_000n, "deposit");
    await move("award:2", TREASURY, earningsOf(6), 3_000n, "award");
    await move("e-f", fundsOf(6), escrowOf("question", 1), 3_000n, "escrow");
    await move("e-e", earningsOf(6), escrowOf("question", 1), 3_000n, "escrow");
    expect((await peopleLiabilities(t.db)).escrow).toBe(3_000n);
    await move("e-out", escrowOf("question", 1), earningsOf(7), 4_000n, "escrow_release");
    expect((await peopleLiabilities(t.db)).escrow).toBe(2_000n);
  });

  async function payout(sats: bigint, state = "queued"): Promise<bigint> {
    const [r] = await t.db.query<{ id: bigint }>(
      `INSERT INTO payouts (payee_kind, user_id, login, address, address_type, network, sats, state)
       VALUES ('user', 8, 'eve', $1, 'p2wpkh', 'regtest', $2, $3) RETURNING id`,
      [randomAddress("p2wpkh"), sats, state],
    );
    return BigInt(r!.id);
  }

  test("payout facts: each payout with its pending transfer and how it was resolved; required after the ledger began", async () => {
    const a = await payout(2_000n);
    const b = await payout(3_000n);
    const c = await payout(4_000n);
    await move("award:9", TREASURY, earningsOf(8), 10_000n, "award");
    const reserve = (id: bigint, sats: bigint, key = `payout:${id}`) => move(key, earningsOf(8), WALLET, sats, "payout", true, { payout: String(id) });
    await reserve(a, 2_000n);
    await reserve(b, 3_000n);
    await t.db.transaction((tx) => postPending(tx, `payout:${b}`, { key: `payout:${b}:post` }));
    // c was paid by a transaction that was replaced: its post is undone and it is reserved again.
    await reserve(c, 4_000n);
    await t.db.transaction((tx) => postPending(tx, `payout:${c}`, { key: `payout:${c}:post` }));
    await move(`payout:${c}:old:undo`, WALLET, earningsOf(8), 4_000n, "correction", false, { payout: String(c) });
    await reserve(c, 4_000n, `payout:${c}:old:retry`);
    const since = new Date(Date.now() - 60_000);
    const facts = await payoutFacts(t.db, { requiredSince: since });
    expect(facts.map((f) => [f.id, f.transfersRequired, f.pending])).toEqual([
      [a, true, { sats: 2_000n, resolution: null, postedSats: null }],
      [b, true, { sats: 3_000n, resolution: "post", postedSats: 3_000n }],
      [c, true, { sats: 4_000n, resolution: null, postedSats: null }],
    ]);
    expect((await payoutFacts(t.db, { requiredSince: new Date(Date.now() + 60_000) })).every((f) => !f.transfersRequired)).toBe(true);
    expect((await payoutFacts(t.db, { requiredSince: null })).every((f) => !f.transfersRequired)).toBe(true);

    const none = await payout(1_000n);
    expect(await payoutSources(t.db, [a, b, c, none])).toEqual(new Map([[String(a), "earnings"], [String(b), "earnings"], [String(c), "earnings"]]));
    await transferNow(t.db, { key: "deposit:w:0:1", debit: WALLET, credit: fundsOf(8), sats: 5_000n, kind: "deposit" });
    const w = await payout(1_000n);
    await move(`payout:${w}`, fundsOf(8), WALLET, 1_000n, "payout", true, { payout: String(w) });
    expect((await payoutSources(t.db, [w])).get(String(w))).toBe("funds");
  });

  test("the latest check is kept, one row, for payouts list", async () => {
    expect(await lastSolvency(t.db)).toBeNull();
    const at = new Date("2026-03-01T10:00:00Z");
    await recordSolvency(t.db, { checkedAt: at, ok: false, problems: ["a", "b"], summary: "s" });
    expect(await lastSolvency(t.db)).toEqual({ checkedAt: at, ok: false, problems: ["a", "b"], summary: "s" });
    await recordSolvency(t.db, { checkedAt: new Date(at.getTime() + 1000), ok: true, problems: [], summary: "t" });
    expect(await lastSolvency(t.db)).toMatchObject({ ok: true, problems: [], summary: "t" });
    expect((await t.db.query("SELECT * FROM solvency_state")).length).toBe(1);
  });
});
