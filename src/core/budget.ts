/**
 * Budgets: how much one funder (config `funders.budget`) or one account (ACCOUNT_BUDGETS) may have
 * pledged within a rolling window, e.g. `500usd/30d`. Pure: no I/O; the sums come from the store.
 *
 * A pledge counts at its value when it was made ("priced at pledge time"): the store keeps that
 * value on the pledge row, so later price moves change nothing already counted.
 */

import { formatDuration, parseDuration } from "./duration.js";
import { SATS_PER_BTC, formatAmount, formatAmountInput, parseAmount, type Amount, type Currency, type Parsed } from "./money.js";

export interface Budget {
  /** The most that may be pledged within any window. */
  limit: Amount;
  windowMs: number;
}

/** Fiat per BTC at pledge time, as exact decimal text ("60000.12"), per currency. */
export type Rates = Partial<Record<Exclude<Currency, "BTC">, string>>;

/** `500usd/30d`; a bare number is in `defaultCurrency`. */
export function parseBudget(text: string, defaultCurrency: Currency): Parsed<Budget> {
  const slash = text.indexOf("/");
  if (slash === -1) {
    return { ok: false, error: `"${text}" is not a budget: write an amount and a window, like "500usd/30d"` };
  }
  const amount = parseAmount(text.slice(0, slash).trim(), defaultCurrency);
  if (!amount.ok) return { ok: false, error: `"${text}" is not a budget: ${amount.error}` };
  if (amount.value.minor <= 0n) return { ok: false, error: `"${text}" is not a budget: the amount must be more than zero` };
  const window = parseDuration(text.slice(slash + 1).trim());
  if (!window.ok) return { ok: false, error: `"${text}" is not a budget: ${window.error}` };
  if (window.value <= 0) return { ok: false, error: `"${text}" is not a budget: the window must be longer than 0s` };
  return { ok: true, value: { limit: amount.value, windowMs: window.value } };
}

/** `$500 per 30d`, for replies. */
export function formatBudget(b: Budget): string {
  return `${formatAmount(b.limit)} per ${formatDuration(b.windowMs)}`;
}

/** `500usd/30d`, as it is written in config and the environment. */
export function formatBudgetInput(b: Budget): string {
  return `${formatAmountInput(b.limit)}/${formatDuration(b.windowMs)}`;
}

/**
 * Whether `inner` can never allow more than `outer`: the same currency, no larger amount, and a
 * window at least as long (any `outer` window then holds at most one `inner` window's worth).
 */
export function budgetWithin(inner: Budget, outer: Budget): boolean {
  return inner.limit.currency === outer.limit.currency && inner.limit.minor <= outer.limit.minor && inner.windowMs >= outer.windowMs;
}

/** When the window that ends at `now` began: pledges made at or after this count. */
export function windowStart(now: Date, b: Budget): Date {
  return new Date(now.getTime() - b.windowMs);
}

/** The fiat currencies whose price converting `from` into `to` needs (none when they are the same). */
export function ratesNeeded(from: Currency, to: Currency): Array<Exclude<Currency, "BTC">> {
  if (from === to) return [];
  return [from, to].filter((c): c is Exclude<Currency, "BTC"> => c !== "BTC");
}

const ceilDiv = (num: bigint, den: bigint): bigint => (num + den - 1n) / den;

/** A decimal text rate as a fraction num/den (major units per BTC). */
function rateFraction(text: string): { num: bigint; den: bigint } {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new RangeError(`rate "${text}" is not a positive decimal`);
  const frac = m[2] ?? "";
  const num = BigInt(m[1]! + frac);
  if (num <= 0n) throw new RangeError(`rate "${text}" is not a positive decimal`);
  return { num, den: 10n ** BigInt(frac.length) };
}

/**
 * What `amount` is worth in `to` at `rates`, rounded up (a budget counts a fraction of a cent
 * or a sat as a whole one). Null when a rate it needs is missing.
 * Fiat minor units have 2 decimals: minor_to = minor_from × rate_to / rate_from, and
 * sats = minor × 10^6 / rate (10^8 sats per BTC over 10^2 cents per unit).
 */
export function valueIn(amount: Amount, to: Currency, rates: Rates): bigint | null {
  if (amount.currency === to) return amount.minor;
  const rate = (c: Currency) => (c === "BTC" ? undefined : rates[c]);
  const centsPerUnit = 100n;
  if (amount.currency === "BTC") {
    const r = rate(to);
    if (r === undefined) return null;
    const { num, den } = rateFraction(r);
    return ceilDiv(amount.minor * num * centsPerUnit, den * SATS_PER_BTC);
  }
  const from = rate(amount.currency);
  if (from === undefined) return null;
  const f = rateFraction(from);
  if (to === "BTC") return ceilDiv(amount.minor * SATS_PER_BTC * f.den, f.num * centsPerUnit);
  const t = rate(to);
  if (t === undefined) return null;
  const g = rateFraction(t);
  return ceilDiv(amount.minor * g.num * f.den, g.den * f.num);
}

/** One pledge already counted in a window: what it was worth then, per currency. */
export interface CountedPledge {
  amount: Amount;
  /** Its value in other currencies at pledge time, minor units (from the pledge row). */
  counted: Partial<Record<Currency, bigint>>;
}

/** A pledge's value in `currency` at pledge time: its own amount, its stored value, else at `fallback` rates; null when unknown. */
export function countedValue(p: CountedPledge, currency: Currency, fallback: Rates): bigint | null {
  if (p.amount.currency === currency) return p.amount.minor;
  return p.counted[currency] ?? valueIn(p.amount, currency, fallback);
}

export type BudgetCheck =
  | { ok: true }
  | {
      ok: false;
      /** Already pledged in the window, in the budget's currency. */
      spent: Amount;
      /** What may still be pledged (never negative). */
      left: Amount;
      /** The new pledge's value in the budget's currency. */
      value: Amount;
    };

/**
 * May a pledge worth `value` (in the budget's currency) be added to `spent`? A replacement that
 * does not raise the pledge (`replacing` at least `value`) always may: lowering a pledge never
 * needs budget.
 */
export function checkBudget(b: Budget, spent: bigint, value: bigint, replacing: bigint | null = null): BudgetCheck {
  if (replacing !== null && value <= replacing) return { ok: true };
  if (spent + value <= b.limit.minor) return { ok: true };
  const left = b.limit.minor - spent;
  const c = b.limit.currency;
  return { ok: false, spent: { currency: c, minor: spent }, left: { currency: c, minor: left > 0n ? left : 0n }, value: { currency: c, minor: value } };
}

/** Which budget a pledge would exceed, and by how much. */
export interface BudgetOver {
  kind: "funder" | "account";
  budget: Budget;
  spent: Amount;
  left: Amount;
  value: Amount;
}

/**
 * The reply to a pledge over budget. `whose` names the funder ("your") or the account
 * ("kubernetes's"); `command` (e.g. "/bounty") is offered with what is left when the pledge is in
 * the budget's currency.
 */
export function overBudgetMessage(over: BudgetOver, whose: string, pledged: Amount, command?: string): string {
  const name = over.kind === "funder" ? "funder budget" : "account budget";
  const source = over.kind === "funder" ? "`funders.budget`" : "ACCOUNT_BUDGETS";
  const worth = pledged.currency === over.value.currency ? "" : ` (worth ${formatAmount(over.value)} now)`;
  const retry = command !== undefined && pledged.currency === over.left.currency ? `: try \`${command} ${formatAmountInput(over.left)}\`` : "";
  const left =
    over.left.minor > 0n
      ? `only ${formatAmount(over.left)} is left${retry}`
      : `nothing is left until some of those pledges are older than ${formatDuration(over.budget.windowMs)}`;
  return (
    `${formatAmount(pledged)}${worth} would go over ${whose} ${name} of ${formatBudget(over.budget)} (${source}): ` +
    `${formatAmount(over.spent)} is already pledged in that window, so ${left}. I recorded nothing.`
  );
}
