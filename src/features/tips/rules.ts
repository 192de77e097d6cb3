/**
 * Tips without I/O: reading `/tip @user <amount> [reason]` and `/tip cancel @user`, who may be
 * tipped, what a funder has tipped today against `tips.max_per_day`, and what the replies say.
 */
import { LOGIN_RE } from "../../claims/award.js";
import { checkBudget, countedValue, ratesNeeded, valueIn, type BudgetCheck, type Rates } from "../../core/budget.js";
import { formatDuration } from "../../core/duration.js";
import { currencyFromName, formatAmount, formatAmountInput, parseAmount, type Amount, type Currency } from "../../core/money.js";
import type { GitHubUser } from "../../github/client.js";
import { formatUtc } from "../../github/card.js";

/** A reason longer than this is cut: it is shown in a reply and kept in the audit log, not a message channel. */
export const MAX_REASON_CHARS = 200;

export const DAY_MS = 86_400_000;

export type TipArgs =
  | { kind: "help" }
  | { kind: "tip"; login: string; amount: Amount; reason: string | null }
  | { kind: "cancel"; login: string }
  | { kind: "invalid"; reply: string };

const USAGE = "Try: `/tip @alice 5usd thanks for the review` or `/tip cancel @alice`";

function loginOf(token: string | undefined): string | null {
  if (!token?.startsWith("@")) return null;
  const login = token.slice(1);
  return LOGIN_RE.test(login) ? login : null;
}

/** What the words after `/tip` ask for; a bare number is in `currency`. */
export function parseTip(args: string, currency: Currency): TipArgs {
  const words = args.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 1 && words[0]!.toLowerCase() === "help") return { kind: "help" };
  if (words.length === 0) return { kind: "invalid", reply: `name who to tip and how much. ${USAGE}` };
  if (words[0]!.toLowerCase() === "cancel") {
    const login = loginOf(words[1]);
    if (!login || words.length > 2) return { kind: "invalid", reply: `name the one person whose tip from you to take back. Try: \`/tip cancel @alice\`` };
    return { kind: "cancel", login };
  }
  if (words[0]!.includes("/")) return { kind: "invalid", reply: `tips go to one person, not to a team. ${USAGE}` };
  const login = loginOf(words[0]);
  if (!login) return { kind: "invalid", reply: `"${words[0]}" is not a GitHub user to tip: write \`@\` and their login first. ${USAGE}` };
  if (words.length < 2) return { kind: "invalid", reply: `say how much to tip @${login}. Try: \`/tip @${login} 5${currency === "BTC" ? "000sats" : currency.toLowerCase()}\`` };
  // "5 usd": a number, then its unit as a word of its own.
  let used = 2;
  let text = words[1]!;
  if (/^[0-9][0-9.,]*$/.test(text) && words[2] !== undefined && currencyFromName(words[2]) !== undefined) {
    text = `${text} ${words[2]}`;
    used = 3;
  }
  const amount = parseAmount(text, currency, { command: `/tip @${login}` });
  if (!amount.ok) return { kind: "invalid", reply: amount.error };
  const rest = words.slice(used).join(" ");
  const reason = rest === "" ? null : rest.length > MAX_REASON_CHARS ? `${rest.slice(0, MAX_REASON_CHARS - 1)}…` : rest;
  return { kind: "tip", login, amount: amount.value, reason };
}

/** Why `user` (the account `login` names, or null when GitHub has none) cannot be tipped by `author`; null when they can. */
export function whyNotTipped(author: { id: number; login: string }, login: string, user: GitHubUser | null): string | null {
  if (!user) return `@${login} is not a GitHub account, so I tipped nothing. Check the spelling of the name.`;
  // By numeric id: another case of one's login, or a login renamed since, is still oneself.
  if (user.id === author.id) return "you cannot tip yourself, so I tipped nothing.";
  if (user.type !== "User") return `@${user.login} is not a person's account (${user.type}), so I tipped nothing: tips go to people.`;
  return null;
}

/** When the UTC day of `now` began: `tips.max_per_day` counts a funder's tips since then. */
export function utcDayStart(now: Date): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
}

/** A funder's tip already charged today: its amount and its value in budget currencies when it was made. */
export interface TodaysTip {
  amount: Amount;
  counted: Record<string, string>;
}

export type DayCheck = { ok: true } | { ok: false; missing: Currency } | (BudgetCheck & { ok: false });

/** The first price converting `from` into `to` needs that `rates` lacks. */
const missingRate = (from: Currency, to: Currency, rates: Rates): Currency => ratesNeeded(from, to).find((c) => rates[c] === undefined) ?? to;

/**
 * May a tip of `amount` be added to what the funder tipped today? Each earlier tip counts at its
 * value when it was made where that was recorded (its own currency, or a budget's), else at
 * today's `rates`; a value that cannot be known refuses (fail closed) with the currency missing.
 */
export function checkDay(cap: Amount, today: readonly TodaysTip[], amount: Amount, rates: Rates): DayCheck {
  let spent = 0n;
  for (const t of today) {
    const counted = Object.fromEntries(Object.entries(t.counted).map(([c, v]) => [c, BigInt(v)]));
    const v = countedValue({ amount: t.amount, counted }, cap.currency, rates);
    if (v === null) return { ok: false, missing: missingRate(t.amount.currency, cap.currency, rates) };
    spent += v;
  }
  const value = valueIn(amount, cap.currency, rates);
  if (value === null) return { ok: false, missing: missingRate(amount.currency, cap.currency, rates) };
  return checkBudget({ limit: cap, windowMs: DAY_MS }, spent, value);
}

/** The currencies whose price a funder's tip of `amount` needs: its sats, and its value in `tips.max_per_day`'s currency. */
export function ratesForTip(amount: Amount, cap: Amount | null): Array<Exclude<Currency, "BTC">> {
  const need = new Set<Exclude<Currency, "BTC">>();
  if (amount.currency !== "BTC") need.add(amount.currency);
  if (cap && cap.currency !== amount.currency && cap.currency !== "BTC") need.add(cap.currency);
  return [...need];
}

const sats = (n: bigint) => formatAmount({ currency: "BTC", minor: n });

/** The amount as tipped, and its sats when it was in fiat. */
export function describeTip(t: { amount: Amount; sats: bigint; rate: string | null }): string {
  return t.amount.currency === "BTC" ? formatAmount(t.amount) : `${formatAmount(t.amount)} (${sats(t.sats)} at ${t.rate} ${t.amount.currency}/BTC)`;
}

/** The reply to a tip made: it mentions the recipient, says where it came from and when it becomes payable. */
export function tippedReply(t: {
  recipientLogin: string;
  amount: Amount;
  sats: bigint;
  rate: string | null;
  payer: "treasury" | "person";
  reason: string | null;
  payableAt: Date;
}): string {
  const from = t.payer === "treasury" ? "from the treasury" : "from your balance";
  const why = t.reason ? ` for “${t.reason}”` : "";
  return (
    `tipped @${t.recipientLogin} ${describeTip(t)} ${from}${why}. It is pending until ${formatUtc(t.payableAt)}, then ` +
    `@${t.recipientLogin} is paid it with their other earnings; until then \`/tip cancel @${t.recipientLogin}\` takes it back.`
  );
}

/** Over `tips.max_per_day`: what is tipped today and what is left. */
export function overDayReply(over: BudgetCheck & { ok: false }, cap: Amount, amount: Amount, recipientLogin: string): string {
  const worth = amount.currency === over.value.currency ? "" : ` (worth ${formatAmount(over.value)} now)`;
  const retry = amount.currency === cap.currency && over.left.minor > 0n ? `: try \`/tip @${recipientLogin} ${formatAmountInput(over.left)}\`` : "";
  const left = over.left.minor > 0n ? `only ${formatAmount(over.left)} is left today${retry}` : "nothing is left until tomorrow (UTC)";
  return (
    `${formatAmount(amount)}${worth} would go over \`tips.max_per_day\` of ${formatAmount(cap)} per funder: you have tipped ` +
    `${formatAmount(over.spent)} from the treasury today (UTC), so ${left}. I tipped nothing.`
  );
}

/** No price for a currency a tip needs: refused now, nothing recorded. */
export function noPriceReply(currency: Currency, why: string): string {
  return `this tip has to be valued in ${currency}, and ${why}, so I tipped nothing. Please try again later.`;
}

/** The reply to a person without enough to tip with. */
export function notEnoughReply(recipientLogin: string, t: { amount: Amount; sats: bigint; rate: string | null }, missing: string): string {
  return `to tip @${recipientLogin} ${describeTip(t)} ${missing}`;
}

export function cancelledReply(t: { recipientLogin: string; amount: Amount; sats: bigint; rate: string | null; payer: "treasury" | "person" }): string {
  const back = t.payer === "treasury" ? "back with the treasury, and no longer counted against your budgets" : "back in your balance";
  return `took back your tip of ${describeTip(t)} to @${t.recipientLogin}: it is ${back}.`;
}

export function nothingToCancelReply(login: string): string {
  return `you have no tip to @${login} on this issue to take back.`;
}

export function pastHoldReply(t: { recipientLogin: string; amount: Amount; sats: bigint; rate: string | null; payableAt: Date }, holdMs: number): string {
  return (
    `your tip of ${describeTip(t)} to @${t.recipientLogin} became payable at ${formatUtc(t.payableAt)}, after its ` +
    `${formatDuration(holdMs)} hold, so it can no longer be taken back.`
  );
}

/** For the budget refusal's wording: a funder's own budget is "your", the account's is the owner's. */
export const whoseBudget = (kind: "funder" | "account", owner: string) => (kind === "funder" ? "your" : `${owner}'s`);
