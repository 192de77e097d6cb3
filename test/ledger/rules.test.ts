import fc from "fast-check";
import {
  accountFromKey,
  availableBalance,
  charityOf,
  decideResolve,
  decideTransfer,
  earningsOf,
  escrowOf,
  FEES,
  fundsOf,
  grantOf,
  lockOrder,
  malformed,
  mayOverdraw,
  postedBalance,
  TREASURY,
  WALLET,
  ZERO,
  type Balance,
  type PendingTransfer,
  type TransferRequest,
} from "../../src/ledger/rules.js";

const bal = (b: Partial<Balance>): Balance => ({ ...ZERO, ...b });
const req = (t: Partial<TransferRequest>): TransferRequest => ({
  key: "k",
  debit: fundsOf(1),
  credit: earningsOf(2),
  sats: 100n,
  kind: "correction",
  ...t,
});

describe("accounts", () => {
  test.each([
    ["wallet", WALLET],
    ["treasury", TREASURY],
    ["fees", FEES],
    ["funds:12", fundsOf(12)],
    ["earnings:9007199254740991", earningsOf(9007199254740991)],
    ["escrow:pledge:5", escrowOf("pledge", 5)],
    ["escrow:question:17", escrowOf("question", 17n)],
    ["charity:cncf", charityOf("cncf")],
    ["grant:3", grantOf(3)],
  ])("%s names one account", (key, spec) => {
    expect(accountFromKey(key)).toEqual(spec);
    expect(spec.key).toBe(key);
  });

  test.each(["", "funds:", "funds:0", "funds:-1", "funds:1.5", "funds:99999999999999999", "escrow:bounty:1", "escrow:pledge:", "charity:a b", "Wallet", "earnings:12 ", "grant:0", "grant:x"])(
    "%j is no account",
    (key) => expect(accountFromKey(key)).toBeNull(),
  );

  test("only the organisation's side may run negative", () => {
    expect([WALLET, TREASURY, FEES].every((a) => mayOverdraw(a.kind))).toBe(true);
    expect([fundsOf(1), earningsOf(1), escrowOf("survey", 1), charityOf("x"), grantOf(1)].some((a) => mayOverdraw(a.kind))).toBe(false);
  });

  test("locks are taken in one order whatever the direction", () => {
    expect(lockOrder(["funds:2", "earnings:9"])).toEqual(lockOrder(["earnings:9", "funds:2"]));
    expect(lockOrder(["wallet", "wallet"])).toEqual(["wallet"]);
  });
});

describe("transfers", () => {
  test.each<[string, Partial<TransferRequest>, RegExp]>([
    ["zero sats", { sats: 0n }, /positive/],
    ["negative sats", { sats: -1n }, /positive/],
    ["more than there are", { sats: 21_000_000n * 100_000_000n + 1n }, /more than/],
    ["no key", { key: "" }, /key/],
    ["one account twice", { credit: fundsOf(1) }, /two different/],
    ["an unknown kind", { kind: "gift" as never }, /unknown transfer kind/],
    ["a made-up account", { credit: { key: "funds:x", kind: "funds", userId: null } }, /unknown account/],
    ["an account whose kind lies", { credit: { key: "wallet", kind: "funds", userId: 1 } }, /unknown account/],
  ])("refused: %s", (_name, t, reason) => {
    const d = decideTransfer(req(t), bal({ creditsPosted: 1000n }), ZERO);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(reason);
    expect(malformed(req(t))).toMatch(reason);
  });

  test("a personal account pays only what is available: posted credits less posted and pending debits", () => {
    const funds = bal({ creditsPosted: 1000n, debitsPosted: 300n, debitsPending: 200n });
    expect(availableBalance(funds)).toBe(500n);
    expect(decideTransfer(req({ sats: 500n }), funds, ZERO).ok).toBe(true);
    expect(decideTransfer(req({ sats: 501n }), funds, ZERO)).toEqual({ ok: false, reason: "your funds has 500 sats available, 1 short of 501" });
    // Pending credits are not yet money.
    expect(decideTransfer(req({ sats: 1n }), bal({ creditsPending: 10n }), ZERO).ok).toBe(false);
  });

  test("the treasury and the wallet may run negative", () => {
    expect(decideTransfer(req({ debit: TREASURY, kind: "award" }), ZERO, ZERO).ok).toBe(true);
    expect(decideTransfer(req({ debit: WALLET, credit: fundsOf(3), kind: "deposit" }), ZERO, ZERO).ok).toBe(true);
  });

  test("only a deposit reversal may overdraw a person", () => {
    const r = decideTransfer(req({ credit: WALLET, kind: "deposit_reversal", sats: 700n }), bal({ creditsPosted: 100n }), ZERO);
    expect(r.ok).toBe(true);
    if (r.ok) expect(postedBalance(r.debit)).toBe(-600n);
    expect(decideTransfer(req({ credit: WALLET, kind: "payout", sats: 700n }), bal({ creditsPosted: 100n }), ZERO).ok).toBe(false);
  });

  test("a pending transfer moves pending totals only", () => {
    const r = decideTransfer(req({ pending: { timeoutAt: null } }), bal({ creditsPosted: 100n }), ZERO);
    expect(r).toEqual({ ok: true, debit: bal({ creditsPosted: 100n, debitsPending: 100n }), credit: bal({ creditsPending: 100n }) });
  });
});

describe("resolving a pending transfer", () => {
  const p: PendingTransfer = { id: 1n, key: "p", sats: 100n, debit: fundsOf(1), credit: escrowOf("pledge", 1), timeoutAt: null, resolved: null };
  const d = bal({ creditsPosted: 100n, debitsPending: 100n });
  const c = bal({ creditsPending: 100n });

  test("posted in full, in part (the rest returned), or voided", () => {
    expect(decideResolve(p, { post: 100n }, d, c)).toEqual({
      ok: true,
      debit: bal({ creditsPosted: 100n, debitsPosted: 100n }),
      credit: bal({ creditsPosted: 100n }),
    });
    expect(decideResolve(p, { post: 40n }, d, c)).toEqual({
      ok: true,
      debit: bal({ creditsPosted: 100n, debitsPosted: 40n }),
      credit: bal({ creditsPosted: 40n }),
    });
    expect(decideResolve(p, "void", d, c)).toEqual({ ok: true, debit: bal({ creditsPosted: 100n }), credit: ZERO });
  });

  test.each<[string, PendingTransfer, { post: bigint } | "void", RegExp]>([
    ["twice", { ...p, resolved: "posted" }, "void", /already posted/],
    ["more than reserved", p, { post: 101n }, /reserved 100/],
    ["zero", p, { post: 0n }, /positive/],
  ])("refused: %s", (_n, pt, how, reason) => {
    const r = decideResolve(pt, how, d, c);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  test("a row that lost its reservation is refused, not made worse", () => {
    expect(decideResolve(p, "void", bal({ creditsPosted: 100n }), c).ok).toBe(false);
  });
});

describe("any sequence of transfers", () => {
  test("keeps the sum of balances at zero and never overdraws a person", () => {
    const accounts = [WALLET, TREASURY, fundsOf(1), fundsOf(2), earningsOf(1), escrowOf("pledge", 1)];
    fc.assert(
      fc.property(
        fc.array(fc.record({ from: fc.nat(5), to: fc.nat(5), sats: fc.bigInt({ min: 1n, max: 5000n }), pending: fc.boolean() }), { maxLength: 60 }),
        (ops) => {
          const b = new Map(accounts.map((a) => [a.key, { ...ZERO }]));
          for (const op of ops) {
            const debit = accounts[op.from]!;
            const credit = accounts[op.to]!;
            const r = decideTransfer(
              { key: "x", debit, credit, sats: op.sats, kind: debit === WALLET ? "deposit" : "correction", ...(op.pending ? { pending: { timeoutAt: null } } : {}) },
              b.get(debit.key)!,
              b.get(credit.key)!,
            );
            if (!r.ok) continue;
            b.set(debit.key, r.debit);
            b.set(credit.key, r.credit);
          }
          const all = [...b.values()];
          expect(all.reduce((s, x) => s + postedBalance(x), 0n)).toBe(0n);
          expect(all.reduce((s, x) => s + x.creditsPending - x.debitsPending, 0n)).toBe(0n);
          for (const a of accounts) if (!mayOverdraw(a.kind)) expect(availableBalance(b.get(a.key)!)).toBeGreaterThanOrEqual(0n);
        },
      ),
    );
  });
});
