/**
 * The rewards API (issue 12): CI and QA systems pay contributors per call, from a token's budget.
 *
 *   POST /api/v1/rewards          a reward (Idempotency-Key required; Stripe's semantics)
 *   GET  /api/v1/rewards/:id      one of the token's rewards
 *   GET  /api/v1/rewards          the token's rewards (?since=<time>&page=<n>)
 *   GET  /api/v1/budget           what is left of the token's budget in this period
 *   GET  /api/v1/openapi.json     the OpenAPI 3.1 document of every /api/v1 route
 *
 * Money moves only on the ledger: a reward is the transfer grant:<token> → earnings:<recipient>,
 * committed with the reward's row. A fiat amount is priced at the call; a fiat budget is priced
 * when its period is funded (the first call of the period), and holds that many sats all period.
 * Without an agreeing price the answer is 503: nothing is priced on a guess.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { formatBudgetInput } from "../core/budget.js";
import type { Amount, Currency } from "../core/money.js";
import { sendJson, sendProblem, type Route } from "../http/router.js";
import type { PriceSource } from "../payouts/run.js";
import { fiatToSats } from "../price/convert.js";
import type { Db } from "../store/db.js";
import { findReward, getReward, listRewards, RewardRefused, RewardWriter, type Reward } from "../store/rewards.js";
import { authenticate, budgetLeft, fundPeriod, liveToken, touchToken, type ApiToken } from "../store/tokens.js";
import type { ApiGitHub } from "./github.js";
import { openApiDocument } from "./openapi.js";
import {
  checkIdempotencyKey,
  checkRewardBody,
  defuseMentions,
  keyHash,
  PAGE_SIZE,
  parseToken,
  periodBounds,
  periodIndex,
  RateLimiter,
  repoAllowed,
  repoOfUrl,
  requestHash,
  rewardStatus,
  secretHash,
  type RewardRequest,
} from "./rules.js";

export const API_PREFIX = "/api/v1";
/** Request bodies over this are refused with 413 before they are read. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface RewardsApiOptions {
  db: Db;
  log: Logger;
  github: ApiGitHub;
  /** The app's price source (the payout run's); without one, fiat amounts and budgets get 503. */
  prices?: PriceSource;
  /** What a bare number in `amount` is in (DEFAULT_CURRENCY). */
  defaultCurrency: Currency;
  /** Lower-cased accounts the app serves: `notify` must name a repository of one of them. */
  accounts: () => ReadonlySet<string>;
  /** Why the app cannot answer yet (GitHub has not confirmed it), or null. */
  notReady?: () => string | null;
  /** Woken when a notify comment was queued. */
  onQueued?: () => void;
  /** Calls per token: `burst` at once, `perSecond` sustained (default 50/s, burst 100). */
  rate?: { perSecond: number; burst: number };
  now?: () => Date;
  /** After a reward's commit, before its answer: tests break the connection there. */
  committed?: (req: IncomingMessage, reward: Reward) => void | Promise<void>;
  /** How long POST /api/v1/rewards trusts a token it has read (default TOKEN_CACHE_MS). */
  tokenCacheMs?: number;
}

/**
 * POST /api/v1/rewards reads a token from the database at most this often per process. Nothing a
 * revocation stops waits for it: a new reward's statement, and the look-up of a stored one, each
 * check the token's row themselves. It bounds how stale the rest (period, last use) may be.
 */
export const TOKEN_CACHE_MS = 5000;

/** An answer other than success, as RFC 9457 problem+json. */
class Problem extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

const FIAT_DIGITS = 2;
const fiatText = (minor: bigint): string => {
  const s = minor.toString().padStart(FIAT_DIGITS + 1, "0");
  return `${s.slice(0, -FIAT_DIGITS)}.${s.slice(-FIAT_DIGITS)}`;
};

/** A reward as the API shows it. */
export function rewardJson(r: Reward): Record<string, unknown> {
  return {
    id: Number(r.id),
    recipient: { login: r.recipientLogin, id: r.recipientId },
    sats: Number(r.sats),
    fiat: r.currency === "BTC" ? null : { currency: r.currency, amount: fiatText(r.minor), rate: r.rate },
    status: rewardStatus(r.payoutState),
    reason: r.reason,
    url: r.url,
    notify: r.notify,
    created_at: r.createdAt.toISOString(),
  };
}

/** The rewards API's routes, for the app's router. */
export function rewardsRoutes(o: RewardsApiOptions): Route[] {
  const now = () => (o.now ?? (() => new Date()))();
  const limiter = new RateLimiter(o.rate?.perSecond ?? 50, o.rate?.burst ?? 100);
  // Keys whose first call is still being answered in this process (its GitHub look-ups included);
  // across processes the key's advisory lock in recordReward does the same.
  const inFlight = new Set<string>();
  const writer = new RewardWriter(o.db);
  const bearer = { "www-authenticate": 'Bearer realm="bounty-bot"' };
  const invalid = () => new Problem(401, "this API token is not valid (wrong, or revoked)", {}, bearer);
  // Tokens POST /api/v1/rewards has read lately, by id, with their secret's hash (TOKEN_CACHE_MS).
  const cacheMs = o.tokenCacheMs ?? TOKEN_CACHE_MS;
  const cache = new Map<bigint, { token: ApiToken; hash: Buffer; at: number }>();
  const remember = (token: ApiToken, hash: Buffer) => {
    if (cache.size >= 1000) cache.delete(cache.keys().next().value!);
    cache.set(token.id, { token, hash, at: now().getTime() });
  };


  const price = async (currency: Currency): Promise<string> => {
    if (currency === "BTC") throw new Error("BTC needs no price");
    if (!o.prices) throw new Problem(503, `no price source is configured, so ${currency} amounts cannot be priced; give the amount in sats`);
    let r: Awaited<ReturnType<PriceSource["price"]>>;
    try {
      r = await o.prices.price(currency);
    } catch (err) {
      o.log.warn({ err, currency }, "rewards API: no price");
      throw new Problem(503, `no BTC price in ${currency} could be had just now; try again later`, {}, { "retry-after": "60" });
    }
    if (!r.ok) throw new Problem(503, `no agreeing BTC price in ${currency} just now (${r.reason}); try again later`, {}, { "retry-after": "60" });
    return r.rateText;
  };
  const toSats = async (a: Amount): Promise<{ sats: bigint; rate: string | null }> => {
    if (a.currency === "BTC") return { sats: a.minor, rate: null };
    const rate = await price(a.currency);
    return { sats: fiatToSats(a.minor, a.currency, rate), rate };
  };

  /** Funds the token's current period if that has not happened yet (the first call of a period does it). */
  const ensurePeriod = async (t: ApiToken): Promise<ApiToken> => {
    const n = periodIndex(t.createdAt, t.budget.windowMs, now());
    if (t.period !== null && t.period >= n) return t;
    const { sats, rate } = await toSats(t.budget.limit);
    await o.db.transaction((tx) => fundPeriod(tx, t.id, n, sats, rate));
    const fresh = await liveToken(o.db, t.id);
    if (!fresh) {
      cache.delete(t.id);
      throw new Problem(401, "this API token was revoked");
    }
    const hit = cache.get(t.id);
    if (hit) hit.token = fresh;
    return fresh;
  };

  const auth = async (req: IncomingMessage, cached = false): Promise<ApiToken> => {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new Problem(401, "an API token is required: Authorization: Bearer <token> (bounty-bot tokens create)", {}, bearer);
    const parsed = parseToken(m[1]!);
    if (!parsed) throw invalid();
    const hash = secretHash(parsed.secret);
    const hit = cache.get(parsed.id);
    const same = hit !== undefined && timingSafeEqual(hit.hash, hash);
    let token: ApiToken | null;
    if (cached && same && now().getTime() - hit.at < cacheMs) {
      token = hit.token;
    } else {
      token = await authenticate(o.db, parsed.id, hash);
      if (token && cached) remember(token, hash);
      else if (!token && same) cache.delete(parsed.id);
    }
    if (!token) throw invalid();
    const wait = limiter.take(String(token.id));
    if (wait > 0) throw new Problem(429, `too many requests with this token; retry in ${wait} s`, {}, { "retry-after": String(wait) });
    // Last use, for `tokens list`: at most once a minute per token, outside any reward's transaction.
    const at = now();
    if (!token.lastUsedAt || at.getTime() - token.lastUsedAt.getTime() > 60_000) {
      token.lastUsedAt = at;
      void touchToken(o.db, token.id, at).catch((err) => o.log.warn({ err }, "rewards API: noting a token's use failed"));
    }
    return token;
  };

  const handler =
    (fn: (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, body: () => Promise<Buffer>) => Promise<void>): Route["handle"] =>
    async (req, res, ctx) => {
      try {
        const waiting = o.notReady?.();
        if (waiting) throw new Problem(503, `not ready: ${waiting}`, {}, { "retry-after": "5" });
        await fn(req, res, ctx.params, ctx.body);
      } catch (err) {
        if (err instanceof Problem) {
          sendProblem(req, res, err.status, err.message, { headers: err.headers, extra: err.extra });
          return;
        }
        throw err;
      }
    };

  const recipientOf = async (r: RewardRequest): Promise<{ id: number; login: string }> => {
    let user;
    try {
      user = await o.github.user(r.recipient);
    } catch (err) {
      o.log.warn({ err }, "rewards API: looking up the recipient on GitHub failed");
      throw new Problem(503, "GitHub could not be asked who the recipient is just now; try again shortly", {}, { "retry-after": "30" });
    }
    const named = "login" in r.recipient ? `@${r.recipient.login}` : `user id ${r.recipient.id}`;
    if (!user) throw new Problem(422, `GitHub knows no user ${named}`);
    if (user.type !== "User") throw new Problem(422, `${named} is a ${user.type === "Bot" ? "bot" : user.type.toLowerCase()}, not a person: rewards go to people`);
    return { id: user.id, login: user.login };
  };

  /** What can be refused about `notify` without asking GitHub. */
  const checkNotify = (t: ApiToken, r: RewardRequest): void => {
    if (!r.notify) return;
    const { owner, repo } = r.notify;
    if (!repoAllowed(t.repos, `${owner}/${repo}`.toLowerCase())) throw new Problem(403, `this token may not comment on ${owner}/${repo} (it is limited to ${t.repos!.join(", ")})`);
    if (!o.accounts().has(owner.toLowerCase())) throw new Problem(422, `notify: ${owner} is not an account this app serves`);
  };

  const notifyTarget = async (r: RewardRequest) => {
    if (!r.notify) return undefined;
    const { owner, repo, number } = r.notify;
    let installationId: number | null;
    try {
      installationId = await o.github.installationOf(owner, repo);
    } catch (err) {
      o.log.warn({ err }, "rewards API: looking up the app's installation failed");
      throw new Problem(503, "GitHub could not be asked about the notify repository just now; try again shortly", {}, { "retry-after": "30" });
    }
    if (installationId === null) throw new Problem(422, `notify: the app is not installed on ${owner}/${repo}`);
    return { installationId, owner, repo, issueNumber: number };
  };

  const post = handler(async (req, res, _params, readBody) => {
    const token = await auth(req, true);
    const key = checkIdempotencyKey(req.headers["idempotency-key"]);
    if (!key.ok) throw new Problem(400, key.detail);
    const raw = await readBody();
    let json: unknown;
    try {
      json = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new Problem(400, "the body is not JSON");
    }
    const checked = checkRewardBody(json, o.defaultCurrency);
    if (!checked.ok) throw new Problem(400, checked.detail);
    const r = checked.value;
    if (token.repos !== null) {
      if (!r.url) throw new Problem(403, `this token is limited to ${token.repos.join(", ")}: give the url of the pull request, issue or job run the reward is for`);
      if (!repoAllowed(token.repos, repoOfUrl(r.url))) throw new Problem(403, `this token may not reward for ${r.url} (it is limited to ${token.repos.join(", ")})`);
    }
    checkNotify(token, r);
    const kh = keyHash(key.value);
    const rh = requestHash(r);
    const replay = (stored: Reward) => {
      if (stored.requestHash !== rh) throw new Problem(422, "this Idempotency-Key was used for a different request; use a new key for a new reward");
      res.setHeader("idempotent-replayed", "true");
      sendJson(req, res, 200, rewardJson(stored));
    };
    // A stored reward under this key answers before anything that follows could refuse the call;
    // it is looked for only once something does (a new key, the common case, costs no look-up):
    // the reward's own statement refuses a used key, and the transactional way then finds it.
    let answered: Problem | null = null;
    try {
      await record(req, res, token, r, kh, rh, replay);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      answered = err;
    }
    if (answered) {
      const stored = await findReward(o.db, token.id, kh);
      if (stored) return replay(stored);
      throw answered;
    }
  });

  /** A new reward under this key, or the stored one when the transactional way finds it. */
  const record = async (req: IncomingMessage, res: ServerResponse, token: ApiToken, r: RewardRequest, kh: string, rh: string, replay: (stored: Reward) => void) => {
    const flight = `${token.id}:${kh}`;
    if (inFlight.has(flight)) throw new Problem(409, "a request with this Idempotency-Key is still being processed; retry when it has been answered");
    inFlight.add(flight);
    try {
      const recipient = await recipientOf(r);
      const where = await notifyTarget(r);
      const { sats, rate } = await toSats(r.amount);
      if (sats <= 0n) throw new Problem(400, "amount is worth less than one sat");
      const funded = await ensurePeriod(token);
      const cap = funded.recipientCap ? { sats: (await toSats(funded.recipientCap.limit)).sats, windowMs: funded.recipientCap.windowMs } : undefined;
      let result: Awaited<ReturnType<RewardWriter["record"]>>;
      try {
        result = await writer.record(
          {
            tokenId: token.id,
            keyHash: kh,
            requestHash: rh,
            recipientId: recipient.id,
            recipientLogin: recipient.login,
            sats,
            currency: r.amount.currency,
            minor: r.amount.minor,
            rate,
            reason: r.reason,
            url: r.url,
            notify: r.notify ? `${r.notify.owner}/${r.notify.repo}#${r.notify.number}` : null,
          },
          {
            cap,
            reply: where && {
              where,
              body: (w) =>
                `@${w.recipientLogin} was rewarded **${w.sats} sats** by \`${token.name}\`: ${defuseMentions(w.reason)}` +
                `${w.url ? ` (${w.url})` : ""}. It is paid with the next payout.`,
            },
            committed: o.committed ? (w) => o.committed!(req, w) : undefined,
          },
        );
      } catch (err) {
        if (!(err instanceof RewardRefused)) throw err;
        if (err.why === "revoked") {
          cache.delete(token.id);
          throw invalid();
        }
        if (err.why === "in_flight") throw new Problem(409, `${err.message}; retry when it has been answered`);
        throw new Problem(402, err.message, err.why === "budget" ? { budget_left_sats: Number(err.leftSats) } : { recipient_cap_left_sats: Number(err.leftSats) });
      }
      if (result.replayed) return replay(result.reward);
      if (where) {
        try {
          o.onQueued?.();
        } catch {
          // The outbox's sweep sends it.
        }
      }
      res.setHeader("location", `${API_PREFIX}/rewards/${result.reward.id}`);
      sendJson(req, res, 201, rewardJson(result.reward));
    } finally {
      inFlight.delete(flight);
    }
  };

  const getOne = handler(async (req, res, params) => {
    const token = await auth(req);
    if (!/^[1-9]\d{0,15}$/.test(params.id!)) throw new Problem(400, `"${params.id!.slice(0, 30)}" is not a reward id`);
    const r = await getReward(o.db, token.id, BigInt(params.id!));
    if (!r) throw new Problem(404, `this token has no reward ${params.id}`);
    sendJson(req, res, 200, rewardJson(r));
  });

  const list = handler(async (req, res) => {
    const token = await auth(req);
    const q = new URL(req.url ?? "/", "http://localhost").searchParams;
    const sinceText = q.get("since");
    const pageText = q.get("page") ?? "1";
    const since = sinceText === null ? null : new Date(sinceText);
    if (since !== null && (!/^\d{4}-\d{2}-\d{2}/.test(sinceText!) || Number.isNaN(since.getTime()))) throw new Problem(400, "since must be a time, like 2026-01-31 or 2026-01-31T12:00:00Z");
    if (!/^[1-9]\d{0,5}$/.test(pageText)) throw new Problem(400, "page must be a number from 1");
    const page = Number(pageText);
    const { rewards, more } = await listRewards(o.db, token.id, { since, page, size: PAGE_SIZE });
    if (more) {
      const next = new URLSearchParams(q);
      next.set("page", String(page + 1));
      res.setHeader("link", `<${API_PREFIX}/rewards?${next}>; rel="next"`);
    }
    sendJson(req, res, 200, { rewards: rewards.map(rewardJson), page, per_page: PAGE_SIZE, next_page: more ? page + 1 : null });
  });

  const budget = handler(async (req, res) => {
    const token = await ensurePeriod(await auth(req));
    const { start, end } = periodBounds(token.createdAt, token.budget.windowMs, token.period!);
    const left = await budgetLeft(o.db, token.id);
    const funded = token.periodSats ?? 0n;
    sendJson(req, res, 200, {
      token: token.name,
      budget: formatBudgetInput(token.budget),
      period: { number: token.period, started_at: start.toISOString(), ends_at: end.toISOString() },
      funded_sats: Number(funded),
      spent_sats: Number(funded - left),
      left_sats: Number(left),
      rate: token.periodRate,
      recipient_cap: token.recipientCap ? formatBudgetInput(token.recipientCap) : null,
      repos: token.repos,
    });
  });

  const document = openApiDocument();
  return [
    { method: "POST", path: `${API_PREFIX}/rewards`, maxBytes: MAX_BODY_BYTES, handle: post },
    { method: "GET", path: `${API_PREFIX}/rewards`, maxBytes: 0, handle: list },
    { method: "GET", path: `${API_PREFIX}/rewards/:id`, maxBytes: 0, handle: getOne },
    { method: "GET", path: `${API_PREFIX}/budget`, maxBytes: 0, handle: budget },
    { method: "GET", path: `${API_PREFIX}/openapi.json`, maxBytes: 0, handle: (req, res) => sendJson(req, res, 200, document) },
  ];
}
