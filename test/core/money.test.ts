import fc from "fast-check";
import {
  CURRENCIES,
  CURRENCY_DECIMALS,
  MAX_MINOR,
  compareAmounts,
  currencyFromName,
  formatAmount,
  formatAmountInput,
  parseAmount,
  parseAmountDetailed,
  sameCurrencyTotals,
  type Amount,
  type Currency,
} from "../../src/core/money.js";

const usd = (minor: bigint): Amount => ({ currency: "USD", minor });
const eur = (minor: bigint): Amount => ({ currency: "EUR", minor });
const gbp = (minor: bigint): Amount => ({ currency: "GBP", minor });
const sats = (minor: bigint): Amount => ({ currency: "BTC", minor });

describe("parseAmount accepts", () => {
  const cases: Array<[string, Currency, Amount]> = [
    ["5usd", "USD", usd(500n)],
    ["5 USD", "EUR", usd(500n)],
    ["5Usd", "EUR", usd(500n)],
    ["$5", "EUR", usd(500n)],
    ["$ 5", "EUR", usd(500n)],
    ["$5usd", "EUR", usd(500n)],
    ["5.50usd", "USD", usd(550n)],
    ["5.5usd", "USD", usd(550n)],
    ["0.01usd", "USD", usd(1n)],
    ["€5", "USD", eur(500n)],
    ["5€", "USD", eur(500n)],
    ["5eur", "USD", eur(500n)],
    ["5 EUR", "USD", eur(500n)],
    ["£5", "USD", gbp(500n)],
    ["5gbp", "USD", gbp(500n)],
    ["£0.99", "USD", gbp(99n)],
    ["25000sats", "USD", sats(25_000n)],
    ["25000 sat", "USD", sats(25_000n)],
    ["1 SAT", "USD", sats(1n)],
    ["0.0005btc", "USD", sats(50_000n)],
    ["0.0005 BTC", "USD", sats(50_000n)],
    ["0.00000001btc", "USD", sats(1n)],
    ["1btc", "USD", sats(100_000_000n)],
    ["5", "USD", usd(500n)],
    ["5", "EUR", eur(500n)],
    ["5.25", "GBP", gbp(525n)],
    ["5", "BTC", sats(500_000_000n)],
    ["0.0005", "BTC", sats(50_000n)],
    ["0.12345678", "BTC", sats(12_345_678n)],
    ["1,000usd", "USD", usd(100_000n)],
    ["£1,000", "USD", gbp(100_000n)],
    ["1,000,000.50usd", "USD", usd(100_000_050n)],
    ["25,000 sats", "USD", sats(25_000n)],
    ["  5usd  ", "USD", usd(500n)],
    ["5\tusd", "USD", usd(500n)],
    ["5  usd", "USD", usd(500n)],
    ["+5usd", "USD", usd(500n)],
    ["007usd", "USD", usd(700n)],
    ["9999999999999.99usd", "USD", usd(999_999_999_999_999n)],
    ["21000000btc", "USD", sats(2_100_000_000_000_000n)],
    ["2100000000000000sats", "USD", sats(2_100_000_000_000_000n)],
  ];
  test.each(cases)("%j (default %s)", (text, def, expected) => {
    expect(parseAmount(text, def)).toEqual({ ok: true, value: expected });
  });
});

describe("parseAmount refuses, saying what is wrong and showing a right form", () => {
  const cases: Array<[string, Currency, string]> = [
    ["", "USD", "No amount was given. Try: /bounty 5usd"],
    ["   ", "EUR", "No amount was given. Try: /bounty 5eur"],
    ["", "BTC", "No amount was given. Try: /bounty 25000sats"],
    ["0usd", "USD", `"0usd" is zero; an amount must be more than zero. Try: /bounty 5usd`],
    ["0", "USD", `"0" is zero; an amount must be more than zero. Try: /bounty 5usd`],
    ["0.00eur", "USD", `"0.00eur" is zero; an amount must be more than zero. Try: /bounty 5eur`],
    ["0sats", "USD", `"0sats" is zero; an amount must be more than zero. Try: /bounty 25000sats`],
    ["-5usd", "USD", `"-5usd" is negative; amounts must be positive. Try: /bounty 5usd`],
    ["-$5", "USD", `"-$5" is negative; amounts must be positive. Try: /bounty $5`],
    ["$-5", "USD", `"$-5" is negative; amounts must be positive. Try: /bounty $5`],
    ["5.555usd", "USD", `"5.555usd" has more decimals than USD allows (2). Try: /bounty 5.55usd`],
    ["5.500usd", "USD", `"5.500usd" has more decimals than USD allows (2). Try: /bounty 5.50usd`],
    ["£0.001", "USD", `"£0.001" has more decimals than GBP allows (2). Try: /bounty £0.01`],
    ["0.000000001btc", "USD", `"0.000000001btc" has more decimals than BTC allows (8). Try: /bounty 0.00000001btc`],
    ["0.123456789", "BTC", `"0.123456789" has more decimals than BTC allows (8). Try: /bounty 0.12345678`],
    ["1.5sats", "USD", `"1.5sats" has decimals, but sats are counted in whole numbers. Try: /bounty 1sats`],
    ["0.5 sat", "USD", `"0.5 sat" has decimals, but sats are counted in whole numbers. Try: /bounty 1 sat`],
    ["5xyz", "USD", `"5xyz" has an unknown currency "xyz"; use usd, eur, gbp, btc or sats. Try: /bounty 5usd`],
    ["5 dollars", "USD", `"5 dollars" has an unknown currency "dollars"; use usd, eur, gbp, btc or sats. Try: /bounty 5usd`],
    ["¥5", "EUR", `"¥5" has an unknown currency "¥"; use usd ($), eur (€), gbp (£), btc or sats. Try: /bounty 5eur`],
    ["₿1", "USD", `"₿1" has an unknown currency "₿"; use usd ($), eur (€), gbp (£), btc or sats. Try: /bounty 1usd`],
    ["abc", "USD", `"abc" is not an amount. Amounts look like 5usd, $5, €5.50, £5 or 25000sats. Try: /bounty 5usd`],
    ["usd", "USD", `"usd" is not an amount. Amounts look like 5usd, $5, €5.50, £5 or 25000sats. Try: /bounty 5usd`],
    ["$", "USD", `"$" is not an amount. Amounts look like 5usd, $5, €5.50, £5 or 25000sats. Try: /bounty 5usd`],
    ["usd5", "USD", `"usd5": put the currency after the number. Try: /bounty 5usd`],
    ["$5eur", "USD", `"$5eur" names two different currencies (USD and EUR). Try: /bounty 5eur`],
    ["5 usd please", "USD", `"5 usd please" has extra text after the amount. Try: /bounty 5usd`],
    ["5,50eur", "USD", `"5,50eur": use a dot for decimals; commas may only separate thousands. Try: /bounty 5.50eur`],
    ["1,00,000usd", "USD", `"1,00,000usd" is not an amount: "1,00,000" is not a number. Write digits with at most one dot, like 5 or 5.50. Try: /bounty 5usd`],
    ["5.5.5usd", "USD", `"5.5.5usd" is not an amount: "5.5.5" is not a number. Write digits with at most one dot, like 5 or 5.50. Try: /bounty 5usd`],
    [".5usd", "USD", `".5usd" is not an amount: ".5" is not a number. Write digits with at most one dot, like 5 or 5.50. Try: /bounty 5usd`],
    ["5.usd", "USD", `"5.usd" is not an amount: "5." is not a number. Write digits with at most one dot, like 5 or 5.50. Try: /bounty 5usd`],
    ["1e3usd", "USD", `"1e3usd" has an unknown currency "e3usd"; use usd, eur, gbp, btc or sats. Try: /bounty 1usd`],
    [
      "10000000000000usd",
      "USD",
      `"10000000000000usd" is too large; the most is $9,999,999,999,999.99. Try: /bounty 9999999999999.99usd`,
    ],
    [
      "21000000.00000001btc",
      "USD",
      `"21000000.00000001btc" is too large; the most is 21,000,000 BTC (2,100,000,000,000,000 sats). Try: /bounty 2100000000000000sats`,
    ],
    [
      "99999999999999999999999999999999999999sats",
      "USD",
      `"99999999999999999999999999999999999999sats" is too large; the most is 21,000,000 BTC (2,100,000,000,000,000 sats). Try: /bounty 2100000000000000sats`,
    ],
    [
      "1".repeat(65),
      "USD",
      "That is too long to be an amount (65 characters). Try: /bounty 5usd",
    ],
  ];
  test.each(cases)("%j (default %s)", (text, def, error) => {
    expect(parseAmount(text, def)).toEqual({ ok: false, error });
  });

  test("the command in the hint can be changed", () => {
    expect(parseAmount("5xyz", "USD", { command: "/tip" })).toEqual({
      ok: false,
      error: `"5xyz" has an unknown currency "xyz"; use usd, eur, gbp, btc or sats. Try: /tip 5usd`,
    });
  });

  test("every suggested correction is itself accepted", () => {
    for (const [text, def] of cases) {
      const r = parseAmountDetailed(text, def);
      expect(r.ok).toBe(false);
      if (!r.ok && r.example !== undefined) {
        expect(parseAmount(r.example, def).ok).toBe(true);
      }
    }
  });

  test("the detailed form gives a reason phrase for config messages", () => {
    expect(parseAmountDetailed("10xyz", "USD")).toMatchObject({ ok: false, reason: 'unknown currency "xyz"' });
    expect(parseAmountDetailed("0usd", "USD")).toMatchObject({ ok: false, reason: "must be more than zero" });
  });
});

describe("formatAmount", () => {
  const cases: Array<[Amount, string]> = [
    [usd(500n), "$5"],
    [usd(550n), "$5.50"],
    [usd(1n), "$0.01"],
    [usd(100_000n), "$1,000"],
    [usd(123_456_789n), "$1,234,567.89"],
    [eur(500n), "€5"],
    [gbp(100_000n), "£1,000"],
    [gbp(99n), "£0.99"],
    [usd(0n), "$0"],
    [usd(-550n), "-$5.50"],
    [sats(1n), "1 sat"],
    [sats(2n), "2 sats"],
    [sats(25_000n), "25,000 sats"],
    [sats(99_999n), "99,999 sats"],
    [sats(100_000n), "0.001 BTC (100,000 sats)"],
    [sats(150_000n), "0.0015 BTC (150,000 sats)"],
    [sats(100_000_000n), "1 BTC (100,000,000 sats)"],
    [sats(123_456_789n), "1.23456789 BTC (123,456,789 sats)"],
    [sats(2_100_000_000_000_000n), "21,000,000 BTC (2,100,000,000,000,000 sats)"],
    [sats(-25_000n), "-25,000 sats"],
  ];
  test.each(cases)("%p → %s", (a, text) => {
    expect(formatAmount(a)).toBe(text);
  });

  test("formatAmountInput gives the short command form", () => {
    expect(formatAmountInput(usd(500n))).toBe("5usd");
    expect(formatAmountInput(eur(550n))).toBe("5.50eur");
    expect(formatAmountInput(gbp(1n))).toBe("0.01gbp");
    expect(formatAmountInput(sats(25_000n))).toBe("25000sats");
  });
});

describe("currencyFromName", () => {
  test.each([
    ["usd", "USD"],
    ["USD", "USD"],
    ["eur", "EUR"],
    ["Gbp", "GBP"],
    ["btc", "BTC"],
    ["sat", "BTC"],
    ["sats", "BTC"],
    [" SATS ", "BTC"],
  ])("%j → %s", (name, c) => {
    expect(currencyFromName(name)).toBe(c);
  });
  test.each(["", "dollars", "$", "xbt", "toString", "__proto__", "constructor"])("%j → undefined", (name) => {
    expect(currencyFromName(name)).toBeUndefined();
  });
});

describe("sameCurrencyTotals", () => {
  test("one total per currency in the order USD, EUR, GBP, BTC", () => {
    expect(sameCurrencyTotals([sats(10n), eur(100n), usd(5n), sats(15n), usd(7n)])).toEqual([
      usd(12n),
      eur(100n),
      sats(25n),
    ]);
  });
  test("empty gives empty", () => {
    expect(sameCurrencyTotals([])).toEqual([]);
  });
  test("totals stay exact past 2^53", () => {
    const big = 2n ** 60n;
    expect(sameCurrencyTotals([usd(big), usd(1n)])).toEqual([usd(big + 1n)]);
  });
  test("does not change its input", () => {
    const input = [usd(1n), usd(2n)];
    sameCurrencyTotals(input);
    expect(input).toEqual([usd(1n), usd(2n)]);
  });
});

describe("compareAmounts", () => {
  test("orders amounts of one currency and refuses mixed ones", () => {
    expect(compareAmounts(usd(1n), usd(2n))).toBe(-1);
    expect(compareAmounts(usd(2n), usd(2n))).toBe(0);
    expect(compareAmounts(usd(3n), usd(2n))).toBe(1);
    expect(() => compareAmounts(usd(1n), eur(1n))).toThrow("cannot compare USD with EUR");
  });
});

describe("properties", () => {
  const currency = fc.constantFrom<Currency>(...CURRENCIES);
  const amount = currency.chain((c) =>
    fc.bigInt({ min: 1n, max: MAX_MINOR[c] }).map((minor): Amount => ({ currency: c, minor })),
  );
  const amountish = fc
    .array(
      fc.oneof(
        fc.constantFrom("5", "0", "1", ".", ",", "-", "+", " ", "$", "€", "£", "¥", "usd", "EUR", "sats", "sat", "btc", "e", "\u00a0", "\t", "0000"),
        fc.string({ unit: "binary", maxLength: 3 }),
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join(""));

  test("parseAmount never throws, whatever the text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), amountish, fc.string()), currency, (text, def) => {
        const r = parseAmount(text, def);
        if (r.ok) {
          expect(r.value.minor > 0n).toBe(true);
          expect(r.value.minor <= MAX_MINOR[r.value.currency]).toBe(true);
        } else {
          expect(r.error.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test("every accepted amount reads back the same from its command form and its display form", () => {
    fc.assert(
      fc.property(amountish, currency, (text, def) => {
        const r = parseAmount(text, def);
        if (!r.ok) return;
        expect(parseAmount(formatAmountInput(r.value), def)).toEqual(r);
        expect(parseAmount(formatAmount(r.value).split(" (")[0]!, def)).toEqual(r);
      }),
      { numRuns: 3000 },
    );
  });

  test("every amount round-trips through formatAmountInput and formatAmount", () => {
    fc.assert(
      fc.property(amount, currency, (a, def) => {
        expect(parseAmount(formatAmountInput(a), def)).toEqual({ ok: true, value: a });
        // Display form: fiat and small BTC amounts as shown; large BTC by its "x BTC" part.
        const shown = formatAmount(a);
        const readable = a.currency === "BTC" ? shown.split(" (")[0]! : shown;
        expect(parseAmount(readable, def)).toEqual({ ok: true, value: a });
      }),
      { numRuns: 2000 },
    );
  });

  test("decimal parsing is exact (compared with integer arithmetic on the digits)", () => {
    const fiat = fc.constantFrom<Currency>("USD", "EUR", "GBP");
    fc.assert(
      fc.property(
        fiat,
        fc.stringMatching(/^[1-9][0-9]{0,12}$/),
        fc.stringMatching(/^[0-9]{0,2}$/),
        (c, int, frac) => {
          const text = frac === "" ? `${int}${c.toLowerCase()}` : `${int}.${frac}${c.toLowerCase()}`;
          const scale = 10n ** BigInt(CURRENCY_DECIMALS[c]);
          const expected = BigInt(int) * scale + BigInt(frac.padEnd(2, "0"));
          expect(parseAmount(text, "USD")).toEqual({ ok: true, value: { currency: c, minor: expected } });
        },
      ),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,7}$/), fc.stringMatching(/^[0-9]{1,8}$/), (int, frac) => {
        const expected = BigInt(int) * 100_000_000n + BigInt(frac.padEnd(8, "0"));
        const r = parseAmount(`${int}.${frac}btc`, "USD");
        if (expected === 0n) expect(r.ok).toBe(false);
        else expect(r).toEqual({ ok: true, value: { currency: "BTC", minor: expected } });
      }),
    );
  });

  test("totals equal the sum of the parts per currency", () => {
    fc.assert(
      fc.property(fc.array(amount, { maxLength: 30 }), (amounts) => {
        const totals = sameCurrencyTotals(amounts);
        const order = totals.map((t) => CURRENCIES.indexOf(t.currency));
        expect([...order].sort((a, b) => a - b)).toEqual(order);
        for (const c of CURRENCIES) {
          const expected = amounts.filter((a) => a.currency === c).reduce((s, a) => s + a.minor, 0n);
          const got = totals.find((t) => t.currency === c);
          if (amounts.some((a) => a.currency === c)) expect(got).toEqual({ currency: c, minor: expected });
          else expect(got).toBeUndefined();
        }
      }),
    );
  });
});

test("no floating point in the money module", async () => {
  const { readFile } = await import("node:fs/promises");
  const source = await readFile(new URL("../../src/core/money.ts", import.meta.url), "utf8");
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  expect(code).toContain("BigInt(");
  expect(code).not.toMatch(/parseFloat|parseInt|Number\(|toFixed|Math\./);
});
