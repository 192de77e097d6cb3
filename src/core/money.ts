/**
 * Amounts of money: parsing what people type in slash commands and config,
 * formatting for replies, and summing.
 *
 * Money is never a float here. Fiat is held in minor units (cents, pence),
 * bitcoin in satoshis, both as `bigint`. Parsing works on the decimal digits
 * of the input string; nothing ever goes through `Number` or `parseFloat`.
 */

export type Currency = "USD" | "EUR" | "GBP" | "BTC";

/** `minor` is cents/pence for fiat, satoshis for BTC. */
export interface Amount {
  currency: Currency;
  minor: bigint;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Display/stable order of currencies (also the order of `sameCurrencyTotals`). */
export const CURRENCIES: readonly Currency[] = Object.freeze(["USD", "EUR", "GBP", "BTC"] as const);

/** Decimal places of one unit of each currency: 2 for fiat, 8 for BTC (1 BTC = 10^8 sats). */
export const CURRENCY_DECIMALS: Readonly<Record<Currency, number>> = Object.freeze({
  USD: 2,
  EUR: 2,
  GBP: 2,
  BTC: 8,
});

/** Satoshis in one bitcoin. */
export const SATS_PER_BTC = 100_000_000n;

/**
 * Largest accepted amount in minor units. Fiat: 15 digits of minor units
 * (9,999,999,999,999.99), which also keeps every accepted amount a safe JS
 * integer. BTC: the 21 million coin supply cap.
 */
export const MAX_MINOR: Readonly<Record<Currency, bigint>> = Object.freeze({
  USD: 999_999_999_999_999n,
  EUR: 999_999_999_999_999n,
  GBP: 999_999_999_999_999n,
  BTC: 21_000_000n * SATS_PER_BTC,
});

/** Amounts of BTC at or above this many sats are shown as BTC with the sats in brackets. */
export const BTC_DISPLAY_THRESHOLD_SATS = 100_000n; // 0.001 BTC

const SYMBOLS: Readonly<Record<string, Currency>> = { $: "USD", "€": "EUR", "£": "GBP" };
const SYMBOL_OF: Readonly<Record<Exclude<Currency, "BTC">, string>> = { USD: "$", EUR: "€", GBP: "£" };

/**
 * Unit words accepted after a number. `sat`/`sats` are BTC counted in whole
 * satoshis; `btc` is BTC with up to 8 decimals.
 */
const UNIT_WORDS: Readonly<Record<string, { currency: Currency; decimals: number }>> = {
  usd: { currency: "USD", decimals: 2 },
  eur: { currency: "EUR", decimals: 2 },
  gbp: { currency: "GBP", decimals: 2 },
  btc: { currency: "BTC", decimals: 8 },
  sat: { currency: "BTC", decimals: 0 },
  sats: { currency: "BTC", decimals: 0 },
};

/** Inputs longer than this are refused before any work is done. */
const MAX_INPUT_LENGTH = 64;

/** Currency for a name as written in commands and config: usd, eur, gbp, btc, sat, sats (any case). */
export function currencyFromName(s: string): Currency | undefined {
  const key = s.trim().toLowerCase();
  return Object.prototype.hasOwnProperty.call(UNIT_WORDS, key) ? UNIT_WORDS[key]!.currency : undefined;
}

/** Add thousands separators to a string of digits. */
export function groupThousands(digits: string): string {
  let out = "";
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ",";
    out += digits[i];
  }
  return out;
}

/** Split a non-negative minor amount into integer and fraction digit strings. */
function splitMinor(minor: bigint, decimals: number): { int: string; frac: string } {
  const scale = 10n ** BigInt(decimals);
  const int = (minor / scale).toString();
  const frac = decimals === 0 ? "" : (minor % scale).toString().padStart(decimals, "0");
  return { int, frac };
}

/**
 * Human-readable amount for replies: `$5`, `$5.50`, `€1,000`, `£0.99`,
 * `1 sat`, `25,000 sats`, and from 0.001 BTC up `0.0015 BTC (150,000 sats)`.
 * Fiat shows cents only when there are any. Negative amounts get a leading `-`.
 */
export function formatAmount(a: Amount): string {
  const sign = a.minor < 0n ? "-" : "";
  const abs = a.minor < 0n ? -a.minor : a.minor;
  if (a.currency === "BTC") {
    const sats = groupThousands(abs.toString());
    const satsText = `${sats} ${abs === 1n ? "sat" : "sats"}`;
    if (abs < BTC_DISPLAY_THRESHOLD_SATS) return sign + satsText;
    const { int, frac } = splitMinor(abs, 8);
    const trimmed = frac.replace(/0+$/, "");
    const btc = groupThousands(int) + (trimmed ? "." + trimmed : "");
    return `${sign}${btc} BTC (${satsText})`;
  }
  const { int, frac } = splitMinor(abs, CURRENCY_DECIMALS[a.currency]);
  const body = groupThousands(int) + (/^0*$/.test(frac) ? "" : "." + frac);
  return sign + SYMBOL_OF[a.currency] + body;
}

/**
 * The shortest form of an amount that `parseAmount` reads back exactly,
 * suitable for showing as an example command: `5usd`, `5.50eur`, `25000sats`.
 * BTC is always written in sats, which never needs decimals.
 */
export function formatAmountInput(a: Amount): string {
  const sign = a.minor < 0n ? "-" : "";
  const abs = a.minor < 0n ? -a.minor : a.minor;
  if (a.currency === "BTC") return `${sign}${abs}sats`;
  const { int, frac } = splitMinor(abs, CURRENCY_DECIMALS[a.currency]);
  return `${sign}${int}${/^0*$/.test(frac) ? "" : "." + frac}${a.currency.toLowerCase()}`;
}

/** One total per currency present, in the order USD, EUR, GBP, BTC. */
export function sameCurrencyTotals(amounts: Amount[]): Amount[] {
  const sums = new Map<Currency, bigint>();
  for (const a of amounts) sums.set(a.currency, (sums.get(a.currency) ?? 0n) + a.minor);
  return CURRENCIES.filter((c) => sums.has(c)).map((c) => ({ currency: c, minor: sums.get(c)! }));
}

/** Compare two amounts of the same currency (-1, 0, 1). Throws on mixed currencies: that is a bug. */
export function compareAmounts(a: Amount, b: Amount): -1 | 0 | 1 {
  if (a.currency !== b.currency) {
    throw new Error(`cannot compare ${a.currency} with ${b.currency}`);
  }
  return a.minor < b.minor ? -1 : a.minor > b.minor ? 1 : 0;
}

// ---------------------------------------------------------------------------
// Parsing

/**
 * Why an amount was refused. `reason` is a short phrase suitable after a
 * colon (`unknown currency "xyz"`), `message` a full sentence quoting the
 * input, and `example` (when there is a sensible one) a corrected amount.
 */
export interface AmountProblem {
  reason: string;
  message: string;
  example?: string;
}

export type AmountResult = { ok: true; value: Amount } | ({ ok: false } & AmountProblem);

export interface ParseAmountOptions {
  /** Command shown in the "Try:" hint of error messages. Default `/bounty`. */
  command?: string;
}

const DIGIT_RE = /^[0-9]$/;
const HSPACE_RE = /^[ \t\u00a0]$/;
/** Plain digits, or digits grouped in threes with commas; then an optional fraction. */
const NUMBER_RE = /^(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?$/;
const MINUS_SIGNS = new Set(["-", "\u2212", "\u2013"]);

function quote(s: string): string {
  return JSON.stringify(s);
}

/** Default unit word for examples in a currency. */
function exampleUnit(c: Currency): string {
  return c === "BTC" ? "sats" : c.toLowerCase();
}

function defaultExample(c: Currency): string {
  return c === "BTC" ? "25000sats" : `5${c.toLowerCase()}`;
}

function isPositiveInteger(s: string): boolean {
  return /^[0-9]+$/.test(s) && /[1-9]/.test(s);
}

/**
 * Parse an amount with its reasons for refusal kept apart, for callers
 * (like the config validator) that phrase errors their own way.
 */
export function parseAmountDetailed(text: string, defaultCurrency: Currency): AmountResult {
  const fail = (reason: string, message: string, example?: string): AmountResult =>
    example === undefined ? { ok: false, reason, message } : { ok: false, reason, message, example };

  if (typeof text !== "string") {
    return fail("not text", "The amount is not text.", defaultExample(defaultCurrency));
  }
  const s = text.trim();
  if (s === "") {
    return fail("no amount given", "No amount was given.", defaultExample(defaultCurrency));
  }
  if (s.length > MAX_INPUT_LENGTH) {
    return fail(
      `too long to be an amount (${s.length} characters)`,
      `That is too long to be an amount (${s.length} characters).`,
      defaultExample(defaultCurrency),
    );
  }
  const q = quote(s);
  const chars = Array.from(s); // code points, so a symbol like "₿" or an emoji is one unit
  let i = 0;
  let negative = false;
  const skipSpace = (): boolean => {
    const start = i;
    while (i < chars.length && HSPACE_RE.test(chars[i]!)) i++;
    return i > start;
  };
  const readSign = (): void => {
    if (i < chars.length && MINUS_SIGNS.has(chars[i]!)) {
      negative = true;
      i++;
      skipSpace();
    } else if (chars[i] === "+") {
      i++;
      skipSpace();
    }
  };

  readSign();
  // Prefix: everything up to the first digit, dot, comma, sign or space.
  const prefixStart = i;
  while (
    i < chars.length &&
    !DIGIT_RE.test(chars[i]!) &&
    !HSPACE_RE.test(chars[i]!) &&
    chars[i] !== "." &&
    chars[i] !== "," &&
    chars[i] !== "+" &&
    !MINUS_SIGNS.has(chars[i]!)
  ) {
    i++;
  }
  const prefix = chars.slice(prefixStart, i).join("");
  skipSpace();
  readSign();
  const numStart = i;
  while (i < chars.length && (DIGIT_RE.test(chars[i]!) || chars[i] === "." || chars[i] === ",")) i++;
  const num = chars.slice(numStart, i).join("");
  skipSpace();
  const suffix = chars.slice(i).join("");

  if (num === "" || !/[0-9]/.test(num)) {
    return fail(
      "not a number",
      `${q} is not an amount. Amounts look like 5usd, $5, €5.50, £5 or 25000sats.`,
      defaultExample(defaultCurrency),
    );
  }

  // Currency: from a prefix symbol and/or a suffix unit.
  let prefixCurrency: Currency | undefined;
  if (prefix !== "") {
    const sym = SYMBOLS[prefix];
    if (sym !== undefined) {
      prefixCurrency = sym;
    } else if (currencyFromName(prefix) !== undefined) {
      const word = prefix.toLowerCase();
      const ex = `${num}${word}`;
      return fail(
        `put the currency after the number, like "${ex}"`,
        `${q}: put the currency after the number.`,
        ex,
      );
    } else {
      return fail(
        `unknown currency ${quote(prefix)}`,
        `${q} has an unknown currency ${quote(prefix)}; use usd ($), eur (€), gbp (£), btc or sats.`,
        isPositiveInteger(num) ? `${num}${exampleUnit(defaultCurrency)}` : defaultExample(defaultCurrency),
      );
    }
  }

  let unitWord: string | undefined;
  let suffixCurrency: Currency | undefined;
  let unitDecimals: number | undefined;
  if (suffix !== "") {
    const lower = suffix.toLowerCase();
    const word = Object.prototype.hasOwnProperty.call(UNIT_WORDS, lower) ? UNIT_WORDS[lower] : undefined;
    const sym = SYMBOLS[suffix];
    if (word !== undefined) {
      unitWord = lower;
      suffixCurrency = word.currency;
      unitDecimals = word.decimals;
    } else if (sym !== undefined) {
      unitWord = suffix;
      suffixCurrency = sym;
    } else {
      const firstWord = lower.split(/[ \t\u00a0]/)[0]!;
      if (firstWord !== lower && currencyFromName(firstWord) !== undefined) {
        const ex = `${prefix}${num}${firstWord}`;
        return fail(
          `unexpected text after the amount`,
          `${q} has extra text after the amount.`,
          ex,
        );
      }
      return fail(
        `unknown currency ${quote(suffix)}`,
        `${q} has an unknown currency ${quote(suffix)}; use usd, eur, gbp, btc or sats.`,
        isPositiveInteger(num) ? `${num}${exampleUnit(defaultCurrency)}` : defaultExample(defaultCurrency),
      );
    }
  }
  if (prefixCurrency !== undefined && suffixCurrency !== undefined && prefixCurrency !== suffixCurrency) {
    return fail(
      `two different currencies (${prefixCurrency} and ${suffixCurrency})`,
      `${q} names two different currencies (${prefixCurrency} and ${suffixCurrency}).`,
      `${num}${suffixCurrency === "BTC" ? unitWord : suffixCurrency.toLowerCase()}`,
    );
  }
  const currency: Currency = prefixCurrency ?? suffixCurrency ?? defaultCurrency;
  const decimals = unitDecimals ?? CURRENCY_DECIMALS[currency];

  // Rebuild the user's own spelling around a corrected number, for examples.
  const spaceBeforeUnit = suffix !== "" && /[ \t\u00a0]/.test(s.slice(0, s.length - suffix.length).slice(-1));
  const respell = (n: string): string =>
    `${prefix}${n}${suffix === "" ? "" : (spaceBeforeUnit ? " " : "") + suffix}`;

  if (!NUMBER_RE.test(num)) {
    const looksDecimalComma = /^[0-9]+,[0-9]{1,2}$/.test(num);
    if (looksDecimalComma) {
      const ex = respell(num.replace(",", "."));
      return fail(
        `use a dot for decimals (commas only separate thousands)`,
        `${q}: use a dot for decimals; commas may only separate thousands.`,
        ex,
      );
    }
    return fail(
      `${quote(num)} is not a number`,
      `${q} is not an amount: ${quote(num)} is not a number. Write digits with at most one dot, like 5 or 5.50.`,
      defaultExample(defaultCurrency),
    );
  }

  if (negative) {
    const ex = respell(num);
    return fail(`must be positive`, `${q} is negative; amounts must be positive.`, ex);
  }

  const plain = num.replace(/,/g, "");
  const dot = plain.indexOf(".");
  const intDigits = (dot === -1 ? plain : plain.slice(0, dot)).replace(/^0+(?=.)/, "");
  const fracDigits = dot === -1 ? "" : plain.slice(dot + 1);
  const unitName =
    unitWord === "sat" || unitWord === "sats" ? "sats" : unitWord === "btc" || currency === "BTC" ? "BTC" : currency;

  if (fracDigits.length > decimals) {
    const cut = fracDigits.slice(0, decimals);
    let suggestion: string;
    if (/^0*$/.test(intDigits) && /^0*$/.test(cut)) {
      suggestion = decimals === 0 ? "1" : `0.${"0".repeat(decimals - 1)}1`;
    } else {
      suggestion = decimals === 0 ? intDigits : `${intDigits}.${cut}`;
    }
    const ex = respell(suggestion);
    const reason =
      decimals === 0
        ? `${unitName} must be a whole number`
        : `more decimals than ${unitName} allows (${decimals})`;
    const message =
      decimals === 0
        ? `${q} has decimals, but ${unitName} are counted in whole numbers.`
        : `${q} has more decimals than ${unitName} allows (${decimals}).`;
    return fail(reason, message, ex);
  }

  // Very long digit strings are refused before any arithmetic.
  const maxMinor = MAX_MINOR[currency];
  const maxText = formatAmount({ currency, minor: maxMinor });
  const tooLarge = (): AmountResult =>
    fail(`too large (the most is ${maxText})`, `${q} is too large; the most is ${maxText}.`, formatAmountInput({ currency, minor: maxMinor }));
  if (intDigits.length > 20) return tooLarge();
  const frac = fracDigits.slice(0, decimals).padEnd(decimals, "0");
  const minor = BigInt(intDigits + frac);
  if (minor === 0n) {
    return fail(`must be more than zero`, `${q} is zero; an amount must be more than zero.`, defaultExample(currency));
  }
  if (minor > maxMinor) return tooLarge();
  return { ok: true, value: { currency, minor } };
}

/**
 * Parse an amount as typed in a command: `5usd`, `5 USD`, `$5`, `5.50usd`,
 * `€5`, `5eur`, `£5`, `5gbp`, `25000sats`, `25000 sat`, `0.0005btc`, `1,000usd`
 * or a bare `5` (in `defaultCurrency`; with BTC a bare number is in BTC, up
 * to 8 decimals). Errors are full English sentences ending in a corrected
 * example, e.g. `"5.555usd" has more decimals than USD allows (2). Try: /bounty 5.55usd`.
 */
export function parseAmount(text: string, defaultCurrency: Currency, opts: ParseAmountOptions = {}): Parsed<Amount> {
  const r = parseAmountDetailed(text, defaultCurrency);
  if (r.ok) return r;
  const command = opts.command ?? "/bounty";
  const hint = r.example === undefined ? "" : ` Try: ${command} ${r.example}`;
  return { ok: false, error: r.message + hint };
}
