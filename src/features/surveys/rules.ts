/**
 * The rules of paid surveys, without I/O: how `/survey` reads, who may respond, and what counts
 * as a response (the answer rule of paid questions, core/answers.ts).
 */
import { threadCommentUrl } from "../../core/threads.js";
import { longEnough } from "../../core/answers.js";
import { parseAmount, type Amount, type Currency } from "../../core/money.js";
import { fiatToSats } from "../../price/convert.js";
import type { Audience, Survey } from "../../store/surveys.js";

export type ParsedSurvey =
  | { ok: true; kind: "open"; amount: Amount; first: number; audience: Audience }
  | { ok: true; kind: "close" }
  | { ok: false; error: string };

const USAGE = "Try: `/survey 5usd first 10` (members of the organisation) or `/survey 2000sats first 20 anyone`, and `/survey close`.";

/** Reads `/survey`'s arguments: `<amount> [first N] [members|anyone]` or `close`; amounts in every currency `/bounty` takes. */
export function parseSurvey(args: string, currency: Currency): ParsedSurvey {
  const words = args.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return { ok: false, error: `say what each response is paid. ${USAGE}` };
  if (words[0]!.toLowerCase() === "close") {
    return words.length === 1 ? { ok: true, kind: "close" } : { ok: false, error: "`/survey close` takes nothing more. Try: `/survey close`" };
  }
  const parsed = parseAmount(words[0]!, currency, { command: "/survey" });
  if (!parsed.ok) return { ok: false, error: parsed.error };
  let i = 1;
  let first = 1;
  if (words[i]?.toLowerCase() === "first") {
    const n = words[i + 1];
    if (n === undefined || !/^\d{1,4}$/.test(n) || Number(n) < 1) return { ok: false, error: "`first` needs a whole number of responses, e.g. `first 10`." };
    first = Number(n);
    i += 2;
  }
  let audience: Audience = "members";
  const who = words[i]?.toLowerCase();
  if (who === "members" || who === "anyone") {
    audience = who;
    i++;
  }
  if (i < words.length) return { ok: false, error: `I do not understand \`${words.slice(i).join(" ")}\`. ${USAGE}` };
  return { ok: true, kind: "open", amount: parsed.value, first, audience };
}

/** Sats for an amount: bitcoin as given, fiat at `rate` (major units per BTC, exact text), rounded half up; null without a rate. */
export function satsAt(amount: Amount, rate: string | null): bigint | null {
  if (amount.currency === "BTC") return amount.minor;
  if (rate === null) return null;
  return fiatToSats(amount.minor, amount.currency, rate);
}

export interface Commenter {
  id: number;
  login: string;
  type: string;
}

/**
 * Whether a comment may be a response, by what the database knows (before asking GitHub): an open
 * survey, a human who is not its author and not paid for it yet, a comment made after the survey
 * (comment ids grow), long enough besides its commands. A short comment does not use up a
 * person's turn: their first long-enough comment counts.
 */
export function mayRespond(
  s: Pick<Survey, "state" | "author" | "surveyCommentId" | "minReplyChars">,
  c: { id: number; author: Commenter; body: string | null },
  paid: { responderIds: readonly number[]; commentIds: readonly number[] },
): boolean {
  if (s.state !== "open") return false;
  if (c.author.type !== "User" || c.author.id === s.author.id) return false;
  if (c.id <= s.surveyCommentId) return false;
  if (paid.responderIds.includes(c.author.id) || paid.commentIds.includes(c.id)) return false;
  return longEnough(c.body, s.minReplyChars);
}

/** What GitHub says of a commenter, read when the response comes: org membership (members surveys), the account's creation (anyone). */
export interface Standing {
  member: boolean | null;
  createdAt: Date | null;
}

/**
 * Whether the commenter is in the survey's audience: `members` — a member of the repository's
 * organisation; `anyone` — an account at least `surveys.min_account_age` old at the response.
 * Unknown (null) is not eligible: it fails closed.
 */
export function inAudience(s: Pick<Survey, "audience" | "minAccountAgeMs">, who: Standing, at: Date): boolean {
  if (s.audience === "members") return who.member === true;
  return who.createdAt !== null && at.getTime() - who.createdAt.getTime() >= s.minAccountAgeMs;
}

/** A link to a comment of the issue. */
export const commentUrl = (s: Pick<Survey, "owner" | "repo" | "issueNumber" | "discussionId">, commentId: number): string =>
  threadCommentUrl(s, s, commentId);
