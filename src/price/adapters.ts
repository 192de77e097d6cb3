import { redact } from "../core/redact.js";
import { type Decimal, compareDecimal, decimalToString, parseDecimal } from "./decimal.js";
import type { Currency, PriceSource } from "./sources.js";

/** Sanity bounds on a BTC price in major fiat units; an answer outside them is a failed source. */
export interface PlausibleRange {
  readonly min: Decimal;
  readonly max: Decimal;
}

/**
 * 1 000 to 100 000 000 per BTC for USD/EUR/GBP. Below 1 000 or above 10^8
 * (where one sat would be worth more than one unit) is a broken feed, not a market.
 */
export const DEFAULT_PLAUSIBLE: PlausibleRange = {
  min: { coef: 1000n, scale: 0 },
  max: { coef: 100_000_000n, scale: 0 },
};

export const DEFAULT_TIMEOUT_MS = 5000;
/** A mempool timestamp this far ahead of our clock is refused; less is clamped to now. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Larger response bodies are refused (by Content-Length before reading, else after): a ticker answer is a few hundred bytes. */
export const MAX_BODY_CHARS = 64 * 1024;

export interface FetchQuoteOptions {
  timeoutMs?: number;
  /** Milliseconds since the epoch; the quote time for sources that do not report one. */
  now?: () => number;
  fetch?: typeof globalThis.fetch;
  plausible?: PlausibleRange;
}

export type FetchQuoteResult =
  | { ok: true; price: Decimal; at: number }
  | { ok: false; error: string };

export const COINBASE_URL = (c: Currency) => `https://api.coinbase.com/v2/prices/BTC-${c}/spot`;
export const KRAKEN_URL = (c: Currency) => `https://api.kraken.com/0/public/Ticker?pair=XBT${c}`;
/** Kraken answers pair=XBTUSD under its canonical name XXBTZUSD (likewise EUR, GBP). */
export const KRAKEN_PAIR: Readonly<Record<Currency, string>> = {
  USD: "XXBTZUSD",
  EUR: "XXBTZEUR",
  GBP: "XXBTZGBP",
};
export const MEMPOOL_URL = (base: string) => `${base}/api/v1/prices`;

class SourceError extends Error {}

/** Fetches and validates one quote. Never throws: every failure is `{ ok: false }`. */
export async function fetchQuote(
  source: PriceSource,
  currency: Currency,
  opts: FetchQuoteOptions = {},
): Promise<FetchQuoteResult> {
  const now = opts.now ?? Date.now;
  const plausible = opts.plausible ?? DEFAULT_PLAUSIBLE;
  try {
    let price: Decimal;
    let at: number;
    switch (source.kind) {
      case "fixed": {
        const p = source.prices[currency];
        if (p === undefined) throw new SourceError(`no fixed ${currency} price configured`);
        price = p;
        at = now();
        break;
      }
      case "coinbase": {
        const body = await getJson(COINBASE_URL(currency), opts);
        price = coinbasePrice(body, currency);
        at = now();
        break;
      }
      case "kraken": {
        const body = await getJson(KRAKEN_URL(currency), opts);
        price = krakenPrice(body, currency);
        at = now();
        break;
      }
      case "mempool": {
        const { json, text } = await getJsonText(MEMPOOL_URL(source.baseUrl), opts);
        const q = mempoolPrice(json, text, currency);
        const t = now();
        if (q.at > t + MAX_CLOCK_SKEW_MS) {
          throw new SourceError(`malformed answer: time ${q.at / 1000} is in the future`);
        }
        price = q.price;
        at = Math.min(q.at, t);
        break;
      }
    }
    checkPlausible(price, currency, plausible);
    return { ok: true, price, at };
  } catch (e) {
    // A failed request's message can quote its URL (fetch does when it holds credentials).
    return { ok: false, error: redact(describeError(e, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)) };
  }
}

function checkPlausible(p: Decimal, currency: Currency, range: PlausibleRange): void {
  if (compareDecimal(p, range.min) < 0 || compareDecimal(p, range.max) > 0) {
    throw new SourceError(
      `implausible price ${decimalToString(p)} ${currency} (outside ${decimalToString(range.min)}–${decimalToString(range.max)})`,
    );
  }
}

function describeError(e: unknown, timeoutMs: number): string {
  if (e instanceof SourceError) return e.message;
  if (e instanceof Error || (typeof e === "object" && e !== null && "name" in e)) {
    const err = e as { name?: string; message?: string; cause?: unknown };
    if (err.name === "TimeoutError" || err.name === "AbortError") return `timed out after ${timeoutMs} ms`;
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return `request failed: ${err.message ?? String(e)}${cause}`;
  }
  return `request failed: ${String(e)}`;
}

async function getJson(url: string, opts: FetchQuoteOptions): Promise<unknown> {
  return (await getJsonText(url, opts)).json;
}

async function getJsonText(url: string, opts: FetchQuoteOptions): Promise<{ json: unknown; text: string }> {
  const f = opts.fetch ?? globalThis.fetch;
  const res = await f(url, {
    headers: { accept: "application/json", "user-agent": "bounty-bot" },
    signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
  });
  if (!res.ok) {
    // Drain so the connection can be reused; the content is not trusted.
    await res.text().catch(() => undefined);
    throw new SourceError(`HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_CHARS) {
    await res.body?.cancel().catch(() => undefined);
    throw new SourceError(`malformed answer: body of ${declared} bytes`);
  }
  const text = await res.text();
  if (text.length > MAX_BODY_CHARS) throw new SourceError(`malformed answer: body of ${text.length} characters`);
  try {
    return { json: JSON.parse(text) as unknown, text };
  } catch {
    throw new SourceError("malformed answer: not JSON");
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function priceFromString(v: unknown, what: string): Decimal {
  if (typeof v !== "string") throw new SourceError(`malformed answer: ${what} is not a string`);
  const d = parseDecimal(v);
  if (d === null) throw new SourceError(`malformed answer: ${what} "${v.slice(0, 40)}" is not a decimal`);
  if (d.coef === 0n) throw new SourceError(`malformed answer: ${what} is zero`);
  return d;
}

/** `{"data":{"amount":"60000.12","base":"BTC","currency":"USD"}}` */
export function coinbasePrice(body: unknown, currency: Currency): Decimal {
  if (!isObject(body) || !isObject(body.data)) throw new SourceError("malformed answer: no data object");
  const { amount, base, currency: cur } = body.data;
  if (base !== "BTC") throw new SourceError(`malformed answer: base is ${JSON.stringify(base)}, not "BTC"`);
  if (cur !== currency) {
    throw new SourceError(`malformed answer: currency is ${JSON.stringify(cur)}, not "${currency}"`);
  }
  return priceFromString(amount, "data.amount");
}

/** `{"error":[],"result":{"XXBTZUSD":{"c":["60000.10000","0.001"], …}}}`; c[0] is the last trade price. */
export function krakenPrice(body: unknown, currency: Currency): Decimal {
  if (!isObject(body)) throw new SourceError("malformed answer: not an object");
  if (!Array.isArray(body.error)) throw new SourceError("malformed answer: no error array");
  if (body.error.length > 0) {
    throw new SourceError(`kraken error: ${body.error.map((x) => String(x)).join("; ").slice(0, 200)}`);
  }
  if (!isObject(body.result)) throw new SourceError("malformed answer: no result object");
  const pair = KRAKEN_PAIR[currency];
  const ticker = body.result[pair];
  if (!isObject(ticker)) throw new SourceError(`malformed answer: no ${pair} ticker`);
  const c = ticker.c;
  if (!Array.isArray(c) || c.length < 1) throw new SourceError(`malformed answer: ${pair}.c is not a [price, volume] array`);
  return priceFromString(c[0], `${pair}.c[0]`);
}

/**
 * `{"time":1717000000,"USD":60000,"EUR":55000,…}` — prices are JSON numbers.
 *
 * JSON.parse would turn a price into a double and lose digits beyond ~15
 * significant ones without telling. So the structure is checked on the parsed
 * value, and the price's digits are taken from the raw body text: the literal
 * after the one top-level `"USD":` key, which must be a plain decimal (no sign,
 * no exponent) and must read back as the parsed number. Mempool sends -1 for a
 * rate it lacks; that, zero, and any exponent form are refused.
 */
export function mempoolPrice(body: unknown, raw: string, currency: Currency): { price: Decimal; at: number } {
  if (!isObject(body)) throw new SourceError("malformed answer: not an object");
  const time = body.time;
  if (typeof time !== "number" || !Number.isSafeInteger(time) || time <= 0) {
    throw new SourceError("malformed answer: time is not a positive integer of unix seconds");
  }
  const v = body[currency];
  if (typeof v !== "number") throw new SourceError(`malformed answer: ${currency} is not a number`);
  if (!Number.isFinite(v) || v <= 0) throw new SourceError(`malformed answer: ${currency} is ${String(v)}`);
  const literals = [...raw.matchAll(new RegExp(`"${currency}"\\s*:\\s*(-?[0-9][0-9.eE+-]*)`, "g"))];
  if (literals.length !== 1) {
    throw new SourceError(`malformed answer: cannot find the one ${currency} number in the body`);
  }
  const text = literals[0]![1]!;
  const d = parseDecimal(text);
  if (d === null) throw new SourceError(`malformed answer: ${currency} ${text.slice(0, 40)} is not a plain decimal`);
  if (Number(text) !== v) throw new SourceError(`malformed answer: ${currency} ${text.slice(0, 40)} is ambiguous`);
  return { price: d, at: time * 1000 };
}
