import { redact } from "../core/redact.js";
import { type Decimal, compareDecimal, parseDecimal, percentText } from "./decimal.js";

/** Fiat currencies a bounty can be pledged in. */
export type Currency = "USD" | "EUR" | "GBP";
export const CURRENCIES: readonly Currency[] = ["USD", "EUR", "GBP"];

/** Minor units per major unit (cents per dollar, pence per pound). */
export const MINOR_DIGITS: Readonly<Record<Currency, number>> = { USD: 2, EUR: 2, GBP: 2 };

export function isCurrency(s: string): s is Currency {
  return (CURRENCIES as readonly string[]).includes(s);
}

/**
 * One configured price source. `id` is how it is named in results, logs and
 * refusal messages ("coinbase", "kraken", "mempool:https://mempool.space", "fixed").
 */
export type PriceSource =
  | { readonly kind: "coinbase"; readonly id: "coinbase" }
  | { readonly kind: "kraken"; readonly id: "kraken" }
  | { readonly kind: "mempool"; readonly id: string; readonly baseUrl: string }
  | {
      readonly kind: "fixed";
      readonly id: "fixed";
      /** Major units per BTC, e.g. USD → 60000. */
      readonly prices: Readonly<Partial<Record<Currency, Decimal>>>;
    };

export const DEFAULT_PRICE_SOURCES = "coinbase,kraken,mempool:https://mempool.space";
export const DEFAULT_MAX_SPREAD = "2%";

/**
 * Parses PRICE_SOURCES. `undefined` means the default
 * (coinbase,kraken,mempool:https://mempool.space). A set-but-blank value is an
 * error rather than the default, so a typo'd deployment does not silently
 * change sources; unset the variable to get the default.
 */
export function parsePriceSources(
  text: string | undefined,
): { ok: true; sources: PriceSource[] } | { ok: false; error: string } {
  const r = parseSources(text);
  // Errors quote what was written, which may hold a password or token: never echo those.
  return r.ok ? r : { ok: false, error: redact(r.error) };
}

function parseSources(text: string | undefined): { ok: true; sources: PriceSource[] } | { ok: false; error: string } {
  const raw = text ?? DEFAULT_PRICE_SOURCES;
  if (raw.trim() === "") {
    return {
      ok: false,
      error: `PRICE_SOURCES is empty; unset it for the default "${DEFAULT_PRICE_SOURCES}" or list sources`,
    };
  }
  const sources: PriceSource[] = [];
  const seen = new Set<string>();
  for (const part of raw.split(",")) {
    const item = part.trim();
    if (item === "") {
      return { ok: false, error: `PRICE_SOURCES "${raw}" has an empty entry` };
    }
    const parsed = parseOne(item);
    if (!parsed.ok) return { ok: false, error: `PRICE_SOURCES: ${parsed.error}` };
    const key = parsed.source.id.toLowerCase();
    if (seen.has(key)) {
      // Counting one source twice would let it outvote the others in the median.
      return { ok: false, error: `PRICE_SOURCES: "${parsed.source.id}" is listed twice` };
    }
    seen.add(key);
    sources.push(parsed.source);
  }
  return { ok: true, sources };
}

function parseOne(item: string): { ok: true; source: PriceSource } | { ok: false; error: string } {
  const colon = item.indexOf(":");
  const kind = (colon < 0 ? item : item.slice(0, colon)).trim().toLowerCase();
  const arg = colon < 0 ? undefined : item.slice(colon + 1).trim();
  switch (kind) {
    case "coinbase":
      if (arg !== undefined) return { ok: false, error: `"${item}": coinbase takes no argument` };
      return { ok: true, source: { kind: "coinbase", id: "coinbase" } };
    case "kraken":
      if (arg !== undefined) return { ok: false, error: `"${item}": kraken takes no argument` };
      return { ok: true, source: { kind: "kraken", id: "kraken" } };
    case "mempool": {
      if (arg === undefined || arg === "") {
        return { ok: false, error: `"${item}": mempool needs a base URL, e.g. mempool:https://mempool.space` };
      }
      const base = parseBaseUrl(arg);
      if (!base.ok) return { ok: false, error: `"${item}": ${base.error}` };
      return { ok: true, source: { kind: "mempool", id: `mempool:${base.url}`, baseUrl: base.url } };
    }
    case "fixed": {
      if (arg === undefined || arg === "") {
        return { ok: false, error: `"${item}": fixed needs prices, e.g. fixed:USD=60000;EUR=55000;GBP=48000` };
      }
      const prices = parseFixed(arg);
      if (!prices.ok) return { ok: false, error: `"${item}": ${prices.error}` };
      return { ok: true, source: { kind: "fixed", id: "fixed", prices: prices.prices } };
    }
    default:
      return {
        ok: false,
        error: `unknown price source "${item}"; known kinds are coinbase, kraken, mempool:<base-url>, fixed:USD=…;EUR=…;GBP=…`,
      };
  }
}

function parseBaseUrl(text: string): { ok: true; url: string } | { ok: false; error: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return { ok: false, error: `"${text}" is not a valid URL` };
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    return { ok: false, error: `URL "${text}" must use http or https` };
  }
  if (u.search !== "" || u.hash !== "") {
    return { ok: false, error: `URL "${text}" must not have a query or fragment` };
  }
  if (u.username !== "" || u.password !== "") {
    return { ok: false, error: `URL "${text}" must not contain credentials` };
  }
  // The href always has a path of at least "/"; /api/v1/prices is appended to it.
  const href = u.href.replace(/\/+$/, "");
  return { ok: true, url: href };
}

function parseFixed(
  spec: string,
): { ok: true; prices: Partial<Record<Currency, Decimal>> } | { ok: false; error: string } {
  const prices: Partial<Record<Currency, Decimal>> = {};
  for (const part of spec.split(";")) {
    const entry = part.trim();
    if (entry === "") return { ok: false, error: `fixed spec "${spec}" has an empty entry` };
    const eq = entry.indexOf("=");
    if (eq < 0) return { ok: false, error: `fixed entry "${entry}" is not CUR=price` };
    const cur = entry.slice(0, eq).trim().toUpperCase();
    const value = entry.slice(eq + 1).trim();
    if (!isCurrency(cur)) {
      return { ok: false, error: `fixed entry "${entry}": unknown currency "${cur}" (use ${CURRENCIES.join(", ")})` };
    }
    if (prices[cur] !== undefined) return { ok: false, error: `fixed spec gives ${cur} twice` };
    const d = parseDecimal(value);
    if (d === null || d.coef === 0n) {
      return { ok: false, error: `fixed entry "${entry}": "${value}" is not a positive decimal price` };
    }
    prices[cur] = d;
  }
  return { ok: true, prices };
}

/**
 * Parses PRICE_MAX_SPREAD: "2%" or "0.02" (a fraction). A bare number ≥ 1
 * without "%" is rejected as ambiguous ("2" could mean 2% or 200%).
 * Accepted range 0%–50%. Returns the spread as an exact fraction.
 */
export function parseMaxSpread(
  text: string | undefined,
): { ok: true; maxSpread: Decimal } | { ok: false; error: string } {
  const raw = (text ?? DEFAULT_MAX_SPREAD).trim();
  const pct = raw.endsWith("%");
  const num = pct ? raw.slice(0, -1).trim() : raw;
  const d = parseDecimal(num);
  if (d === null) {
    return { ok: false, error: `PRICE_MAX_SPREAD "${text}" is not a percentage like "2%" or a fraction like "0.02"` };
  }
  const frac: Decimal = pct ? { coef: d.coef, scale: d.scale + 2 } : d;
  if (!pct && compareDecimal(d, { coef: 1n, scale: 0 }) >= 0) {
    return {
      ok: false,
      error: `PRICE_MAX_SPREAD "${text}" is ambiguous; write it as a percentage ("${raw}%") or a fraction ("0.02")`,
    };
  }
  if (compareDecimal(frac, { coef: 5n, scale: 1 }) > 0) {
    return { ok: false, error: `PRICE_MAX_SPREAD "${text}" is ${percentText(frac, ONE, 4)}%; it must be between 0% and 50%` };
  }
  return { ok: true, maxSpread: frac };
}

const ONE: Decimal = { coef: 1n, scale: 0 };

/** "0.025" → "2.5%". */
export function spreadText(frac: Decimal): string {
  return `${percentText(frac, ONE, 4)}%`;
}
