/**
 * The parsers environment variables are read with, one per kind of value, written once. Each takes
 * the variable's text (trimmed unless the variable says otherwise) and its name, for the message,
 * and never throws: a bad value is an error to list with the others at start.
 */
import type { NetworkName } from "../bitcoin/network.js";
import { parseBudget, type Budget } from "../core/budget.js";
import { parseDuration } from "../core/duration.js";
import { currencyFromName, type Currency } from "../core/money.js";
import { readPrivateKey } from "../core/privateKey.js";
import { redact } from "../core/redact.js";
import { isLogin, parseAccounts } from "../core/webhooks.js";

/** What some variables' parsers and defaults depend on: BITCOIN_NETWORK and DEFAULT_CURRENCY, read first. */
export interface EnvContext {
  network: NetworkName;
  /** BITCOIN_NETWORK=bitcoin was named (mainnet is never a default). */
  mainnet: boolean;
  currency: Currency;
}

/** A value, or what is wrong with the text (several problems for a list such as ACCOUNT_BUDGETS). */
export type EnvParsed<T> = { ok: true; value: T } | { ok: false; error: string | string[] };
export type EnvParser<T> = (text: string, name: string, ctx: EnvContext) => EnvParsed<T>;

export const ok = <T>(value: T): EnvParsed<T> => ({ ok: true, value });
export const fail = (error: string | string[]): EnvParsed<never> => ({ ok: false, error });

/** Echo a bad value to help fix it, unless it is long enough to be a misplaced secret. */
export function shown(raw: string): string {
  return raw.length <= 24 ? JSON.stringify(raw) : "the value given (not shown: too long)";
}

export const text: EnvParser<string> = (t) => ok(t);

/** "a or b", "one of a, b, c". */
const choices = (values: readonly string[]) => (values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(", ")}`);

/** A whole number within [min, max]; `what` names it in the message ("a port number"). */
export function integer(opts: { min: number; max?: number; what?: string }): EnvParser<number> {
  const { min, max = Number.MAX_SAFE_INTEGER } = opts;
  const what = opts.what ?? (opts.max === undefined ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`);
  return (t, name) => {
    const v = Number(t);
    return /^\d+$/.test(t) && Number.isSafeInteger(v) && v >= min && v <= max ? ok(v) : fail(`${name} must be ${what}, not ${shown(t)}`);
  };
}

/** A number with up to 3 decimals within [min, max] (a fee rate in sat/vB). */
export function decimal(opts: { min: number; max: number }): EnvParser<number> {
  return (t, name) => {
    const v = Number(t);
    return /^\d+(\.\d{1,3})?$/.test(t) && v >= opts.min && v <= opts.max
      ? ok(v)
      : fail(`${name} must be a number from ${opts.min} to ${opts.max} (up to 3 decimals), not ${shown(t)}`);
  };
}

const MAX_SATS = 21_000_000n * 100_000_000n;

/** A positive whole number of sats, at most all the bitcoin there will ever be. */
export const sats: EnvParser<bigint> = (t, name) =>
  /^\d+$/.test(t) && BigInt(t) > 0n && BigInt(t) <= MAX_SATS ? ok(BigInt(t)) : fail(`${name} must be a positive whole number of sats, not ${shown(t)}`);

/** A duration (`30s`, `10m`, `24h`, `7d`) in ms; `min` as [ms, its text]; with `off`, the word off is null. */
export function duration(opts: { min?: [number, string]; off: true }): EnvParser<number | null>;
export function duration(opts?: { min?: [number, string] }): EnvParser<number>;
export function duration(opts: { min?: [number, string]; off?: boolean } = {}): EnvParser<number | null> {
  return (t, name) => {
    if (opts.off && t.toLowerCase() === "off") return ok(null);
    const parsed = parseDuration(t);
    if (!parsed.ok) return fail(`${name}: ${parsed.error}`);
    if (opts.min && parsed.value < opts.min[0]) return fail(`${name} must be at least ${opts.min[1]}`);
    return parsed;
  };
}

/** One of a few words, in any case; `what` replaces the list in the message. */
export function oneOf<const W extends string>(values: readonly W[], what = choices(values)): EnvParser<W> {
  return (t, name) => {
    const w = t.toLowerCase();
    return (values as readonly string[]).includes(w) ? ok(w as W) : fail(`${name} must be ${what}, not ${shown(t)}`);
  };
}

/** An http(s) URL, without trailing slashes. */
export const httpUrl: EnvParser<string> = (t, name) =>
  /^https?:\/\/[^\s/]+/.test(t) && URL.canParse(t) ? ok(t.replace(/\/+$/, "")) : fail(`${name} must be an http(s) URL, not ${shown(t)}`);

/** An http(s) URL a suffix is appended to, kept as written. */
export function urlPrefix(example: string): EnvParser<string> {
  return (t, name) => (/^https?:\/\/\S+$/.test(t) ? ok(t) : fail(`${name} must be an http(s) URL prefix such as ${example}, not ${shown(t)}`));
}

/**
 * An http(s) URL that may carry credentials (user:password@, ?apikey=…): never echoed. Without
 * trailing slashes; `server` is it without credentials or query, to compare with known servers.
 */
export const credentialUrl: EnvParser<{ url: string; server: string }> = (t, name) => {
  const url = t.replace(/\/+$/, "");
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return fail(`${name} is not a valid URL.`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return fail(`${name} must be an http(s) URL.`);
  return ok({ url, server: `${u.protocol}//${u.host}${u.pathname}` });
};

/** A postgres:// URL, shown only with its password redacted. */
export const postgresUrl: EnvParser<string> = (t, name) => {
  if (!/^postgres(ql)?:\/\//.test(t)) return fail(`${name} must be a postgres:// or postgresql:// URL (leave it unset for the embedded database)`);
  // Usually a password with / # ? or @ in it; never shown as given.
  if (!URL.canParse(t)) return fail(`${name} ${redact(t)} is not a valid URL: percent-encode special characters in the user and password`);
  return ok(t);
};

/** One GitHub login, as written; `what` says whose. */
export function login(what: string): EnvParser<string> {
  return (t, name) => (isLogin(t.toLowerCase()) ? ok(t) : fail(`${name} must be the login of ${what}, not ${shown(t)}`));
}

/** Comma-separated GitHub logins, lower-cased, each once. */
export const logins: EnvParser<string[]> = (t, name) => {
  const list = parseAccounts(t);
  return list.length > 0 && list.every(isLogin) ? ok(list) : fail(`${name} must be comma-separated GitHub logins (e.g. kubernetes,kubernetes-sigs), not ${shown(t)}`);
};

export function currency(what: string): EnvParser<Currency> {
  return (t, name) => {
    const c = currencyFromName(t);
    return c ? ok(c) : fail(`${name} must be ${what}, not ${shown(t)}`);
  };
}

/** The GitHub App's private key, read however the environment mangled it (see readPrivateKey). */
export const privateKey: EnvParser<string> = (t, name) => {
  const key = readPrivateKey(t, name);
  return key.ok ? ok(key.pem) : fail(key.error);
};

/**
 * `<account>=<amount>/<window>,…` by lower-cased login; a bare amount is in DEFAULT_CURRENCY.
 * Every entry is checked; each bad one is its own problem.
 */
export const accountBudgets: EnvParser<ReadonlyMap<string, Budget>> = (t, name, ctx) => {
  const budgets = new Map<string, Budget>();
  const errors: string[] = [];
  for (const entry of t.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const eq = entry.indexOf("=");
    const who = eq === -1 ? "" : entry.slice(0, eq).trim().toLowerCase();
    if (!/^[a-z0-9][a-z0-9-]{0,38}$/.test(who)) {
      errors.push(`${name}: "${entry}" is not <account>=<amount>/<window>, like kubernetes=5000usd/30d`);
      continue;
    }
    const budget = parseBudget(entry.slice(eq + 1).trim(), ctx.currency);
    if (!budget.ok) errors.push(`${name}: ${who}: ${budget.error}`);
    else if (budgets.has(who)) errors.push(`${name}: ${who} is listed twice`);
    else budgets.set(who, budget.value);
  }
  return errors.length ? fail(errors) : ok(budgets);
};
