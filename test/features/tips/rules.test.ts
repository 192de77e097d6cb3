import { checkDay, parseTip, ratesForTip, tippedReply, utcDayStart, whyNotTipped, MAX_REASON_CHARS } from "../../../src/features/tips/rules.js";
import type { Amount } from "../../../src/core/money.js";

const usd = (minor: bigint): Amount => ({ currency: "USD", minor });
const sats = (minor: bigint): Amount => ({ currency: "BTC", minor });

describe("parseTip", () => {
  test.each([
    ["@alice 5usd", { kind: "tip", login: "alice", amount: usd(500n), reason: null }],
    ["@alice $5 thanks for the review", { kind: "tip", login: "alice", amount: usd(500n), reason: "thanks for the review" }],
    ["@alice 5 usd thanks", { kind: "tip", login: "alice", amount: usd(500n), reason: "thanks" }],
    ["@Alice-B 25000sats", { kind: "tip", login: "Alice-B", amount: sats(25_000n), reason: null }],
    ["@alice 5", { kind: "tip", login: "alice", amount: usd(500n), reason: null }],
    ["@alice   2.50eur   for   the   fix", { kind: "tip", login: "alice", amount: { currency: "EUR", minor: 250n }, reason: "for the fix" }],
    ["cancel @alice", { kind: "cancel", login: "alice" }],
    ["CANCEL @alice", { kind: "cancel", login: "alice" }],
    ["help", { kind: "help" }],
  ])("%j", (args, want) => {
    expect(parseTip(args, "USD")).toEqual(want);
  });

  test.each([
    ["", /name who to tip/],
    ["alice 5usd", /not a GitHub user to tip/],
    ["@alice", /say how much to tip @alice/],
    ["@alice 0usd", /more than zero/],
    ["@alice -5usd", /./],
    ["@alice 5xyz", /./],
    ["@alice 5.555usd", /decimals/],
    ["@kubernetes/sig-node 5usd", /one person, not to a team/],
    ["@-bad 5usd", /not a GitHub user/],
    ["cancel", /name the one person/],
    ["cancel alice", /name the one person/],
    ["cancel @alice @bob", /name the one person/],
  ])("refuses %j", (args, why) => {
    const r = parseTip(args, "USD");
    expect(r.kind).toBe("invalid");
    expect(r.kind === "invalid" && r.reply).toMatch(why);
  });

  test("a bad amount's reply offers the command with the name", () => {
    const r = parseTip("@alice 5.555usd", "USD");
    expect(r.kind === "invalid" && r.reply).toContain("/tip @alice 5.55usd");
  });

  test("a long reason is cut", () => {
    const r = parseTip(`@alice 1usd ${"x".repeat(500)}`, "USD");
    expect(r.kind === "tip" && r.reason!.length).toBe(MAX_REASON_CHARS);
  });

  test("a bare number is in the repository's currency", () => {
    expect(parseTip("@alice 1000", "BTC")).toMatchObject({ amount: { currency: "BTC" } });
    expect(parseTip("@alice 5", "EUR")).toMatchObject({ amount: { currency: "EUR", minor: 500n } });
  });
});

describe("whyNotTipped", () => {
  const author = { id: 1, login: "alice" };
  test.each([
    ["bob", { id: 2, login: "bob", type: "User" }, null],
    ["ALICE", { id: 1, login: "alice", type: "User" }, /yourself/],
    ["alice-renamed", { id: 1, login: "alice-renamed", type: "User" }, /yourself/],
    ["dependabot", { id: 3, login: "dependabot[bot]", type: "Bot" }, /not a person's account \(Bot\)/],
    ["kubernetes", { id: 4, login: "kubernetes", type: "Organization" }, /Organization/],
    ["nobody", null, /not a GitHub account/],
  ])("@%s", (login, user, want) => {
    const r = whyNotTipped(author, login, user);
    if (want === null) expect(r).toBeNull();
    else expect(r).toMatch(want);
  });
});

describe("checkDay (tips.max_per_day)", () => {
  const cap = usd(5000n);
  const rates = { USD: "60000" };
  test.each([
    ["nothing yet, under the cap", [], usd(1000n), true],
    ["exactly to the cap", [{ amount: usd(4000n), counted: {} }], usd(1000n), true],
    ["one cent over", [{ amount: usd(4000n), counted: {} }], usd(1001n), false],
    // 50,000 sats at 60,000 USD/BTC = $30; with $25 more = $55 > $50.
    ["sats counted at today's price", [{ amount: sats(50_000n), counted: {} }], usd(2500n), false],
    ["sats counted at their value when made", [{ amount: sats(50_000n), counted: { USD: "1000" } }], usd(2500n), true],
    ["a sats tip valued today", [], sats(83_334n), false],
    ["a sats tip just under", [], sats(83_333n), true],
  ])("%s", (_name, today, amount, ok) => {
    expect(checkDay(cap, today, amount, rates).ok).toBe(ok);
  });

  test("over: what is spent and left, in the cap's currency", () => {
    expect(checkDay(cap, [{ amount: usd(4500n), counted: {} }], usd(1000n), rates)).toEqual({
      ok: false,
      spent: usd(4500n),
      left: usd(500n),
      value: usd(1000n),
    });
  });

  test("no price to value an earlier tip or this one: refused, naming the currency", () => {
    expect(checkDay(cap, [{ amount: { currency: "EUR", minor: 100n }, counted: {} }], usd(100n), rates)).toEqual({ ok: false, missing: "EUR" });
    expect(checkDay(cap, [], sats(100n), {})).toEqual({ ok: false, missing: "USD" });
  });

  test("the prices a tip needs: its own for the sats, the cap's for a funder", () => {
    expect(ratesForTip(usd(1n), null)).toEqual(["USD"]);
    expect(ratesForTip(sats(1n), null)).toEqual([]);
    expect(ratesForTip(sats(1n), cap)).toEqual(["USD"]);
    expect(ratesForTip({ currency: "EUR", minor: 1n }, cap)).toEqual(["EUR", "USD"]);
    expect(ratesForTip(sats(1n), sats(50_000n))).toEqual([]);
  });

  test("the day is the UTC day", () => {
    expect(utcDayStart(new Date("2026-12-01T23:59:59.999Z")).toISOString()).toBe("2026-12-01T00:00:00.000Z");
    expect(utcDayStart(new Date("2026-12-02T00:00:00.000Z")).toISOString()).toBe("2026-12-02T00:00:00.000Z");
  });
});

test("the reply mentions the recipient, the sats, the hold and how to cancel", () => {
  const r = tippedReply({
    recipientLogin: "bob",
    amount: usd(500n),
    sats: 8_333n,
    rate: "60000",
    payer: "person",
    reason: "thanks",
    payableAt: new Date("2026-12-01T13:00:00Z"),
  });
  expect(r).toContain("tipped @bob $5 (8,333 sats at 60000 USD/BTC) from your balance for “thanks”");
  expect(r).toContain("pending until 2026-12-01 13:00 UTC");
  expect(r).toContain("`/tip cancel @bob`");
});
