import {
  budgetWithin,
  checkBudget,
  countedValue,
  formatBudget,
  formatBudgetInput,
  overBudgetMessage,
  parseBudget,
  ratesNeeded,
  valueIn,
  windowStart,
  type Budget,
} from "../../src/core/budget.js";
import type { Amount } from "../../src/core/money.js";

const usd = (minor: bigint): Amount => ({ currency: "USD", minor });
const eur = (minor: bigint): Amount => ({ currency: "EUR", minor });
const sats = (minor: bigint): Amount => ({ currency: "BTC", minor });
const DAY = 86_400_000;
const budget = (limit: Amount, days: number): Budget => ({ limit, windowMs: days * DAY });

describe("parseBudget", () => {
  test("an amount, a slash and a window", () => {
    expect(parseBudget("500usd/30d", "EUR")).toEqual({ ok: true, value: budget(usd(50_000n), 30) });
    expect(parseBudget("250000sats / 7d", "USD")).toEqual({ ok: true, value: budget(sats(250_000n), 7) });
    expect(parseBudget("20/12h", "EUR")).toEqual({ ok: true, value: { limit: eur(2000n), windowMs: 12 * 3_600_000 } });
  });

  test.each([
    ["500usd", /write an amount and a window/],
    ["500xyz/30d", /^"500xyz\/30d" is not a budget: /],
    ["500usd/30", /has no unit/],
    ["500usd/0s", /the window must be longer than 0s/],
    ["500usd/400d", /longer than 365 days/],
  ])("%j is refused", (text, why) => {
    const r = parseBudget(text, "USD");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(why);
  });

  test("formats back the way it is written", () => {
    const b = budget(usd(50_000n), 30);
    expect(formatBudgetInput(b)).toBe("500usd/30d");
    expect(formatBudget(b)).toBe("$500 per 30d");
  });
});

describe("valueIn: what a pledge is worth in a budget's currency, rounded up", () => {
  const rates = { USD: "60000", EUR: "50000.5" };
  test("the same currency needs no price", () => {
    expect(valueIn(usd(123n), "USD", {})).toBe(123n);
    expect(ratesNeeded("USD", "USD")).toEqual([]);
  });
  test("sats into fiat and back", () => {
    // 100,000 sats at $60,000 = $60.00
    expect(valueIn(sats(100_000n), "USD", rates)).toBe(6000n);
    // 1 sat is $0.0006: counted as a whole cent
    expect(valueIn(sats(1n), "USD", rates)).toBe(1n);
    // $60 at $60,000 = 100,000 sats; $0.01 = 16.67 sats, counted as 17
    expect(valueIn(usd(6000n), "BTC", rates)).toBe(100_000n);
    expect(valueIn(usd(1n), "BTC", rates)).toBe(17n);
    expect(ratesNeeded("BTC", "USD")).toEqual(["USD"]);
  });
  test("fiat into another fiat goes through both prices", () => {
    // €50,000.50 buys 1 BTC = $60,000, so €100 = $119.9988… → $120.00 rounded up to the cent
    expect(valueIn(eur(10_000n), "USD", rates)).toBe(12_000n);
    expect(ratesNeeded("EUR", "USD")).toEqual(["EUR", "USD"]);
  });
  test("a missing price is null, never a guess", () => {
    expect(valueIn(eur(10_000n), "USD", { USD: "60000" })).toBeNull();
    expect(valueIn(sats(1n), "EUR", rates)).not.toBeNull();
    expect(valueIn(sats(1n), "GBP", rates)).toBeNull();
  });
  test("a pledge counts at its stored value from pledge time before any price of today", () => {
    const p = { amount: eur(10_000n), counted: { USD: 11_000n } };
    expect(countedValue(p, "USD", { USD: "90000", EUR: "10000" })).toBe(11_000n);
    expect(countedValue(p, "EUR", {})).toBe(10_000n);
    expect(countedValue({ amount: eur(10_000n), counted: {} }, "USD", rates)).toBe(12_000n);
    expect(countedValue({ amount: eur(10_000n), counted: {} }, "USD", {})).toBeNull();
  });
});

describe("checkBudget", () => {
  const b = budget(usd(50_000n), 30);
  test("fits up to the limit exactly", () => {
    expect(checkBudget(b, 40_000n, 10_000n)).toEqual({ ok: true });
    expect(checkBudget(b, 0n, 50_000n)).toEqual({ ok: true });
  });
  test("over the limit says what was spent and what is left", () => {
    expect(checkBudget(b, 42_000n, 10_000n)).toEqual({ ok: false, spent: usd(42_000n), left: usd(8_000n), value: usd(10_000n) });
    expect(checkBudget(b, 60_000n, 1n)).toEqual({ ok: false, spent: usd(60_000n), left: usd(0n), value: usd(1n) });
  });
  test("a replacement that does not raise the pledge always fits; one that raises it is checked", () => {
    expect(checkBudget(b, 60_000n, 5_000n, 9_000n)).toEqual({ ok: true });
    expect(checkBudget(b, 45_000n, 9_000n, 5_000n).ok).toBe(false);
  });
  test("the window ends now and is as long as the budget's", () => {
    expect(windowStart(new Date("2026-03-31T00:00:00Z"), b)).toEqual(new Date("2026-03-01T00:00:00Z"));
  });
  test("budgetWithin: same currency, no more money, a window at least as long", () => {
    expect(budgetWithin(budget(usd(100n), 30), budget(usd(100n), 30))).toBe(true);
    expect(budgetWithin(budget(usd(100n), 60), budget(usd(100n), 30))).toBe(true);
    expect(budgetWithin(budget(usd(101n), 30), budget(usd(100n), 30))).toBe(false);
    expect(budgetWithin(budget(usd(10n), 1), budget(usd(100n), 30))).toBe(false);
    expect(budgetWithin(budget(eur(10n), 30), budget(usd(100n), 30))).toBe(false);
  });
});

describe("overBudgetMessage", () => {
  const b = budget(usd(50_000n), 30);
  test("says the budget, what is pledged and what is left, with a command that fits", () => {
    expect(overBudgetMessage({ kind: "funder", budget: b, spent: usd(42_000n), left: usd(8_000n), value: usd(10_000n) }, "your", usd(10_000n), "/bounty")).toBe(
      "$100 would go over your funder budget of $500 per 30d (`funders.budget`): $420 is already pledged in that window, " +
        "so only $80 is left: try `/bounty 80usd`. I recorded nothing.",
    );
  });
  test("a pledge in another currency shows its value and no command; an exhausted budget says when it frees up", () => {
    expect(overBudgetMessage({ kind: "account", budget: b, spent: usd(50_000n), left: usd(0n), value: usd(6000n) }, "kubernetes's", sats(100_000n), "/bounty")).toBe(
      "0.001 BTC (100,000 sats) (worth $60 now) would go over kubernetes's account budget of $500 per 30d (ACCOUNT_BUDGETS): " +
        "$500 is already pledged in that window, so nothing is left until some of those pledges are older than 30d. I recorded nothing.",
    );
  });
});
