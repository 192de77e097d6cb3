/**
 * The public board: /board, /board/experts, /board/leaderboard, /board/payouts and /u/:login as
 * server-rendered HTML, each with a JSON twin under /api/v1/. Every answer carries a strict
 * Content-Security-Policy (no script at all) and an ETag (304 when it matches). BOARD=off mounts
 * none of these routes; private repositories are left out unless BOARD_PRIVATE_REPOS=on.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { CURRENCIES, type Currency } from "../core/money.js";
import {
  boardBounties,
  boardExperts,
  boardFacets,
  boardLeaderboard,
  boardPayouts,
  boardUser,
  BOUNTY_STATES,
  PERIODS,
  type BountyFilter,
  type BountyState,
  type Period,
} from "../store/board.js";
import type { Db } from "../store/db.js";
import type { Html } from "../web/html.js";
import { boardPage, expertsPage, leaderboardPage, notFoundPage, payoutsPage, STYLE_PATH, userPage, type SolvencySummary } from "../web/pages.js";
import { BOARD_CSS } from "../web/style.js";
import { HttpError, type Route } from "./router.js";
import type { SolvencyReports } from "./solvency.js";

export const BOARD_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface BoardOptions {
  db: Db;
  /** BOARD (default on): off mounts no route here. */
  enabled: boolean;
  /** BOARD_PRIVATE_REPOS: show repositories that are not public. */
  privateRepos: boolean;
  /** EXPLORER_URL: the txid is appended to it. */
  explorerUrl: string | null;
  /** The solvency report (owed vs held) shown atop /board/payouts. */
  solvency?: Pick<SolvencyReports, "current">;
  log: Logger;
  now?: () => Date;
}

const SECURITY_HEADERS = {
  "content-security-policy": BOARD_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** Answers `body` with an ETag; 304 when the client already has it. */
export function sendCached(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string, maxAge = 30): void {
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
  const headers = { ...SECURITY_HEADERS, etag, "cache-control": `public, max-age=${maxAge}`, vary: "accept-encoding" };
  const match = (req.headers["if-none-match"] ?? "").split(",").map((s) => s.trim().replace(/^W\//, ""));
  if (status === 200 && (match.includes(etag) || match.includes("*"))) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** JSON for the twins: sats (bigint) as strings, dates as ISO text. */
export function toJson(v: unknown): string {
  return `${JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x))}\n`;
}

const sendHtml = (req: IncomingMessage, res: ServerResponse, page: Html, status = 200) => sendCached(req, res, status, "text/html; charset=utf-8", page.text);
const sendData = (req: IncomingMessage, res: ServerResponse, data: unknown) => sendCached(req, res, 200, "application/json", toJson(data));

const REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

function query(req: IncomingMessage): URLSearchParams {
  return new URL(req.url ?? "/", "http://localhost").searchParams;
}

function positive(q: URLSearchParams, name: string, max: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1 || Number(v) > max) throw new HttpError(400, `${name} must be a whole number from 1 to ${max}`);
  return Number(v);
}

/** The bounty filters of /board and /api/v1/bounties, checked. */
export function bountyFilter(q: URLSearchParams, privateRepos: boolean): BountyFilter {
  const f: BountyFilter = { privateRepos };
  const repo = q.get("repo");
  if (repo) {
    if (!REPO.test(repo)) throw new HttpError(400, "repo must be owner/name");
    f.repo = repo;
  }
  const label = q.get("label");
  if (label) {
    if (label.length > 100) throw new HttpError(400, "label is too long");
    f.label = label;
  }
  const currency = q.get("currency");
  if (currency) {
    const c = currency.toUpperCase() as Currency;
    if (!CURRENCIES.includes(c)) throw new HttpError(400, `currency must be one of ${CURRENCIES.join(", ")}`);
    f.currency = c;
  }
  const min = q.get("min") ?? q.get("min_sats");
  if (min) {
    if (!/^\d{1,16}$/.test(min)) throw new HttpError(400, "min must be a whole number of sats");
    f.minSats = BigInt(min);
  }
  const sort = q.get("sort");
  if (sort) {
    if (sort !== "amount" && sort !== "age") throw new HttpError(400, "sort must be amount or age");
    f.sort = sort;
  }
  const state = q.get("state");
  if (state) {
    if (!BOUNTY_STATES.includes(state as BountyState)) throw new HttpError(400, `state must be one of ${BOUNTY_STATES.join(", ")}`);
    f.state = state as BountyState;
  }
  f.page = positive(q, "page", 100_000) ?? 1;
  return f;
}

function period(q: URLSearchParams): Period {
  const p = q.get("period") ?? "all";
  if (!PERIODS.includes(p as Period)) throw new HttpError(400, `period must be one of ${PERIODS.join(", ")}`);
  return p as Period;
}

export function boardRoutes(o: BoardOptions): Route[] {
  if (!o.enabled) return [];
  const now = () => (o.now ?? (() => new Date()))();
  const get = (path: string, handle: Route["handle"]): Route => ({ method: "GET", path, maxBytes: 0, handle });

  const bounties = async (req: IncomingMessage) => {
    const filter = bountyFilter(query(req), o.privateRepos);
    return { filter, result: await boardBounties(o.db, filter) };
  };
  const solvency = async (): Promise<SolvencySummary | null> => {
    if (!o.solvency) return null;
    try {
      const { report } = await o.solvency.current();
      return {
        owedSats: BigInt(report.owed.total_sats),
        heldSats: report.wallet ? BigInt(report.wallet.total_sats) : null,
        covers: report.wallet ? report.wallet.covers_owed : null,
        generatedAt: report.generated_at,
        note: report.wallet ? undefined : "no payout wallet is configured here",
      };
    } catch (err) {
      o.log.warn({ err }, "board: the solvency report could not be built");
      return null;
    }
  };
  // The filters' choices (every repository and sig/kind/area label of an open bounty) change
  // slowly and cost a scan: read at most once a minute.
  let facets: { at: number; value: Promise<{ repos: string[]; labels: string[] }> } | undefined;
  const facetsNow = () => {
    const t = now().getTime();
    if (!facets || t - facets.at > 60_000) {
      const entry = { at: t, value: boardFacets(o.db, o.privateRepos) };
      entry.value.catch(() => facets === entry && (facets = undefined));
      facets = entry;
    }
    return facets.value;
  };
  const user = async (login: string) => {
    if (!LOGIN.test(login)) throw new HttpError(404, "no such person on the board");
    return boardUser(o.db, login, o.privateRepos);
  };

  return [
    get(STYLE_PATH, (req, res) => sendCached(req, res, 200, "text/css; charset=utf-8", BOARD_CSS, 3600)),
    get("/board", async (req, res) => {
      const { filter, result } = await bounties(req);
      sendHtml(req, res, boardPage({ result, facets: await facetsNow(), filter, now: now() }));
    }),
    get("/api/v1/bounties", async (req, res) => {
      const { result } = await bounties(req);
      sendData(req, res, { page: result.page, pages: result.pages, total: result.total, bounties: result.bounties });
    }),
    get("/board/experts", async (req, res) => sendHtml(req, res, expertsPage({ experts: await boardExperts(o.db) }))),
    get("/api/v1/experts", async (req, res) => sendData(req, res, { experts: await boardExperts(o.db) })),
    get("/board/leaderboard", async (req, res) => {
      const p = period(query(req));
      sendHtml(req, res, leaderboardPage({ period: p, ...(await boardLeaderboard(o.db, p, now(), o.privateRepos)) }));
    }),
    get("/api/v1/leaderboard", async (req, res) => {
      const p = period(query(req));
      sendData(req, res, { period: p, ...(await boardLeaderboard(o.db, p, now(), o.privateRepos)) });
    }),
    get("/board/payouts", async (req, res) => {
      const page = positive(query(req), "page", 100_000) ?? 1;
      const [list, summary] = await Promise.all([boardPayouts(o.db, { page, privateRepos: o.privateRepos }), solvency()]);
      sendHtml(req, res, payoutsPage({ ...list, explorer: o.explorerUrl, solvency: summary }));
    }),
    get("/api/v1/payouts", async (req, res) => {
      const page = positive(query(req), "page", 100_000) ?? 1;
      const [list, summary] = await Promise.all([boardPayouts(o.db, { page, privateRepos: o.privateRepos }), solvency()]);
      sendData(req, res, {
        ...list,
        payouts: list.payouts.map((p) => ({ ...p, url: o.explorerUrl ? o.explorerUrl + p.txid : null })),
        solvency: summary,
      });
    }),
    get("/u/:login", async (req, res, ctx) => {
      const u = await user(ctx.params.login!);
      if (!u) return sendHtml(req, res, notFoundPage("Nobody by that name is on the board."), 404);
      sendHtml(req, res, userPage({ user: u, explorer: o.explorerUrl, now: now() }));
    }),
    get("/api/v1/users/:login", async (req, res, ctx) => {
      const u = await user(ctx.params.login!);
      if (!u) throw new HttpError(404, "no such person on the board");
      sendData(req, res, { ...u, paid: u.paid.map((p) => ({ ...p, url: o.explorerUrl ? o.explorerUrl + p.txid : null })) });
    }),
  ];
}
