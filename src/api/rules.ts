/**
 * The rewards API's rules, without I/O: what a request body must hold, what makes two requests
 * "the same" for an Idempotency-Key, which repositories a token may reward for, the token's
 * periods, and a reward's status from the payout that paid it. The routes (api/rewards.ts) and
 * the SQL (store/tokens.ts, store/rewards.ts) apply them.
 */
import { createHash } from "node:crypto";
import { parseAmount, type Amount, type Currency } from "../core/money.js";

/** GitHub's login rules: letters, digits and single hyphens, at most 39 characters. */
export const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPO_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export const MAX_REASON_CHARS = 1000;
export const MAX_URL_CHARS = 2000;
/** The IETF draft leaves the length open; Stripe takes 255. */
export const MAX_KEY_CHARS = 255;
/** Rewards per page of GET /api/v1/rewards. */
export const PAGE_SIZE = 50;

export type Recipient = { login: string } | { id: number };

export interface RewardRequest {
  recipient: Recipient;
  amount: Amount;
  reason: string;
  url: string | null;
  /** `owner/repo#N`: where the bot says so, mentioning the recipient. */
  notify: { owner: string; repo: string; number: number } | null;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; detail: string };

const fail = (detail: string): { ok: false; detail: string } => ({ ok: false, detail });

/** `owner/repo#123`. */
export function parseNotify(text: string): RewardRequest["notify"] {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9_.-]{1,100})#([1-9]\d{0,9})$/.exec(text);
  if (!m || !LOGIN.test(m[1]!) || Number(m[3]) > 2_147_483_647) return null;
  return { owner: m[1]!, repo: m[2]!, number: Number(m[3]) };
}

/** Checks a POST /api/v1/rewards body (already JSON-parsed); the detail says what is wrong, in one sentence. */
export function checkRewardBody(body: unknown, defaultCurrency: Currency): Checked<RewardRequest> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return fail("the body must be a JSON object");
  const b = body as Record<string, unknown>;
  const known = new Set(["recipient", "amount", "reason", "url", "notify"]);
  const extra = Object.keys(b).filter((k) => !known.has(k));
  if (extra.length) return fail(`unknown field ${JSON.stringify(extra[0])}: the fields are recipient, amount, reason, url and notify`);

  let recipient: Recipient;
  const r = b.recipient;
  if (typeof r === "string") {
    const login = r.startsWith("@") ? r.slice(1) : r;
    if (!LOGIN.test(login)) return fail(`recipient ${JSON.stringify(r.slice(0, 60))} is not a GitHub login`);
    recipient = { login };
  } else if (typeof r === "object" && r !== null && !Array.isArray(r)) {
    const keys = Object.keys(r);
    const id = (r as Record<string, unknown>).id;
    if (keys.length !== 1 || typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0) {
      return fail('recipient must be a GitHub login or { "id": <numeric GitHub user id> }');
    }
    recipient = { id };
  } else {
    return fail('recipient is required: a GitHub login or { "id": <numeric GitHub user id> }');
  }

  if (typeof b.amount !== "string") return fail('amount is required, as text: "500sats", "1usd", "0.0001btc"');
  const amount = parseAmount(b.amount, defaultCurrency, { command: "amount" });
  if (!amount.ok) return fail(`amount: ${amount.error}`);
  if (amount.value.minor <= 0n) return fail("amount must be more than zero");

  if (typeof b.reason !== "string" || b.reason.trim() === "") return fail("reason is required: say what the reward is for");
  if (b.reason.length > MAX_REASON_CHARS) return fail(`reason is longer than ${MAX_REASON_CHARS} characters`);

  let url: string | null = null;
  if (b.url !== undefined && b.url !== null) {
    if (typeof b.url !== "string" || b.url.length > MAX_URL_CHARS) return fail(`url must be an http(s) URL of at most ${MAX_URL_CHARS} characters`);
    let parsed: URL;
    try {
      parsed = new URL(b.url);
    } catch {
      return fail(`url ${JSON.stringify(b.url.slice(0, 80))} is not a URL`);
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return fail("url must be an http(s) URL");
    url = parsed.toString();
  }

  let notify: RewardRequest["notify"] = null;
  if (b.notify !== undefined && b.notify !== null) {
    notify = typeof b.notify === "string" ? parseNotify(b.notify) : null;
    if (!notify) return fail('notify must name an issue or pull request as "owner/repo#123"');
  }
  return { ok: true, value: { recipient, amount: amount.value, reason: b.reason.trim(), url, notify } };
}

/**
 * What "the same body" means for an Idempotency-Key: the request as understood (the login
 * lower-cased, the amount as currency and minor units), so `"500 sats"` and `"500sats"` agree.
 */
export function requestHash(r: RewardRequest): string {
  const canonical = JSON.stringify([
    "login" in r.recipient ? { login: r.recipient.login.toLowerCase() } : { id: r.recipient.id },
    r.amount.currency,
    r.amount.minor.toString(),
    r.reason,
    r.url,
    r.notify ? `${r.notify.owner}/${r.notify.repo}#${r.notify.number}`.toLowerCase() : null,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/** Visible ASCII only (as HTTP header values may carry), 1–255 characters. */
export function checkIdempotencyKey(value: string | string[] | undefined): Checked<string> {
  if (value === undefined) return fail("the Idempotency-Key header is required: a unique value per reward, reused when the same call is retried");
  if (Array.isArray(value) || !/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) || value.length > MAX_KEY_CHARS) {
    return fail(`the Idempotency-Key header must be one value of 1 to ${MAX_KEY_CHARS} visible ASCII characters`);
  }
  return { ok: true, value };
}

export const keyHash = (key: string): string => createHash("sha256").update(key).digest("hex");

/** The repository a GitHub URL is in (`owner/repo`, lower-cased), or null for any other URL. */
export function repoOfUrl(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.hostname !== "github.com" && u.hostname !== "www.github.com") return null;
  const [owner, repo] = u.pathname.split("/").slice(1);
  if (!owner || !repo || !LOGIN.test(owner) || !REPO_NAME.test(repo)) return null;
  return `${owner}/${repo}`.toLowerCase();
}

/** `owner/repo` or `owner/*`, as `tokens create --repos` takes them; null when malformed. */
export function parseRepoPattern(text: string): string | null {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text.trim());
  if (!m || !LOGIN.test(m[1]!) || (m[2] !== "*" && !REPO_NAME.test(m[2]!))) return null;
  return `${m[1]}/${m[2]}`.toLowerCase();
}

/** Whether a token limited to `patterns` (null: not limited) may reward for `repo` (`owner/repo`, lower-cased). */
export function repoAllowed(patterns: readonly string[] | null, repo: string | null): boolean {
  if (patterns === null) return true;
  if (repo === null) return false;
  const owner = repo.split("/")[0];
  return patterns.some((p) => p === repo || p === `${owner}/*`);
}

/** The token's period a moment falls in: 0 from its creation, 1 after one period, … */
export function periodIndex(createdAt: Date, periodMs: number, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - createdAt.getTime()) / periodMs));
}

export function periodBounds(createdAt: Date, periodMs: number, n: number): { start: Date; end: Date } {
  const start = createdAt.getTime() + n * periodMs;
  return { start: new Date(start), end: new Date(start + periodMs) };
}

export type RewardStatus = "credited" | "queued" | "paid" | "confirmed";
export const REWARD_STATUSES: readonly RewardStatus[] = ["credited", "queued", "paid", "confirmed"];

/**
 * A reward's status from the state of the first payout to its recipient formed after it (null:
 * none yet). Best effort: payouts are formed from a person's whole balance, so the first payout
 * after a reward is the one that carries it, unless it was formed before the reward was credited.
 */
export function rewardStatus(payoutState: string | null): RewardStatus {
  switch (payoutState) {
    case null:
      return "credited";
    case "awaiting_approval":
    case "queued":
      return "queued";
    case "signed":
    case "broadcast":
      return "paid";
    case "confirmed":
      return "confirmed";
    default:
      return "credited";
  }
}

/** API tokens: `bbt_<id>_<secret>`; the id finds the row, the secret's hash is compared in constant time. */
export const TOKEN_PREFIX = "bbt_";

export function parseToken(text: string): { id: bigint; secret: string } | null {
  const m = /^bbt_([1-9]\d{0,18})_([A-Za-z0-9_-]{43})$/.exec(text);
  return m ? { id: BigInt(m[1]!), secret: m[2]! } : null;
}

export const secretHash = (secret: string): Buffer => createHash("sha256").update(secret).digest();

/** Mentions in text a CI system wrote are not pings: `@` is followed by a zero-width joiner. */
export const defuseMentions = (text: string): string => text.replace(/@/g, "@\u200d");

/**
 * A token bucket per key: `burst` calls at once, refilled at `perSecond`. Returns 0 when the call
 * may go ahead, else the seconds to wait (for Retry-After).
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    readonly perSecond: number,
    readonly burst: number,
    readonly now: () => number = () => Date.now(),
  ) {}

  take(key: string): number {
    const t = this.now();
    const b = this.#buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}
