/**
 * The rules of paid questions, without I/O: how `/ask` reads, who may be asked and for how much,
 * who may answer, and what counts as an answer.
 */
import { threadCommentUrl } from "../../core/threads.js";
import { longEnough } from "../../core/answers.js";
import { isLogin } from "../../core/webhooks.js";
import { formatAmount, formatAmountInput, parseAmount, type Amount, type Currency } from "../../core/money.js";
import { fiatToSats } from "../../price/convert.js";
import type { Member, Question } from "../../store/questions.js";

export type AskTarget =
  | { kind: "person"; login: string }
  | { kind: "team"; org: string; slug: string }
  | { kind: "list"; name: string };

export type ParsedAsk =
  | { ok: true; kind: "ask"; target: AskTarget; amount: Amount | null; first: number | null; about: string }
  | { ok: true; kind: "cancel"; target: AskTarget | null }
  | { ok: false; error: string };

const USAGE = "Try: `/ask @login [amount] [what about]`, `/ask @org/team <amount> [first N]` or `/ask list:<name> <amount> [first N]`.";
const SLUG = /^[a-z\d][a-z\d_.-]{0,99}$/i;
const LIST = /^[a-z\d][a-z\d_.-]{0,99}$/i;

/** `@login`, `@org/team` or `list:<name>`, as written after `/ask`. */
export function parseTarget(word: string): AskTarget | null {
  const list = /^list:(.+)$/i.exec(word);
  if (list) return LIST.test(list[1]!) ? { kind: "list", name: list[1]!.toLowerCase() } : null;
  if (!word.startsWith("@")) return null;
  const [a = "", b, ...more] = word.slice(1).split("/");
  if (more.length) return null;
  if (b === undefined) return isLogin(a) ? { kind: "person", login: a } : null;
  return isLogin(a) && SLUG.test(b) ? { kind: "team", org: a, slug: b.toLowerCase() } : null;
}

export function targetLabel(t: AskTarget): string {
  return t.kind === "person" ? `@${t.login}` : t.kind === "team" ? `@${t.org}/${t.slug}` : `list:${t.name}`;
}

/** What the question row stores as its target: the login, `org/team` or the list's name. */
export function targetKey(t: AskTarget): string {
  return t.kind === "person" ? t.login.toLowerCase() : t.kind === "team" ? `${t.org}/${t.slug}`.toLowerCase() : t.name;
}

/** Reads `/ask`'s arguments; amounts in every currency `/bounty` takes (a bare number in `currency`). */
export function parseAsk(args: string, currency: Currency): ParsedAsk {
  const words = args.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return { ok: false, error: `say whom to ask. ${USAGE}` };
  if (words[0]!.toLowerCase() === "cancel") {
    if (words.length === 1) return { ok: true, kind: "cancel", target: null };
    const target = words.length === 2 ? parseTarget(words[1]!) : null;
    if (!target) return { ok: false, error: "`/ask cancel` takes at most whom you asked. Try: `/ask cancel` or `/ask cancel @login`" };
    return { ok: true, kind: "cancel", target };
  }
  const target = parseTarget(words[0]!);
  if (!target) return { ok: false, error: `\`${words[0]}\` is not a GitHub login, team or list. ${USAGE}` };
  let i = 1;
  let amount: Amount | null = null;
  const next = words[i];
  // An amount starts with a digit or a currency sign; anything else begins the topic.
  if (next !== undefined && /^[\d$€£.]/.test(next)) {
    const parsed = parseAmount(next, currency, { command: `/ask ${words[0]}` });
    if (!parsed.ok) return { ok: false, error: parsed.error };
    amount = parsed.value;
    i++;
  }
  let first: number | null = null;
  if (words[i]?.toLowerCase() === "first") {
    const n = words[i + 1];
    if (n === undefined || !/^\d{1,4}$/.test(n) || Number(n) < 1) return { ok: false, error: "`first` needs a whole number of answers, e.g. `first 3`." };
    first = Number(n);
    i += 2;
  }
  const about = words.slice(i).join(" ");
  if (target.kind === "person" && first !== null) {
    return { ok: false, error: "`first N` is for teams and lists; a person answers once. Try: `/ask @org/team <amount> first 3`" };
  }
  if (target.kind !== "person" && amount === null) {
    return { ok: false, error: `a team or list question needs the amount each answer is paid. Try: \`/ask ${targetLabel(target)} 5usd first 3\`` };
  }
  return { ok: true, kind: "ask", target, amount, first, about };
}

export type PriceCheck = { ok: true; amount: Amount } | { ok: false; reply: string };

/**
 * What an ask to a person pays: their price when no amount is given (none: refused), the amount
 * given otherwise, which must be at least their price. Both in sats when their currencies differ
 * (`sats` prices each at today's median; null when there is no agreeing price: refused).
 */
export function askAmount(
  login: string,
  price: Amount | null,
  given: Amount | null,
  sats: (a: Amount) => bigint | null,
): PriceCheck {
  if (given === null) {
    if (price === null) {
      return { ok: false, reply: `@${login} takes no paid questions (\`/price off\`); give an amount to ask anyway. Try: \`/ask @${login} 5usd\`` };
    }
    return { ok: true, amount: price };
  }
  if (price === null) return { ok: true, amount: given };
  let under: boolean;
  if (price.currency === given.currency) under = given.minor < price.minor;
  else {
    const [p, g] = [sats(price), sats(given)];
    if (p === null || g === null) return { ok: false, reply: "there is no agreeing BTC price right now to compare that amount with their price, so I recorded nothing. Please try again later." };
    under = g < p;
  }
  if (under) {
    return { ok: false, reply: `@${login} charges ${formatAmount(price)} to answer; ${formatAmount(given)} is less. Try: \`/ask @${login} ${formatAmountInput(price)}\`` };
  }
  return { ok: true, amount: given };
}

/** Sats for an amount: bitcoin as given, fiat at `rate` (major units per BTC, exact text), rounded half up. */
export function satsAt(amount: Amount, rate: string | null): bigint | null {
  if (amount.currency === "BTC") return amount.minor;
  if (rate === null) return null;
  return fiatToSats(amount.minor, amount.currency, rate);
}

// The answer rule is shared with survey responses (core/answers.ts).
export { answerText, longEnough } from "../../core/answers.js";

export interface Commenter {
  id: number;
  login: string;
  type: string;
}

/** Whether a member of a team or list is this commenter: by id when the member's is known, else by login. */
export const isMember = (m: Member, c: Pick<Commenter, "id" | "login">): boolean =>
  m.id !== null ? m.id === c.id : m.login.toLowerCase() === c.login.toLowerCase();

/**
 * Whether a comment answers a question: an open question, a human who is the person asked (or a
 * member of the team or list, not yet paid for it), never the asker, a comment made after the
 * ask (comment ids grow), and long enough besides its commands.
 */
export function answers(
  q: Pick<Question, "state" | "targetKind" | "askedId" | "members" | "asker" | "askCommentId" | "minReplyChars">,
  c: { id: number; author: Commenter; body: string | null },
  answeredBy: readonly number[],
): boolean {
  if (q.state !== "open") return false;
  if (c.author.type === "Bot" || c.author.id === q.asker.id) return false;
  if (c.id <= q.askCommentId) return false;
  if (answeredBy.includes(c.author.id)) return false;
  const eligible = q.targetKind === "person" ? q.askedId === c.author.id : q.members.some((m) => isMember(m, c.author));
  return eligible && longEnough(c.body, q.minReplyChars);
}

/** A link to a comment of the issue (GitHub redirects /issues/ to /pull/ for pull requests) or of the Discussion. */
export const commentUrl = (q: Pick<Question, "owner" | "repo" | "issueNumber" | "discussionId">, commentId: number): string =>
  threadCommentUrl(q, q, commentId);
