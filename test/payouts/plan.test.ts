import { askWalletComment, paidComment, satsText, txLink } from "../../src/payouts/comments.js";
import { awardSats, destinationOf, dueBalances, firstFit, payableMinimum, waitFor, type Fit } from "../../src/payouts/plan.js";
import type { CreditedAward } from "../../src/store/payouts.js";
import { randomAddress } from "../bitcoin/helpers.js";

const NOW = new Date("2026-11-25T12:00:00Z");
const DAY = 86_400_000;

function credit(over: Partial<CreditedAward> = {}): CreditedAward {
  return {
    id: 1n,
    bountyId: 1n,
    recipientId: 42,
    recipientLogin: "bob",
    sats: 10_000n,
    pricedAt: NOW,
    walletAskedAt: null,
    unclaimedCharity: null,
    installationId: 1,
    owner: "o",
    repo: "r",
    issueNumber: 7,
    wallet: null,
    ...over,
  };
}

describe("awardSats", () => {
  test.each([
    [[{ currency: "USD" as const, minor: 500n }], "60000", 8_333n], // 8333.33…
    [[{ currency: "USD" as const, minor: 1n }], "60000", 17n], // 16.67 → 17
    [[{ currency: "USD" as const, minor: 3n }], "40000", 75n], // exactly 75
    [[{ currency: "USD" as const, minor: 500n }, { currency: "BTC" as const, minor: 1_000n }], "60000", 9_333n],
  ])("%j at %s USD/BTC = %s sats", (amounts, rate, sats) => {
    expect(awardSats(amounts, new Map([["USD", rate]]))).toBe(sats);
  });
  test("half a sat rounds up", () => {
    // 1 cent at 2,000,000 USD/BTC = 0.5 sat
    expect(awardSats([{ currency: "USD", minor: 1n }], new Map([["USD", "2000000"]]))).toBe(1n);
  });
  test("a missing rate throws: never price with a guess", () => {
    expect(() => awardSats([{ currency: "EUR", minor: 1n }], new Map([["USD", "60000"]]))).toThrow("no EUR rate");
  });
});

describe("destinationOf", () => {
  const opts = { now: NOW, unclaimedDays: 30, network: "regtest" };
  const addr = randomAddress("p2wpkh");

  test("a linked address is paid", () => {
    const d = destinationOf(credit({ wallet: { kind: "address", address: addr, addressType: "p2wpkh", network: "regtest", charityId: null, charityName: null } }), opts);
    expect(d).toEqual({ kind: "pay", payee: expect.objectContaining({ kind: "user", userId: 42, address: addr }) });
  });
  test("a chosen charity is paid as a charity, on the recipient's behalf", () => {
    const d = destinationOf(credit({ wallet: { kind: "charity", address: addr, addressType: "p2wpkh", network: "regtest", charityId: "cc", charityName: "CC" } }), opts);
    expect(d).toEqual({ kind: "pay", payee: expect.objectContaining({ kind: "charity", charityId: "cc", userId: 42 }) });
  });
  test("a wallet of another network waits, and says why", () => {
    const d = destinationOf(credit({ wallet: { kind: "address", address: "tb1q…", addressType: "p2wpkh", network: "testnet", charityId: null, charityName: null } }), opts);
    expect(d).toMatchObject({ kind: "wait", askWallet: false });
    expect(d.kind === "wait" && d.reason).toContain("testnet address but payouts are made on regtest");
  });
  test("no wallet: ask once; then wait", () => {
    expect(destinationOf(credit(), opts)).toMatchObject({ kind: "wait", askWallet: true, unclaimedAt: null });
    expect(destinationOf(credit({ walletAskedAt: NOW }), opts)).toMatchObject({ kind: "wait", askWallet: false });
  });
  test("the unclaimed charity gets it exactly PAYOUT_UNCLAIMED_DAYS after asking", () => {
    const charity = { id: "cc", name: "Coin Center", address: randomAddress("p2tr") };
    const asked = new Date(NOW.getTime() - 30 * DAY);
    const before = destinationOf(credit({ walletAskedAt: new Date(asked.getTime() + 1), unclaimedCharity: charity }), opts);
    expect(before).toMatchObject({ kind: "wait", unclaimedAt: new Date(NOW.getTime() + 1) });
    const at = destinationOf(credit({ walletAskedAt: asked, unclaimedCharity: charity }), opts);
    expect(at).toEqual({ kind: "pay", payee: expect.objectContaining({ kind: "charity", charityId: "cc", addressType: "p2tr", userId: 42 }) });
  });
  test("an unclaimed charity address that is not valid here is never paid", () => {
    const charity = { id: "cc", name: "Coin Center", address: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kxv8f3t4" };
    const d = destinationOf(credit({ walletAskedAt: new Date(0), unclaimedCharity: charity }), opts);
    expect(d).toMatchObject({ kind: "wait" });
    expect(d.kind === "wait" && d.reason).toContain("not valid on regtest");
  });
});

describe("dueBalances", () => {
  const payee = (userId: number | null, address: string, kind: "user" | "charity" = "user") => ({
    kind,
    userId,
    login: userId === null ? null : `u${userId}`,
    charityId: kind === "charity" ? "cc" : null,
    charityName: kind === "charity" ? "CC" : null,
    address,
    addressType: "p2wpkh",
    network: "regtest",
  });
  test("one output per payee; due once the balance reaches the minimum", () => {
    const a = randomAddress("p2wpkh");
    const b = randomAddress("p2wpkh");
    const { due, pending } = dueBalances(
      [
        { award: credit({ id: 1n, sats: 6_000n }), payee: payee(1, a) },
        { award: credit({ id: 2n, sats: 5_000n }), payee: payee(1, a) },
        { award: credit({ id: 3n, sats: 9_999n }), payee: payee(2, b) },
      ],
      10_000n,
    );
    expect(due.map((d) => [d.payee.address, d.sats, d.awards.map((x) => x.id)])).toEqual([[a, 11_000n, [1n, 2n]]]);
    expect(pending.map((d) => d.sats)).toEqual([9_999n]);
  });
  test("several people's money to one charity is one payout belonging to no single person", () => {
    const c = randomAddress("p2wpkh");
    const { due } = dueBalances(
      [
        { award: credit({ id: 1n, recipientId: 1 }), payee: payee(1, c, "charity") },
        { award: credit({ id: 2n, recipientId: 2 }), payee: payee(2, c, "charity") },
      ],
      1n,
    );
    expect(due).toHaveLength(1);
    expect(due[0]!.payee).toMatchObject({ kind: "charity", userId: null, login: null });
    expect(due[0]!.sats).toBe(20_000n);
  });
  test("the minimum is never below the dust limit of the address type", () => {
    expect(payableMinimum("p2pkh", 1n)).toBe(546n);
    expect(payableMinimum("p2tr", 1n)).toBe(330n);
    expect(payableMinimum("p2wpkh", 10_000n)).toBe(10_000n);
  });
});

describe("comments", () => {
  test("sats and links", () => {
    expect(satsText(1n)).toBe("1 sat");
    expect(satsText(1234567n)).toBe("1,234,567 sats");
    expect(txLink("ab", null)).toBe("`ab`");
    expect(txLink("ab", "https://mempool.space/tx/")).toBe("[`ab`](https://mempool.space/tx/ab)");
  });
  test("the paid comment names recipient, sats, fiat and rate, output and fee", () => {
    const body = paidComment(
      {
        awardId: 1n,
        bountyId: 1n,
        installationId: 1,
        owner: "o",
        repo: "r",
        issueNumber: 7,
        pr: null,
        recipientLogin: "bob",
        sats: 8_333n,
        amounts: [{ currency: "EUR", minor: 550n }],
        rates: { EUR: { price: "60000.5", sources: ["fixed"], at: NOW.toISOString() } },
        payout: { id: 1n, sats: 8_333n, kind: "user", charityName: null, address: "bcrt1qx", vout: 2 },
      },
      { txid: "f".repeat(64), feeSats: 1_500n, payouts: 3 },
      null,
    );
    expect(body).toContain("8,333 sats to @bob (€5.50 at EUR 60,000.50/BTC)");
    expect(body).toContain(`Transaction \`${"f".repeat(64)}\`, output 2 to \`bcrt1qx\``);
    expect(body).toContain("1,500 sats for 3 payouts");
    expect(body).not.toContain("in all");
  });
  test("asking for a wallet mentions the charity only when there is one", () => {
    expect(askWalletComment({ login: "c", sats: 5n, unclaimedDays: 30, charityName: null, balanceSats: 5n, minSats: 1n })).not.toContain("goes to");
    expect(askWalletComment({ login: "c", sats: 5n, unclaimedDays: 9, charityName: "X", balanceSats: 5n, minSats: 1n })).toContain("within 9 days, the amount goes to **X**");
  });
  test("asking for a wallet says when the balance is below PAYOUT_MIN_SATS, never the whole balance (it may hold private repositories' earnings)", () => {
    const below = askWalletComment({ login: "c", sats: 2_500n, unclaimedDays: 30, charityName: null, balanceSats: 4_000n, minSats: 10_000n });
    expect(below).toContain("Your balance is below the payout minimum: it is paid once your balance reaches 10,000 sats.");
    expect(below).not.toContain("4,000");
    const enough = askWalletComment({ login: "c", sats: 2_500n, unclaimedDays: 30, charityName: null, balanceSats: 10_000n, minSats: 10_000n });
    expect(enough).not.toContain("paid once your balance");
  });
});

describe("firstFit: which queued payouts a run pays", () => {
  /** A wallet that can send `budget` sats in all and `perTx` in one transaction, at a fee of 100 sats a transaction. */
  const wallet =
    (budget: bigint, perTx: bigint) =>
    (ps: readonly bigint[]): Fit => {
      const total = ps.reduce((s, p) => s + p, 0n) + 100n;
      if (total > perTx) return { ok: false, code: "over-tx-cap", reason: `${total} over the per-transaction cap` };
      if (total > budget) return { ok: false, code: "insufficient-funds", reason: `${total} more than the wallet holds` };
      return { ok: true };
    };

  test.each([
    ["everything fits", [10n, 20n, 30n], 1_000n, 1_000n, [10n, 20n, 30n], []],
    ["an oversized one at the head blocks nothing", [900n, 10n, 20n], 10_000n, 500n, [10n, 20n], [[900n, true, "over-tx-cap"]]],
    ["oldest first, skipping what does not fit beside them", [300n, 300n, 300n, 50n], 800n, 10_000n, [300n, 300n, 50n], [[300n, false, "insufficient-funds"]]],
    ["a payout too large for the wallet even alone", [5_000n, 100n], 1_000n, 10_000n, [100n], [[5_000n, true, "insufficient-funds"]]],
    ["an empty queue", [], 1_000n, 1_000n, [], []],
  ] as const)("%s", (_name, queue, budget, perTx, pay, wait) => {
    const r = firstFit([...queue], wallet(budget, perTx));
    expect(r.pay).toEqual(pay);
    expect(r.wait.map((w) => [w.payout, w.byItself, w.code])).toEqual(wait);
  });

  test("asks about the whole queue once, and nothing more, when it fits", () => {
    const asked: number[] = [];
    firstFit([1n, 2n, 3n], (ps) => (asked.push(ps.length), { ok: true }));
    expect(asked).toEqual([3]);
  });
});

describe("waitFor: where a payout left out waits, and why", () => {
  const limits = { maxTxSats: 50_000n, dailyCapSats: 100_000n };
  const payout = (sats: bigint, overTxCap: "requested" | "approved" | null = null) => ({ id: 7n, sats, overTxCap });

  test("by itself over PAYOUT_MAX_TX_SATS: waits for an operator, who is told how to approve it", () => {
    const w = waitFor({ payout: payout(80_000n), byItself: true, code: "over-tx-cap", reason: "…" }, limits);
    expect(w).toEqual({
      kind: "approval",
      reason:
        "80,000 sats is over PAYOUT_MAX_TX_SATS (50,000 sats) with its fee: it waits for an operator's approval " +
        "(bounty-bot payouts approve 7) to be sent in a transaction of its own, still within PAYOUT_DAILY_CAP_SATS",
    });
  });

  test.each([
    ["over the cap only beside others: a later run", payout(30_000n), false, "over-tx-cap", "x", "per-transaction cap: x (with the older payouts paid in this run; it goes in a later run)"],
    ["what is left of today's cap", payout(30_000n), true, "over-daily-cap", "x", "daily cap: x"],
    ["more than the whole daily cap", payout(150_000n, "approved"), true, "over-daily-cap", "x", "daily cap: 150,000 sats is more than PAYOUT_DAILY_CAP_SATS (100,000 sats) allows in a day: it is paid only once the cap is raised"],
    ["the wallet's balance", payout(30_000n), true, "insufficient-funds", "x", "wallet balance: x"],
    ["an address the engine refuses", payout(30_000n), true, "invalid-payout", "x", "cannot be paid: x"],
  ] as const)("%s", (_name, p, byItself, code, reason, expected) => {
    expect(waitFor({ payout: p, byItself, code, reason }, limits)).toEqual({ kind: "queue", reason: expected });
  });
});
