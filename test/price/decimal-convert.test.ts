import fc from "fast-check";
import {
  type Decimal,
  decimalToString,
  divRoundHalfUp,
  formatDecimal,
  medianDecimal,
  parseDecimal,
  percentText,
} from "../../src/price/decimal.js";
import { fiatToSats } from "../../src/price/convert.js";

describe("parseDecimal", () => {
  test.each<[string, string | null]>([
    ["60000", "60000"],
    ["60000.12", "60000.12"],
    ["60000.10000", "60000.1"],
    ["0.02", "0.02"],
    ["0", "0"],
    ["007", "7"],
    ["-1", null],
    ["+1", null],
    ["1e5", null],
    ["1.", null],
    [".5", null],
    ["", null],
    [" 1", null],
    ["1,000", null],
    ["NaN", null],
    ["Infinity", null],
    ["0x10", null],
    ["1".repeat(41), null],
    ["1." + "0".repeat(19), null],
  ])("%j → %j", (text, want) => {
    const d = parseDecimal(text);
    expect(d === null ? null : decimalToString(d)).toBe(want);
  });

  test("keeps every digit of a long price", () => {
    const d = parseDecimal("123456789012345678.123456789")!;
    expect(d).toEqual({ coef: 123456789012345678123456789n, scale: 9 });
  });
});

describe("decimal helpers", () => {
  const d = (s: string): Decimal => parseDecimal(s)!;
  test.each<[string[], string]>([
    [["60000"], "60000"],
    [["60000", "62000"], "61000"],
    [["60000.01", "60000.02"], "60000.015"],
    [["3", "1", "2"], "2"],
    [["62000", "60000", "61000.5", "1000"], "60500.25"],
  ])("median %j = %s", (xs, want) => {
    expect(decimalToString(medianDecimal(xs.map(d)))).toBe(want);
  });

  test("median of nothing throws", () => {
    expect(() => medianDecimal([])).toThrow(RangeError);
  });

  test.each<[string, number, string]>([
    ["60000.1", 2, "60000.10"],
    ["60000.125", 2, "60000.13"],
    ["60000.124", 2, "60000.12"],
    ["0.5", 0, "1"],
    ["7", 2, "7.00"],
  ])("formatDecimal(%s, %d) = %s", (x, p, want) => {
    expect(formatDecimal(d(x), p)).toBe(want);
  });

  test.each<[string, string, number, string]>([
    ["2000", "61000", 1, "3.3"],
    ["1", "3", 2, "33.33"],
    ["2", "3", 2, "66.67"],
    ["0.02", "1", 4, "2"],
    ["0.025", "1", 4, "2.5"],
    ["1", "1", 1, "100"],
  ])("percentText(%s / %s, %d) = %s", (n, den, p, want) => {
    expect(percentText(d(n), d(den), p)).toBe(want);
  });

  test("divRoundHalfUp rounds ties up and rejects bad input", () => {
    expect(divRoundHalfUp(5n, 2n)).toBe(3n);
    expect(divRoundHalfUp(4n, 2n)).toBe(2n);
    expect(divRoundHalfUp(7n, 3n)).toBe(2n);
    expect(divRoundHalfUp(8n, 3n)).toBe(3n);
    expect(() => divRoundHalfUp(1n, 0n)).toThrow(RangeError);
    expect(() => divRoundHalfUp(-1n, 2n)).toThrow(RangeError);
  });
});

describe("fiatToSats", () => {
  test.each<[bigint, "USD" | "EUR" | "GBP", string, bigint]>([
    [10_000n, "USD", "60000", 166_667n], // $100 / 60000 = 0.00166666… BTC
    [1n, "USD", "60000", 17n], // 16.67 sats
    [1n, "USD", "40000", 25n], // exactly 25
    [1n, "USD", "80000", 13n], // 12.5 → 13, half up
    [3n, "EUR", "80000", 38n], // 37.5 → 38
    [6_000_000n, "USD", "60000", 100_000_000n], // $60 000 = 1 BTC
    [6_000_012n, "USD", "60000.12", 100_000_000n],
    [50_000n, "GBP", "48000", 1_041_667n], // £500 / 48000 = 1041666.67 sats
    [0n, "USD", "60000", 0n],
    [123_456_789n, "USD", "61000.015", 2_023_881_289n], // 2023881289.2095… (checked with Python fractions)
  ])("%s minor %s at %s → %s sats", (minor, cur, rate, want) => {
    expect(fiatToSats(minor, cur, rate)).toBe(want);
    expect(fiatToSats(minor, cur, parseDecimal(rate)!)).toBe(want);
  });

  test("an unnormalized rate gives the same answer", () => {
    expect(fiatToSats(10_000n, "USD", { coef: 60_000_000n, scale: 3 })).toBe(166_667n);
  });

  test.each<[bigint, string | Decimal]>([
    [-1n, "60000"],
    [1n, "0"],
    [1n, "-60000"],
    [1n, "abc"],
    [1n, { coef: 0n, scale: 0 }],
    [1n, { coef: 5n, scale: -1 }],
  ])("refuses %s at %j", (minor, rate) => {
    expect(() => fiatToSats(minor, "USD", rate)).toThrow(RangeError);
  });

  // Rates from 1 000.00000000 to 10^8 per BTC with up to 8 decimals; amounts up to 10^12 cents.
  const rateArb = fc
    .record({ coef: fc.bigInt({ min: 1000n, max: 100_000_000n }), frac: fc.bigInt({ min: 0n, max: 99_999_999n }), scale: fc.integer({ min: 0, max: 8 }) })
    .map(({ coef, frac, scale }): Decimal => ({ coef: coef * 10n ** BigInt(scale) + (frac % 10n ** BigInt(scale)), scale }));
  const minorArb = fc.bigInt({ min: 0n, max: 1_000_000_000_000n });

  test("property: the result is the nearest sat, ties up", () => {
    fc.assert(
      fc.property(minorArb, rateArb, (minor, rate) => {
        const sats = fiatToSats(minor, "USD", rate);
        // exact value = minor·10^8·10^scale / (coef·100) = N / D
        const N = minor * 100_000_000n * 10n ** BigInt(rate.scale);
        const D = rate.coef * 100n;
        // |sats − N/D| ≤ 1/2, and exactly 1/2 only when rounded up: (2·sats − 1)·D ≤ 2N < (2·sats + 1)·D
        expect((2n * sats - 1n) * D <= 2n * N).toBe(true);
        expect(2n * N < (2n * sats + 1n) * D).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test("property: monotone in the amount and in the rate", () => {
    fc.assert(
      fc.property(minorArb, minorArb, rateArb, (a, b, rate) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(fiatToSats(lo, "EUR", rate) <= fiatToSats(hi, "EUR", rate)).toBe(true);
        const dearer: Decimal = { coef: rate.coef + 1n, scale: rate.scale };
        expect(fiatToSats(hi, "EUR", dearer) <= fiatToSats(hi, "EUR", rate)).toBe(true);
      }),
    );
  });

  test("property: converting parts loses at most one sat per part", () => {
    fc.assert(
      fc.property(minorArb, minorArb, rateArb, (a, b, rate) => {
        const whole = fiatToSats(a + b, "GBP", rate);
        const parts = fiatToSats(a, "GBP", rate) + fiatToSats(b, "GBP", rate);
        const d = whole - parts;
        expect(d >= -1n && d <= 1n).toBe(true);
      }),
    );
  });

  test("property: the decimal text of a rate converts like the rate", () => {
    fc.assert(
      fc.property(minorArb, rateArb, (minor, rate) => {
        expect(fiatToSats(minor, "USD", decimalToString(rate))).toBe(fiatToSats(minor, "USD", rate));
      }),
    );
  });
});
