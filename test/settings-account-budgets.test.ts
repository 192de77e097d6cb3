import { loadSettings } from "../src/settings.js";

const base = { WEBHOOK_SECRET: "s" };
const DAY = 86_400_000;

describe("ACCOUNT_BUDGETS", () => {
  test("unset: no account has a budget", () => {
    expect(loadSettings(base).accountBudgets.size).toBe(0);
    expect(loadSettings({ ...base, ACCOUNT_BUDGETS: "" }).accountBudgets.size).toBe(0);
  });

  test("login=amount/window pairs, logins lowercased; a bare number is in DEFAULT_CURRENCY", () => {
    const s = loadSettings({ ...base, DEFAULT_CURRENCY: "eur", ACCOUNT_BUDGETS: " Kubernetes=5000usd/30d, kubernetes-sigs=1000/7d ," });
    expect([...s.accountBudgets]).toEqual([
      ["kubernetes", { limit: { currency: "USD", minor: 500_000n }, windowMs: 30 * DAY }],
      ["kubernetes-sigs", { limit: { currency: "EUR", minor: 100_000n }, windowMs: 7 * DAY }],
    ]);
  });

  test.each([
    ["kubernetes", /"kubernetes" is not <account>=<amount>\/<window>/],
    ["=5usd/1d", /is not <account>=<amount>\/<window>/],
    ["kubernetes=5usd", /ACCOUNT_BUDGETS: kubernetes: "5usd" is not a budget/],
    ["kubernetes=5usd/1d,KUBERNETES=6usd/1d", /ACCOUNT_BUDGETS: kubernetes is listed twice/],
  ])("%j is refused at start", (value, why) => {
    expect(() => loadSettings({ ...base, ACCOUNT_BUDGETS: value })).toThrow(why);
  });
});
