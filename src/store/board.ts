/**
 * The public board's reads (open bounties, experts, leaderboard, payouts, one person) and the little
 * it records itself: each issue's labels and GitHub assignees, each repository's visibility, and the
 * people who left the board (/board hide). Every read leaves out what is private: repositories not
 * known to be public (unless `privateRepos`), deposit addresses, funds balances, payout addresses;
 * a hidden person is null (shown "anonymous") and has no page.
 */
import type { Currency } from "../core/money.js";
import { fromJson, type Queryable } from "./db.js";

export const BOARD_PAGE_SIZE = 50;

export interface Person {
  id: number;
  login: string;
}

/** What a delivery says about an issue and its repository (the newest wins). */
export interface IssueFacts {
  repoId: number;
  fullName: string;
  private: boolean;
  issueNumber: number | null;
  labels: string[];
  assignees: Person[];
  htmlUrl: string | null;
  at: Date;
}

export async function recordIssueFacts(tx: Queryable, f: IssueFacts): Promise<void> {
  await tx.query(
    `INSERT INTO board_repos (repo_id, full_name, private, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (repo_id) DO UPDATE SET full_name = excluded.full_name, private = excluded.private, updated_at = excluded.updated_at
       WHERE board_repos.updated_at <= excluded.updated_at`,
    [f.repoId, f.fullName, f.private, f.at],
  );
  if (f.issueNumber === null) return;
  await tx.query(
    `INSERT INTO board_issues (repo_id, issue_number, labels, assignees, html_url, updated_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6)
     ON CONFLICT (repo_id, issue_number) DO UPDATE SET labels = excluded.labels, assignees = excluded.assignees,
       html_url = COALESCE(excluded.html_url, board_issues.html_url), updated_at = excluded.updated_at
       WHERE board_issues.updated_at <= excluded.updated_at`,
    [f.repoId, f.issueNumber, f.labels, JSON.stringify(f.assignees), f.htmlUrl, f.at],
  );
}

/**
 * repository.privatized / publicized / renamed, at the repository's own updated_at. Privacy fails
 * closed: made private always applies, whatever arrived before it; made public applies only when
 * it is newer than what is recorded (a late, older "publicized" cannot show a private repository).
 */
export async function recordRepoVisibility(tx: Queryable, r: { repoId: number; fullName: string; private: boolean; at: Date }): Promise<void> {
  await tx.query(
    `INSERT INTO board_repos (repo_id, full_name, private, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (repo_id) DO UPDATE SET full_name = excluded.full_name, private = excluded.private,
       updated_at = greatest(board_repos.updated_at, excluded.updated_at)
       WHERE excluded.private OR board_repos.updated_at <= excluded.updated_at`,
    [r.repoId, r.fullName, r.private, r.at],
  );
}

/** /board hide | show; true when it changed anything. */
export async function setHidden(tx: Queryable, who: Person, hidden: boolean): Promise<boolean> {
  const rows = hidden
    ? await tx.query(
        `INSERT INTO board_hidden (user_id, login) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET login = excluded.login
         WHERE board_hidden.login <> excluded.login RETURNING (xmax = 0) AS inserted`,
        [who.id, who.login],
      )
    : await tx.query("DELETE FROM board_hidden WHERE user_id = $1 RETURNING user_id", [who.id]);
  if (!hidden) return rows.length > 0;
  return rows.some((r) => (r as { inserted: boolean }).inserted);
}

export async function isHidden(db: Queryable, userId: number): Promise<boolean> {
  return (await db.query("SELECT 1 FROM board_hidden WHERE user_id = $1", [userId])).length > 0;
}

// --- bounties ---

export type BountyState = "open" | "awarded" | "paid" | "confirmed" | "cancelled";
export const BOUNTY_STATES: readonly BountyState[] = ["open", "awarded", "paid", "confirmed", "cancelled"];

export interface BountyFilter {
  repo?: string;
  label?: string;
  currency?: Currency;
  minSats?: bigint;
  state?: BountyState;
  sort?: "amount" | "age";
  page?: number;
  privateRepos: boolean;
}

export interface BoardBounty {
  id: bigint;
  repo: string;
  issueNumber: number;
  title: string;
  url: string;
  createdAt: Date;
  sats: bigint;
  amounts: Array<{ currency: Currency; minor: bigint }>;
  /** Logins; null for a person who left the board. */
  funders: Array<string | null>;
  labels: string[];
  assignees: Array<string | null>;
  questions: Array<{ id: bigint; target: string; sats: bigint; slots: number; expiresAt: Date }>;
  surveys: Array<{ id: bigint; sats: bigint; slots: number; responses: number }>;
}

/** What a page of bounties shows: visible repositories where private ones are left out. */
const visible = (alias: string, privateParam: string) =>
  `EXISTS (SELECT 1 FROM board_repos r WHERE r.repo_id = ${alias}.repo_id AND (NOT r.private OR ${privateParam}))`;

export async function boardBounties(db: Queryable, f: BountyFilter): Promise<{ total: number; page: number; pages: number; bounties: BoardBounty[] }> {
  const state = f.state ?? "open";
  const page = Math.max(1, Math.floor(f.page ?? 1));
  const { rows, total } = state === "open" ? await openPage(db, f, page) : await otherPage(db, f, state, page);
  const pages = Math.max(1, Math.ceil(total / BOARD_PAGE_SIZE));
  if (rows.length === 0) return { total, page, pages, bounties: [] };
  const ids = rows.map((r) => BigInt(r.id));
  const keys = rows.map((r) => `${r.repo_id}#${r.issue_number}`);
  // The page's issues as (repo_id, issue_number) pairs, joined on each table's index.
  const pairs = [rows.map((r) => BigInt(r.repo_id)), rows.map((r) => Number(r.issue_number))];
  const pledgeStatus = state === "open" ? "open" : "awarded";
  const [pledges, issues, questions, surveys] = await Promise.all([
    db.query<{ bounty_id: bigint; currency: Currency; minor: bigint; funders: unknown }>(
      `SELECT p.bounty_id, p.currency, sum(p.amount_minor) AS minor,
              jsonb_agg(CASE WHEN h.user_id IS NULL THEN p.funder_login END ORDER BY p.id) AS funders
         FROM pledges p LEFT JOIN board_hidden h ON h.user_id = p.funder_id
        WHERE p.bounty_id = ANY($1::bigint[]) AND p.status = $2 GROUP BY p.bounty_id, p.currency ORDER BY p.currency`,
      [ids, pledgeStatus],
    ),
    db.query<{ key: string; labels: string[]; assignees: unknown; html_url: string | null }>(
      `SELECT i.repo_id || '#' || i.issue_number AS key, i.labels, i.html_url,
              (SELECT COALESCE(jsonb_agg(CASE WHEN h.user_id IS NULL THEN a->>'login' END), '[]'::jsonb)
                 FROM jsonb_array_elements(i.assignees) a LEFT JOIN board_hidden h ON h.user_id = (a->>'id')::bigint) AS assignees
         FROM unnest($1::bigint[], $2::int[]) AS k(repo_id, issue_number) JOIN board_issues i USING (repo_id, issue_number)`,
      pairs,
    ),
    db.query<{ key: string; id: bigint; target_kind: string; target: string; sats: bigint; slots: number; expires_at: Date }>(
      `SELECT q.repo_id || '#' || q.issue_number AS key, q.id, q.target_kind, q.target, q.sats, q.slots, q.expires_at
         FROM unnest($1::bigint[], $2::int[]) AS k(repo_id, issue_number) JOIN questions q USING (repo_id, issue_number)
        WHERE q.state = 'open' ORDER BY q.id`,
      pairs,
    ),
    surveysOn(db, pairs),
  ]);
  const byKey = <T extends { key: string }>(xs: T[]) => {
    const m = new Map<string, T[]>();
    for (const x of xs) m.set(x.key, [...(m.get(x.key) ?? []), x]);
    return m;
  };
  const iss = new Map(issues.map((i) => [i.key, i]));
  const qs = byKey(questions);
  const ss = byKey(surveys);
  return {
    total,
    page,
    pages,
    bounties: rows.map((r) => {
      const key = `${r.repo_id}#${r.issue_number}`;
      const ps = pledges.filter((p) => BigInt(p.bounty_id) === BigInt(r.id));
      const issue = iss.get(key);
      const repo = `${r.repo_owner}/${r.repo_name}`;
      return {
        id: BigInt(r.id),
        repo,
        issueNumber: Number(r.issue_number),
        title: r.issue_title,
        url: issue?.html_url ?? `https://github.com/${repo}/issues/${r.issue_number}`,
        createdAt: new Date(r.created_at),
        sats: BigInt(r.sats ?? 0n),
        amounts: ps.map((p) => ({ currency: p.currency, minor: BigInt(p.minor) })),
        funders: [...new Set(ps.flatMap((p) => fromJson<Array<string | null>>(p.funders)))],
        labels: issue?.labels ?? [],
        assignees: issue ? fromJson<Array<string | null>>(issue.assignees) : [],
        questions: (qs.get(key) ?? []).map((q) => ({
          id: BigInt(q.id),
          target: q.target_kind === "person" ? `@${q.target}` : q.target,
          sats: BigInt(q.sats),
          slots: Number(q.slots),
          expiresAt: new Date(q.expires_at),
        })),
        surveys: (ss.get(key) ?? []).map((s) => ({ id: s.id, sats: s.sats, slots: s.slots, responses: s.responses })),
      };
    }),
  };
}

type PageRow = { id: bigint; repo_id: bigint; repo_owner: string; repo_name: string; issue_number: number; issue_title: string; created_at: Date; sats: bigint | null };

/** Open bounties: board_open, one indexed scan in the order asked, and a count over the same filters. */
async function openPage(db: Queryable, f: BountyFilter, page: number): Promise<{ rows: PageRow[]; total: number }> {
  const params: unknown[] = [f.privateRepos];
  const where: string[] = [visible("o", "$1")];
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.repo) where.push(`o.repo = lower(${add(f.repo)})`);
  if (f.label) where.push(`EXISTS (SELECT 1 FROM board_issues i WHERE i.repo_id = o.repo_id AND i.issue_number = o.issue_number AND i.labels @> ARRAY[${add(f.label)}]::text[])`);
  if (f.currency) where.push(`o.currencies @> ARRAY[${add(f.currency)}]::text[]`);
  if (f.minSats !== undefined) where.push(`o.sats >= ${add(f.minSats)}`);
  const filter = where.join(" AND ");
  const order = f.sort === "age" ? "o.created_at ASC, o.bounty_id ASC" : "o.sats DESC, o.created_at DESC, o.bounty_id DESC";
  const [count] = await db.query<{ n: bigint }>(`SELECT count(*) AS n FROM board_open o WHERE ${filter}`, params);
  const rows = await db.query<PageRow>(
    `SELECT b.id, b.repo_id, b.repo_owner, b.repo_name, b.issue_number, b.issue_title, b.created_at, o.sats
       FROM (SELECT o.bounty_id, o.sats, o.created_at FROM board_open o WHERE ${filter} ORDER BY ${order}
              LIMIT ${add(BOARD_PAGE_SIZE)} OFFSET ${add((page - 1) * BOARD_PAGE_SIZE)}) o
       JOIN bounties b ON b.id = o.bounty_id
      ORDER BY ${order}`,
    params,
  );
  return { rows, total: Number(count!.n) };
}

/** Bounties in another state (JSON only, rarer): their awarded pledges' totals, computed. */
async function otherPage(db: Queryable, f: BountyFilter, state: BountyState, page: number): Promise<{ rows: PageRow[]; total: number }> {
  const params: unknown[] = [state, f.privateRepos];
  const where: string[] = ["b.status = $1", visible("b", "$2")];
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.repo) where.push(`lower(b.repo_owner || '/' || b.repo_name) = lower(${add(f.repo)})`);
  if (f.label) where.push(`EXISTS (SELECT 1 FROM board_issues i WHERE i.repo_id = b.repo_id AND i.issue_number = b.issue_number AND i.labels @> ARRAY[${add(f.label)}]::text[])`);
  if (f.currency) where.push(`EXISTS (SELECT 1 FROM pledges c WHERE c.bounty_id = b.id AND c.status = 'awarded' AND c.currency = ${add(f.currency)})`);
  if (f.minSats !== undefined) where.push(`COALESCE(t.sats, 0) >= ${add(f.minSats)}`);
  const order = f.sort === "age" ? "b.created_at ASC, b.id ASC" : "COALESCE(t.sats, 0) DESC, b.created_at DESC, b.id DESC";
  const rows = await db.query<PageRow & { total: bigint }>(
    `WITH t AS (SELECT p.bounty_id, sum(COALESCE(p.backed_sats, p.value_sats)) AS sats FROM pledges p WHERE p.status = 'awarded' GROUP BY p.bounty_id)
     SELECT b.id, b.repo_id, b.repo_owner, b.repo_name, b.issue_number, b.issue_title, b.created_at, t.sats, count(*) OVER () AS total
       FROM bounties b LEFT JOIN t ON t.bounty_id = b.id
      WHERE ${where.join(" AND ")}
      ORDER BY ${order} LIMIT ${add(BOARD_PAGE_SIZE)} OFFSET ${add((page - 1) * BOARD_PAGE_SIZE)}`,
    params,
  );
  return { rows, total: rows.length ? Number(rows[0]!.total) : 0 };
}

/** Open paid surveys on these issues (migration 19's surveys table). */
async function surveysOn(db: Queryable, pairs: unknown[]): Promise<Array<{ key: string; id: bigint; sats: bigint; slots: number; responses: number }>> {
  const rows = await db.query<{ key: string; id: bigint; sats: bigint; slots: number; responses: bigint }>(
    `SELECT s.repo_id || '#' || s.issue_number AS key, s.id, s.sats, s.slots,
            (SELECT count(*) FROM survey_responses r WHERE r.survey_id = s.id) AS responses
       FROM unnest($1::bigint[], $2::int[]) AS k(repo_id, issue_number) JOIN surveys s USING (repo_id, issue_number)
      WHERE s.state = 'open' ORDER BY s.id`,
    pairs,
  );
  return rows.map((r) => ({ key: r.key, id: BigInt(r.id), sats: BigInt(r.sats), slots: Number(r.slots), responses: Number(r.responses) }));
}

/** The repositories and labels of open bounties, for the filters. */
export async function boardFacets(db: Queryable, privateRepos: boolean): Promise<{ repos: string[]; labels: string[] }> {
  const repos = await db.query<{ repo: string }>(
    `SELECT DISTINCT b.repo_owner || '/' || b.repo_name AS repo FROM bounties b WHERE b.status = 'open' AND ${visible("b", "$1")} ORDER BY 1 LIMIT 200`,
    [privateRepos],
  );
  const labels = await db.query<{ label: string }>(
    `SELECT DISTINCT l AS label FROM board_issues i, unnest(i.labels) l
      WHERE (l LIKE 'sig/%' OR l LIKE 'kind/%' OR l LIKE 'area/%')
        AND EXISTS (SELECT 1 FROM bounties b WHERE b.repo_id = i.repo_id AND b.issue_number = i.issue_number AND b.status = 'open' AND ${visible("b", "$1")})
      ORDER BY 1 LIMIT 200`,
    [privateRepos],
  );
  return { repos: repos.map((r) => r.repo), labels: labels.map((r) => r.label) };
}

// --- experts ---

export interface Expert {
  login: string;
  price: { currency: Currency; minor: bigint };
  charityId: string | null;
  answers: number;
  medianAnswerSeconds: number | null;
  lists: string[];
}

export async function boardExperts(db: Queryable): Promise<Expert[]> {
  const rows = await db.query<{ login: string; currency: Currency; amount_minor: bigint; charity_id: string | null; answers: bigint | null; median: number | null; lists: string[] | null }>(
    `WITH a AS (
       SELECT a.responder_id, count(*) AS answers,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.answered_at - q.created_at)) AS median
         FROM question_answers a JOIN questions q ON q.id = a.question_id GROUP BY a.responder_id),
     l AS (
       SELECT lower(m->>'login') AS login, array_agg(DISTINCT q.target ORDER BY q.target) AS lists
         FROM questions q, jsonb_array_elements(q.members) m WHERE q.target_kind <> 'person' AND m->>'login' IS NOT NULL GROUP BY 1)
     SELECT qp.login, qp.currency, qp.amount_minor, qp.charity_id, a.answers, a.median, l.lists
       FROM question_prices qp LEFT JOIN a ON a.responder_id = qp.user_id LEFT JOIN l ON l.login = lower(qp.login)
      WHERE NOT EXISTS (SELECT 1 FROM board_hidden h WHERE h.user_id = qp.user_id)
      ORDER BY a.answers DESC NULLS LAST, lower(qp.login) LIMIT 500`,
  );
  return rows.map((r) => ({
    login: r.login,
    price: { currency: r.currency, minor: BigInt(r.amount_minor) },
    charityId: r.charity_id,
    answers: Number(r.answers ?? 0),
    medianAnswerSeconds: r.median === null ? null : Math.round(Number(r.median)),
    lists: r.lists ?? [],
  }));
}

// --- leaderboard ---

export type Period = "week" | "month" | "all";
export const PERIODS: readonly Period[] = ["week", "month", "all"];
const since = (p: Period, now: Date): Date => new Date(p === "week" ? now.getTime() - 7 * 86_400_000 : p === "month" ? now.getTime() - 30 * 86_400_000 : 0);

export interface Earner {
  /** Null: a person who left the board. */
  login: string | null;
  bountySats: bigint;
  tipSats: bigint;
  answerSats: bigint;
  totalSats: bigint;
}

export interface Funder {
  login: string | null;
  pledgesClosed: number;
  paidWithin7Days: number;
  /** paidWithin7Days / pledgesClosed, in basis points. */
  reliabilityBps: number;
  paidSats: bigint;
}

/**
 * What each person earned: bounties (awards credited), tips released, answers (questions and
 * surveys), each with the repository it was earned in, so that totals leave out what was earned in
 * repositories the board does not show (`visible`).
 */
const EARNINGS = `
  SELECT a.recipient_id AS uid, a.recipient_login AS login, a.sats, 'bounty' AS kind, a.priced_at AS at, b.repo_id
    FROM awards a JOIN bounties b ON b.id = a.bounty_id WHERE a.state = 'credited'
  UNION ALL SELECT recipient_id, recipient_login, sats, 'tip', settled_at, repo_id FROM tips WHERE state = 'released'
  UNION ALL SELECT a.responder_id, a.responder_login, a.sats, 'answer', a.answered_at, q.repo_id
    FROM question_answers a JOIN questions q ON q.id = a.question_id
  UNION ALL SELECT r.responder_id, r.responder_login, r.sats, 'answer', r.responded_at, s.repo_id
    FROM survey_responses r JOIN surveys s ON s.id = r.survey_id`;

export async function boardLeaderboard(db: Queryable, period: Period, now = new Date(), privateRepos = false): Promise<{ earners: Earner[]; funders: Funder[] }> {
  const from = since(period, now);
  const earners = await db.query<{ uid: bigint; login: string; hidden: boolean; bounty: bigint; tip: bigint; answer: bigint; total: bigint }>(
    `SELECT e.uid, max(e.login) AS login, EXISTS (SELECT 1 FROM board_hidden h WHERE h.user_id = e.uid) AS hidden,
            COALESCE(sum(e.sats) FILTER (WHERE e.kind = 'bounty'), 0) AS bounty,
            COALESCE(sum(e.sats) FILTER (WHERE e.kind = 'tip'), 0) AS tip,
            COALESCE(sum(e.sats) FILTER (WHERE e.kind = 'answer'), 0) AS answer, sum(e.sats) AS total
       FROM (${EARNINGS}) e WHERE e.at >= $1 AND ${visible("e", "$2")} GROUP BY e.uid ORDER BY total DESC, e.uid LIMIT 100`,
    [from, privateRepos],
  );
  // A pledge is paid when an award of its bounty was credited within 7 days of the issue closing.
  const funders = await db.query<{ fid: bigint; login: string; hidden: boolean; closed: bigint; paid: bigint; paid_sats: bigint | null }>(
    `WITH f AS (
       SELECT p.funder_id AS fid, p.funder_login AS login, COALESCE(p.backed_sats, p.value_sats) AS sats,
              EXISTS (SELECT 1 FROM awards a WHERE a.bounty_id = b.id AND a.state = 'credited' AND a.priced_at <= b.issue_closed_at + interval '7 days') AS paid
         FROM pledges p JOIN bounties b ON b.id = p.bounty_id
        WHERE p.status = 'awarded' AND p.funder_id IS NOT NULL AND b.issue_closed_at IS NOT NULL AND b.issue_closed_at >= $1
          AND ${visible("b", "$2")})
     SELECT fid, max(login) AS login, EXISTS (SELECT 1 FROM board_hidden h WHERE h.user_id = fid) AS hidden,
            count(*) AS closed, count(*) FILTER (WHERE paid) AS paid, sum(sats) FILTER (WHERE paid) AS paid_sats
       FROM f GROUP BY fid ORDER BY paid_sats DESC NULLS LAST, fid LIMIT 100`,
    [from, privateRepos],
  );
  return {
    earners: earners.map((r) => ({
      login: r.hidden ? null : r.login,
      bountySats: BigInt(r.bounty),
      tipSats: BigInt(r.tip),
      answerSats: BigInt(r.answer),
      totalSats: BigInt(r.total),
    })),
    funders: funders.map((r) => ({
      login: r.hidden ? null : r.login,
      pledgesClosed: Number(r.closed),
      paidWithin7Days: Number(r.paid),
      reliabilityBps: Number(r.closed) ? Math.floor((Number(r.paid) * 10_000) / Number(r.closed)) : 0,
      paidSats: BigInt(r.paid_sats ?? 0n),
    })),
  };
}

// --- payouts ---

export interface BoardPayout {
  id: bigint;
  /** A person's login (null: left the board) or a charity's name. */
  recipient: string | null;
  charity: boolean;
  sats: bigint;
  /** What the awards it pays were worth, at the prices used. */
  fiat: Array<{ currency: Currency; minor: bigint; price: string | null }>;
  issue: { repo: string; number: number } | null;
  txid: string;
  state: string;
  at: Date;
}

type PayoutRow = {
  id: bigint; payee_kind: string; login: string | null; charity_name: string | null; hidden: boolean; sats: bigint; state: string;
  created_at: Date; txid: string; amounts: unknown; rates: unknown; repo: string | null; issue_number: number | null;
};

const PAYOUT_SELECT = `
  SELECT p.id, p.payee_kind, p.login, p.charity_name, p.sats, p.state, p.created_at, t.txid,
         (p.user_id IS NOT NULL AND EXISTS (SELECT 1 FROM board_hidden h WHERE h.user_id = p.user_id)) AS hidden,
         a.amounts, a.rates, a.repo, a.issue_number
    FROM payouts p JOIN payout_txs t ON t.id = p.tx_id
    LEFT JOIN LATERAL (
      SELECT aw.amounts, aw.rates, b.repo_owner || '/' || b.repo_name AS repo, b.issue_number
        FROM awards aw JOIN bounties b ON b.id = aw.bounty_id
       WHERE aw.payout_id = p.id AND ${visible("b", "$1")} ORDER BY aw.id LIMIT 1) a ON true`;

/** A payout whose awards are all in repositories the board does not show is not shown either. */
const PAYOUT_SHOWN = `(a.repo IS NOT NULL OR NOT EXISTS (SELECT 1 FROM awards aw WHERE aw.payout_id = p.id))`;

const toPayout = (r: PayoutRow): BoardPayout => {
  const amounts = r.amounts ? fromJson<Array<{ currency: Currency; minor: string }>>(r.amounts) : [];
  const rates = r.rates ? fromJson<Record<string, { price?: string }>>(r.rates) : {};
  return {
    id: BigInt(r.id),
    recipient: r.payee_kind === "charity" ? (r.charity_name ?? "a charity") : r.hidden ? null : r.login,
    charity: r.payee_kind === "charity",
    sats: BigInt(r.sats),
    fiat: amounts.filter((a) => a.currency !== "BTC").map((a) => ({ currency: a.currency, minor: BigInt(a.minor), price: rates[a.currency]?.price ?? null })),
    issue: r.repo ? { repo: r.repo, number: Number(r.issue_number) } : null,
    txid: r.txid,
    state: r.state,
    at: new Date(r.created_at),
  };
};

export async function boardPayouts(db: Queryable, o: { page?: number; privateRepos: boolean }): Promise<{ page: number; payouts: BoardPayout[]; more: boolean }> {
  const page = Math.max(1, Math.floor(o.page ?? 1));
  // The page's payouts first (on payouts_board_recent), then their details for those rows only.
  const rows = await db.query<PayoutRow>(
    `${PAYOUT_SELECT} WHERE p.id IN (SELECT x.id FROM payouts x WHERE x.tx_id IS NOT NULL AND x.state IN ('broadcast', 'confirmed')
                                      ORDER BY x.created_at DESC, x.id DESC LIMIT $2 OFFSET $3)
        AND ${PAYOUT_SHOWN}
      ORDER BY p.created_at DESC, p.id DESC`,
    [o.privateRepos, BOARD_PAGE_SIZE + 1, (page - 1) * BOARD_PAGE_SIZE],
  );
  return { page, payouts: rows.slice(0, BOARD_PAGE_SIZE).map(toPayout), more: rows.length > BOARD_PAGE_SIZE };
}

// --- one person ---

export interface BoardUser {
  login: string;
  earnedSats: bigint;
  earned: { bountySats: bigint; tipSats: bigint; answerSats: bigint };
  /** Awards not yet paid (held or credited, in no payout) and payouts not yet on chain. */
  pendingSats: bigint;
  paid: BoardPayout[];
  answers: Array<{ repo: string; issueNumber: number; sats: bigint; at: Date }>;
  pledges: Array<{ repo: string; issueNumber: number; title: string; currency: Currency; minor: bigint; status: string }>;
}

/** One person's page, by login (any case); null when unknown or hidden. */
export async function boardUser(db: Queryable, login: string, privateRepos: boolean): Promise<BoardUser | null> {
  const found = await db.query<{ uid: bigint; login: string }>(
    `SELECT uid, login FROM (
       SELECT recipient_id AS uid, recipient_login AS login, 1 AS o FROM awards WHERE lower(recipient_login) = lower($1)
       UNION ALL SELECT funder_id, funder_login, 2 FROM pledges WHERE funder_id IS NOT NULL AND lower(funder_login) = lower($1)
       UNION ALL SELECT user_id, login, 3 FROM question_prices WHERE lower(login) = lower($1)
       UNION ALL SELECT recipient_id, recipient_login, 4 FROM tips WHERE lower(recipient_login) = lower($1)
       UNION ALL SELECT responder_id, responder_login, 5 FROM question_answers WHERE lower(responder_login) = lower($1)) x
      ORDER BY o LIMIT 1`,
    [login],
  );
  if (!found.length) return null;
  const uid = Number(found[0]!.uid);
  if (await isHidden(db, uid)) return null;
  const [earned] = await db.query<{ bounty: bigint; tip: bigint; answer: bigint }>(
    `SELECT COALESCE(sum(sats) FILTER (WHERE kind = 'bounty'), 0) AS bounty, COALESCE(sum(sats) FILTER (WHERE kind = 'tip'), 0) AS tip,
            COALESCE(sum(sats) FILTER (WHERE kind = 'answer'), 0) AS answer FROM (${EARNINGS}) e WHERE e.uid = $1 AND ${visible("e", "$2")}`,
    [uid, privateRepos],
  );
  const [pending] = await db.query<{ sats: bigint }>(
    `SELECT (SELECT COALESCE(sum(sats), 0) FROM awards WHERE recipient_id = $1 AND state IN ('held', 'credited') AND payout_id IS NULL)
          + (SELECT COALESCE(sum(sats), 0) FROM payouts WHERE user_id = $1 AND payee_kind = 'user' AND source = 'earnings'
                AND state IN ('awaiting_approval', 'queued', 'signed')) AS sats`,
    [uid],
  );
  const paid = await db.query<PayoutRow>(
    `${PAYOUT_SELECT} WHERE p.user_id = $2 AND p.payee_kind = 'user' AND p.state IN ('broadcast', 'confirmed') AND ${PAYOUT_SHOWN}
      ORDER BY p.created_at DESC, p.id DESC LIMIT 100`,
    [privateRepos, uid],
  );
  const answers = await db.query<{ repo: string; issue_number: number; sats: bigint; at: Date }>(
    `SELECT q.repo_owner || '/' || q.repo_name AS repo, q.issue_number, a.sats, a.answered_at AS at
       FROM question_answers a JOIN questions q ON q.id = a.question_id
      WHERE a.responder_id = $1 AND ${visible("q", "$2")} ORDER BY a.answered_at DESC LIMIT 100`,
    [uid, privateRepos],
  );
  const pledges = await db.query<{ repo: string; issue_number: number; issue_title: string; currency: Currency; amount_minor: bigint; status: string }>(
    `SELECT b.repo_owner || '/' || b.repo_name AS repo, b.issue_number, b.issue_title, p.currency, p.amount_minor, p.status
       FROM pledges p JOIN bounties b ON b.id = p.bounty_id
      WHERE p.funder_id = $1 AND p.status IN ('open', 'awarded') AND ${visible("b", "$2")} ORDER BY p.id DESC LIMIT 100`,
    [uid, privateRepos],
  );
  const e = { bountySats: BigInt(earned!.bounty), tipSats: BigInt(earned!.tip), answerSats: BigInt(earned!.answer) };
  return {
    login: found[0]!.login,
    earnedSats: e.bountySats + e.tipSats + e.answerSats,
    earned: e,
    pendingSats: BigInt(pending!.sats),
    paid: paid.map(toPayout),
    answers: answers.map((a) => ({ repo: a.repo, issueNumber: Number(a.issue_number), sats: BigInt(a.sats), at: new Date(a.at) })),
    pledges: pledges.map((p) => ({ repo: p.repo, issueNumber: Number(p.issue_number), title: p.issue_title, currency: p.currency, minor: BigInt(p.amount_minor), status: p.status })),
  };
}

/** Whether the board shows something of this issue: a bounty, a question or a survey. */
export async function issueOnBoard(db: Queryable, repoId: number, issueNumber: number): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM bounties WHERE repo_id = $1 AND issue_number = $2
     UNION ALL SELECT 1 FROM questions WHERE repo_id = $1 AND issue_number = $2
     UNION ALL SELECT 1 FROM surveys WHERE repo_id = $1 AND issue_number = $2 LIMIT 1`,
    [repoId, issueNumber],
  );
  return rows.length > 0;
}
