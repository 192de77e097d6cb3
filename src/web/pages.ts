/**
 * The board's pages, rendered from the store's read models through `html` (every interpolation
 * escaped). No script anywhere: filters are a GET form and links, so the pages read the same with
 * JavaScript off.
 */
import { CURRENCIES, formatAmount, type Currency } from "../core/money.js";
import type { BoardBounty, BoardPayout, BoardUser, BountyFilter, Earner, Expert, Funder, Period } from "../store/board.js";
import { html, type Html, type Value } from "./html.js";

export const STYLE_PATH = "/board/style.css";

const NAV: Array<{ href: string; label: string; key: string }> = [
  { href: "/board", label: "Bounties", key: "board" },
  { href: "/board/experts", label: "Experts", key: "experts" },
  { href: "/board/leaderboard", label: "Leaderboard", key: "leaderboard" },
  { href: "/board/payouts", label: "Payouts", key: "payouts" },
];

export function layout(o: { title: string; current: string; body: Html }): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${o.title} · bounty-bot</title>
<link rel="stylesheet" href="${STYLE_PATH}">
</head>
<body>
<header>
<a class="brand" href="/board">bounty-bot board</a>
<nav aria-label="Board"><ul>${NAV.map(
    (n) => html`<li><a href="${n.href}"${n.key === o.current ? html` aria-current="page"` : ""}>${n.label}</a></li>`,
  )}</ul></nav>
</header>
<main id="main">
${o.body}
</main>
<footer><p>Bounties for Kubernetes work, paid in bitcoin. Every payout links to its transaction; the <a href="/api/v1/solvency">solvency report</a> shows what is owed and what is held.</p></footer>
</body>
</html>
`;
}

export const sats = (n: bigint): string => formatAmount({ currency: "BTC", minor: n });
const who = (login: string | null): Html => (login === null ? html`<span class="muted">anonymous</span>` : html`<a href="${userPath(login)}">${login}</a>`);
export const userPath = (login: string): string => `/u/${encodeURIComponent(login)}`;
const issueUrl = (repo: string, n: number) => `https://github.com/${repo}/issues/${n}`;

export function age(from: Date, now: Date): string {
  const s = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 1000));
  const [n, unit] = s < 3600 ? [Math.floor(s / 60), "minute"] : s < 86_400 ? [Math.floor(s / 3600), "hour"] : [Math.floor(s / 86_400), "day"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

export function duration(seconds: number): string {
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

/** The query string of the board's filters, with one value changed. */
export function boardQuery(f: Partial<BountyFilter>, change: Partial<Record<"repo" | "label" | "currency" | "min" | "sort" | "page", string | undefined>>): string {
  const q = new URLSearchParams();
  const cur: Record<string, string | undefined> = {
    repo: f.repo,
    label: f.label,
    currency: f.currency,
    min: f.minSats !== undefined ? String(f.minSats) : undefined,
    sort: f.sort === "age" ? "age" : undefined,
    page: f.page && f.page > 1 ? String(f.page) : undefined,
  };
  for (const [k, v] of Object.entries({ ...cur, ...change })) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `/board?${s}` : "/board";
}

const CHIP = /^(sig|kind|area)\//;

function chips(b: BoardBounty, f: Partial<BountyFilter>): Value {
  const shown = b.labels.filter((l) => CHIP.test(l));
  if (!shown.length) return "";
  return html`<ul class="chips" aria-label="Labels">${shown.map((l) => html`<li><a class="chip" href="${boardQuery(f, { label: l, page: undefined })}">${l}</a></li>`)}</ul>`;
}

function beside(b: BoardBounty, now: Date): Value {
  const items: Html[] = [
    ...b.questions.map((q) => html`<li>Question to ${q.target}: ${sats(q.sats)}${q.slots > 1 ? ` × ${q.slots}` : ""}, open ${age(now, q.expiresAt)} more</li>`),
    ...b.surveys.map((s) => html`<li>Survey: ${sats(s.sats)} each, ${s.responses} of ${s.slots} answered</li>`),
  ];
  return items.length ? html`<ul class="muted">${items}</ul>` : "";
}

export function boardPage(o: {
  result: { total: number; page: number; pages: number; bounties: BoardBounty[] };
  facets: { repos: string[]; labels: string[] };
  filter: Partial<BountyFilter>;
  now: Date;
}): Html {
  const f = o.filter;
  const option = (value: string, label: string, selected: boolean) => html`<option value="${value}"${selected ? html` selected` : ""}>${label}</option>`;
  const rows = o.result.bounties.map(
    (b) => html`<tr>
<td><a href="${b.url}">${b.title || `#${b.issueNumber}`}</a><div class="muted">${b.repo}#${b.issueNumber}</div>${chips(b, f)}${beside(b, o.now)}</td>
<td class="num">${b.amounts.map((a, i) => html`${i ? html`<br>` : ""}${formatAmount(a)}`)}${b.amounts.some((a) => a.currency !== "BTC") ? html`<div class="muted">${sats(b.sats)}</div>` : ""}</td>
<td>${b.funders.map((x, i) => html`${i ? ", " : ""}${who(x)}`)}</td>
<td>${b.assignees.length ? html`<span class="taken">Taken:</span> ${b.assignees.map((x, i) => html`${i ? ", " : ""}${who(x)}`)}` : html`<span class="muted">nobody yet</span>`}</td>
<td class="num">${age(b.createdAt, o.now)}</td>
</tr>`,
  );
  const { page, pages } = o.result;
  const body = html`<h1>Open bounties</h1>
<p class="muted">${o.result.total} ${o.result.total === 1 ? "bounty" : "bounties"}; a bounty is paid in bitcoin when a merged pull request closes its issue. Someone assigned on GitHub (<code>/assign</code>) is working on it.</p>
<form class="filters" method="get" action="/board" role="search" aria-label="Filter bounties">
<label for="f-repo">Repository<select id="f-repo" name="repo">${option("", "All", !f.repo)}${o.facets.repos.map((r) => option(r, r, f.repo === r))}</select></label>
<label for="f-label">Label<select id="f-label" name="label">${option("", "Any", !f.label)}${[...new Set([...o.facets.labels, ...(f.label ? [f.label] : [])])].map((l) => option(l, l, f.label === l))}</select></label>
<label for="f-currency">Currency<select id="f-currency" name="currency">${option("", "Any", !f.currency)}${CURRENCIES.map((c) => option(c, c, f.currency === c))}</select></label>
<label for="f-min">At least (sats)<input id="f-min" name="min" type="number" min="0" step="1" inputmode="numeric" value="${f.minSats !== undefined ? String(f.minSats) : ""}"></label>
<label for="f-sort">Sort<select id="f-sort" name="sort">${option("amount", "Largest first", f.sort !== "age")}${option("age", "Oldest first", f.sort === "age")}</select></label>
<button type="submit">Filter</button>${f.repo || f.label || f.currency || f.minSats !== undefined ? html` <a href="/board">Clear</a>` : ""}
</form>
<table>
<caption>Open bounties, ${f.sort === "age" ? "oldest first" : "largest first"}; page ${page} of ${pages}</caption>
<thead><tr><th scope="col">Issue</th><th scope="col" class="num">Amount</th><th scope="col">Funders</th><th scope="col">Working on it</th><th scope="col" class="num">Age</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="5">No open bounties match.</td></tr>`}</tbody>
</table>
${pager(page, pages, (p) => boardQuery(f, { page: String(p) }))}`;
  return layout({ title: "Open bounties", current: "board", body });
}

function pager(page: number, pages: number, href: (p: number) => string): Value {
  if (pages <= 1 && page <= 1) return "";
  return html`<nav class="pager" aria-label="Pages">${page > 1 ? html`<a rel="prev" href="${href(page - 1)}">Previous page</a>` : ""}${page < pages ? html`<a rel="next" href="${href(page + 1)}">Next page</a>` : ""}</nav>`;
}

export function expertsPage(o: { experts: Expert[] }): Html {
  const rows = o.experts.map(
    (e) => html`<tr>
<td><a href="${userPath(e.login)}">${e.login}</a></td>
<td class="num">${formatAmount(e.price)}${e.charityId ? html`<div class="muted">donated to ${e.charityId}</div>` : ""}</td>
<td class="num">${e.answers}</td>
<td class="num">${e.medianAnswerSeconds === null ? "—" : duration(e.medianAnswerSeconds)}</td>
<td>${e.lists.length ? html`<ul class="chips">${e.lists.map((l) => html`<li><span class="chip">${l}</span></li>`)}</ul>` : html`<span class="muted">—</span>`}</td>
<td><code>/ask @${e.login} what about</code></td>
</tr>`,
  );
  const body = html`<h1>Expert directory</h1>
<p class="muted">People who answer paid questions. Ask one in a comment on any issue of a repository the app serves; the price is held in escrow and paid with the answer.</p>
<table>
<caption>Experts by answers given</caption>
<thead><tr><th scope="col">Expert</th><th scope="col" class="num">Price</th><th scope="col" class="num">Answers</th><th scope="col" class="num">Median time to answer</th><th scope="col">Teams and lists</th><th scope="col">How to ask</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="6">Nobody has set a price yet (<code>/price</code>).</td></tr>`}</tbody>
</table>`;
  return layout({ title: "Experts", current: "experts", body });
}

const PERIOD_LABEL: Record<Period, string> = { week: "This week", month: "This month", all: "All time" };

export function leaderboardPage(o: { period: Period; earners: Earner[]; funders: Funder[] }): Html {
  const periods = (Object.keys(PERIOD_LABEL) as Period[]).map(
    (p) => html`<li><a class="chip" href="/board/leaderboard?period=${p}"${p === o.period ? html` aria-current="true"` : ""}>${PERIOD_LABEL[p]}</a></li>`,
  );
  const earners = o.earners.map(
    (e, i) => html`<tr><td class="num">${i + 1}</td><td>${who(e.login)}</td><td class="num">${sats(e.bountySats)}</td><td class="num">${sats(e.tipSats)}</td><td class="num">${sats(e.answerSats)}</td><td class="num"><strong>${sats(e.totalSats)}</strong></td></tr>`,
  );
  const funders = o.funders.map(
    (f) => html`<tr><td>${who(f.login)}</td><td class="num">${(f.reliabilityBps / 100).toFixed(0)}%</td><td class="num">${f.paidWithin7Days} of ${f.pledgesClosed}</td><td class="num">${sats(f.paidSats)}</td></tr>`,
  );
  const body = html`<h1>Leaderboard</h1>
<nav aria-label="Period"><ul class="chips">${periods}</ul></nav>
<h2 id="contributors">Contributors by sats earned</h2>
<table aria-labelledby="contributors">
<caption>${PERIOD_LABEL[o.period]}: bounties, tips and answers</caption>
<thead><tr><th scope="col" class="num">#</th><th scope="col">Contributor</th><th scope="col" class="num">Bounties</th><th scope="col" class="num">Tips</th><th scope="col" class="num">Answers</th><th scope="col" class="num">Total</th></tr></thead>
<tbody>${earners.length ? earners : html`<tr><td colspan="6">Nothing earned in this period yet.</td></tr>`}</tbody>
</table>
<h2 id="funders">Funders by reliability</h2>
<table aria-labelledby="funders">
<caption>Share of pledges on closed issues paid within 7 days of the issue closing</caption>
<thead><tr><th scope="col">Funder</th><th scope="col" class="num">Reliability</th><th scope="col" class="num">Paid within 7 days</th><th scope="col" class="num">Total paid</th></tr></thead>
<tbody>${funders.length ? funders : html`<tr><td colspan="4">No pledges on closed issues in this period.</td></tr>`}</tbody>
</table>`;
  return layout({ title: "Leaderboard", current: "leaderboard", body });
}

export interface SolvencySummary {
  owedSats: bigint;
  heldSats: bigint | null;
  covers: boolean | null;
  generatedAt: string;
  note?: string;
}

function txLink(txid: string, explorer: string | null): Html {
  return explorer ? html`<a href="${explorer + txid}"><code>${txid}</code></a>` : html`<code>${txid}</code>`;
}

function fiat(p: BoardPayout): Value {
  if (!p.fiat.length) return html`<span class="muted">—</span>`;
  return p.fiat.map((f, i) => html`${i ? html`<br>` : ""}${formatAmount({ currency: f.currency as Currency, minor: f.minor })}${f.price ? html` <span class="muted">at ${f.price}/BTC</span>` : ""}`);
}

function payoutRows(ps: BoardPayout[], explorer: string | null, withRecipient: boolean): Html[] {
  return ps.map(
    (p) => html`<tr>
${withRecipient ? html`<td>${p.charity ? html`${p.recipient} <span class="muted">(charity)</span>` : who(p.recipient)}</td>` : ""}
<td class="num">${sats(p.sats)}</td><td class="num">${fiat(p)}</td>
<td>${p.issue ? html`<a href="${issueUrl(p.issue.repo, p.issue.number)}">${p.issue.repo}#${p.issue.number}</a>` : html`<span class="muted">—</span>`}</td>
<td>${txLink(p.txid, explorer)}<div class="muted">${p.state}</div></td>
<td class="num">${p.at.toISOString().slice(0, 10)}</td>
</tr>`,
  );
}

export function payoutsPage(o: { payouts: BoardPayout[]; page: number; more: boolean; explorer: string | null; solvency: SolvencySummary | null }): Html {
  const s = o.solvency;
  const summary = s
    ? html`<section class="summary" aria-label="Solvency">
<div>Owed<strong>${sats(s.owedSats)}</strong><span class="muted">to people, charities and escrow</span></div>
<div>Held on chain<strong>${s.heldSats === null ? "—" : sats(s.heldSats)}</strong><span class="muted">${s.note ?? "the payout wallet's coins"}</span></div>
<div>Covered<strong>${s.covers === null ? "unknown" : s.covers ? "yes" : "NO"}</strong><span class="muted">as of ${s.generatedAt}; <a href="/api/v1/solvency">the report</a></span></div>
</section>`
    : html`<p class="muted">The solvency report cannot be read just now.</p>`;
  const body = html`<h1>Payouts</h1>
${summary}
<table>
<caption>Recent payouts, newest first; each transaction can be checked on a block explorer</caption>
<thead><tr><th scope="col">Recipient</th><th scope="col" class="num">Sats</th><th scope="col" class="num">Fiat at the rate used</th><th scope="col">Issue</th><th scope="col">Transaction</th><th scope="col" class="num">Date</th></tr></thead>
<tbody>${o.payouts.length ? payoutRows(o.payouts, o.explorer, true) : html`<tr><td colspan="6">No payouts yet.</td></tr>`}</tbody>
</table>
${pager(o.page, o.more ? o.page + 1 : o.page, (p) => `/board/payouts?page=${p}`)}`;
  return layout({ title: "Payouts", current: "payouts", body });
}

export function userPage(o: { user: BoardUser; explorer: string | null; now: Date }): Html {
  const u = o.user;
  const body = html`<h1>${u.login}</h1>
<section class="summary" aria-label="Totals">
<div>Earned<strong>${sats(u.earnedSats)}</strong><span class="muted">bounties ${sats(u.earned.bountySats)}, tips ${sats(u.earned.tipSats)}, answers ${sats(u.earned.answerSats)}</span></div>
<div>Paid<strong>${sats(u.paid.reduce((t, p) => t + p.sats, 0n))}</strong><span class="muted">in ${u.paid.length} ${u.paid.length === 1 ? "payout" : "payouts"}</span></div>
<div>Pending<strong>${sats(u.pendingSats)}</strong><span class="muted">awarded, not yet on chain</span></div>
</section>
<h2 id="paid">Payouts</h2>
<table aria-labelledby="paid">
<thead><tr><th scope="col" class="num">Sats</th><th scope="col" class="num">Fiat at the rate used</th><th scope="col">Issue</th><th scope="col">Transaction</th><th scope="col" class="num">Date</th></tr></thead>
<tbody>${u.paid.length ? payoutRows(u.paid, o.explorer, false) : html`<tr><td colspan="5">No payouts yet.</td></tr>`}</tbody>
</table>
<h2 id="answers">Answers</h2>
${u.answers.length ? html`<ul>${u.answers.map((a) => html`<li><a href="${issueUrl(a.repo, a.issueNumber)}">${a.repo}#${a.issueNumber}</a>: ${sats(a.sats)}, ${age(a.at, o.now)} ago</li>`)}</ul>` : html`<p class="muted">No paid answers.</p>`}
<h2 id="pledges">Pledges made</h2>
${u.pledges.length ? html`<ul>${u.pledges.map((p) => html`<li><a href="${issueUrl(p.repo, p.issueNumber)}">${p.title || `${p.repo}#${p.issueNumber}`}</a> <span class="muted">${p.repo}#${p.issueNumber}</span>: ${formatAmount({ currency: p.currency, minor: p.minor })} (${p.status})</li>`)}</ul>` : html`<p class="muted">No pledges.</p>`}`;
  return layout({ title: u.login, current: "", body });
}

export function notFoundPage(text: string): Html {
  return layout({ title: "Not found", current: "", body: html`<h1>Not found</h1><p>${text}</p><p><a href="/board">Back to the board</a></p>` });
}

