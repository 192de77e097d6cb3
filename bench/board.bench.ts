/**
 * Public board benchmark (issue 13): `npm run bench -- board`.
 *
 * Seeds 10,000 open bounties (each with a pledge, labels and an assignee, over 20 public
 * repositories), 100,000 payouts in 100,000 transactions with their awards, 500 experts and 5,000
 * answers, then asks each page and JSON twin REQUESTS times, one request at a time, and reports the
 * server time (the router's own measure, from the request to the last byte written) at p50 and
 * p99. Goal: /board under 50 ms at p50 (the verdict; p99 is shown beside it, and on a busy two-core
 * machine it carries other processes' pauses). On PGlite, and on PostgreSQL when DATABASE_URL is set (a
 * throwaway database is created and dropped). BOARD_BENCH_REQUESTS sets the count (default 100).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { boardRoutes } from "../src/http/board.js";
import { createRouter } from "../src/http/router.js";
import { openDatabase, type Db } from "../src/store/db.js";
import { throwawayDatabase } from "./support.js";

const BOUNTIES = 10_000;
const PAYOUTS = 100_000;
const REQUESTS = Number(process.env.BOARD_BENCH_REQUESTS || 100);
const WARMUP = 10;
const GOAL_MS = 50;
const log = pino({ level: "silent" });

const PATHS = [
  "/board",
  "/board?sort=age&page=20",
  "/board?label=sig%2Fnode",
  "/board?repo=kubernetes%2Frepo-3&min=50000",
  "/api/v1/bounties",
  "/board/experts",
  "/board/leaderboard?period=month",
  "/api/v1/leaderboard?period=all",
  "/board/payouts",
  "/board/payouts?page=100",
  "/u/user-42",
];

export async function seed(db: Db): Promise<void> {
  await db.exec(`
    INSERT INTO board_repos (repo_id, full_name, private) SELECT 1000 + r, 'kubernetes/repo-' || r, false FROM generate_series(0, 19) r;
    INSERT INTO bounties (installation_id, repo_id, repo_owner, repo_name, issue_number, issue_title, status, created_at)
      SELECT 2, 1000 + (i % 20), 'kubernetes', 'repo-' || (i % 20), i, 'Issue number ' || i || ' needs work', 'open', now() - (i || ' minutes')::interval
        FROM generate_series(1, ${BOUNTIES}) i;
    INSERT INTO board_issues (repo_id, issue_number, labels, assignees, html_url, updated_at)
      SELECT 1000 + (i % 20), i, ARRAY['sig/' || (ARRAY['node','cli','docs','network','storage'])[1 + i % 5], 'kind/bug', 'area/x' || (i % 7)],
             CASE WHEN i % 3 = 0 THEN jsonb_build_array(jsonb_build_object('id', 500000 + i % 1000, 'login', 'user-' || (i % 1000))) ELSE '[]'::jsonb END,
             'https://github.com/kubernetes/repo-' || (i % 20) || '/issues/' || i, now()
        FROM generate_series(1, ${BOUNTIES}) i;
    INSERT INTO pledges (bounty_id, funder_key, funder_id, funder_login, currency, amount_minor, status, value_sats)
      SELECT b.id, 'user:' || (600000 + b.id % 300), 600000 + b.id % 300, 'funder-' || (b.id % 300),
             CASE WHEN b.id % 2 = 0 THEN 'BTC' ELSE 'USD' END, 1000 + (b.id * 37) % 100000, 'open', 1000 + (b.id * 7919) % 200000
        FROM bounties b;
    INSERT INTO bounties (installation_id, repo_id, repo_owner, repo_name, issue_number, issue_title, status, created_at, issue_state, issue_closed_at)
      SELECT 2, 1000 + (i % 20), 'kubernetes', 'repo-' || (i % 20), 100000 + i, 'Paid issue ' || i, 'paid', now() - interval '60 days', 'completed', now() - (i % 90 || ' days')::interval
        FROM generate_series(1, 1000) i;
    INSERT INTO payout_txs (txid, hex, network, fee_sats, fee_rate_sat_kvb, vsize, payout_sats, inputs, outputs, day_utc, state)
      SELECT lpad(to_hex(i), 64, '0'), '00', 'testnet', 200, 2000, 100, 10000, '[]', '[]', '2024-01-01', 'confirmed' FROM generate_series(1, ${PAYOUTS}) i;
    INSERT INTO payouts (payee_kind, user_id, login, address, address_type, network, sats, state, tx_id, vout, created_at)
      SELECT 'user', 500000 + t.id % 1000, 'user-' || (t.id % 1000), 'tb1qbench', 'p2wpkh', 'testnet', 1000 + t.id % 50000, 'confirmed', t.id, 0,
             now() - ((t.id % 400) || ' days')::interval - (t.id || ' seconds')::interval
        FROM payout_txs t;
    INSERT INTO awards (bounty_id, recipient_id, recipient_login, share_bps, amounts, source, hold_until, state, sats, rates, priced_at, payout_id)
      SELECT b.id, p.user_id, p.login, 10000, '[{"currency": "USD", "minor": "500"}]', 'command', p.created_at, 'credited', p.sats, '{"USD": {"price": "60000"}}', p.created_at, p.id
        FROM payouts p JOIN bounties b ON b.issue_number = 100000 + 1 + p.id % 1000 AND b.status = 'paid';
    INSERT INTO pledges (bounty_id, funder_key, funder_id, funder_login, currency, amount_minor, status, value_sats)
      SELECT b.id, 'user:' || (600000 + b.id % 300), 600000 + b.id % 300, 'funder-' || (b.id % 300), 'BTC', 50000, 'awarded', 50000
        FROM bounties b WHERE b.status = 'paid';
    INSERT INTO question_prices (user_id, login, currency, amount_minor) SELECT 500000 + i, 'user-' || i, 'USD', 1000 + i FROM generate_series(0, 499) i;
    INSERT INTO questions (ask_key, installation_id, repo_id, repo_owner, repo_name, issue_number, ask_comment_id, asker_id, asker_login, target_kind, target, asked_id,
        currency, amount_minor, sats, slots, payer, min_reply_chars, state, created_at, expires_at, closed_at)
      SELECT 'q' || i, 2, 1000 + (i % 20), 'kubernetes', 'repo-' || (i % 20), 1 + i % ${BOUNTIES}, i, 600000 + i % 300, 'funder-' || (i % 300), 'person', 'user-' || (i % 500), 500000 + i % 500,
             'BTC', 5000, 5000, 1, 'person', 20, CASE WHEN i % 10 = 0 THEN 'open' ELSE 'answered' END, now() - (i || ' minutes')::interval, now() + interval '7 days',
             CASE WHEN i % 10 = 0 THEN NULL ELSE now() END
        FROM generate_series(1, 5500) i;
    INSERT INTO question_answers (question_id, slot, responder_id, responder_login, comment_id, sats, answered_at)
      SELECT q.id, 0, q.asked_id, q.target, 900000 + q.id, q.sats, q.created_at + ((q.id % 300) || ' minutes')::interval FROM questions q WHERE q.state = 'answered';
    ANALYZE;
  `);
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function measure(engine: string, db: Db): Promise<boolean> {
  const t0 = performance.now();
  await seed(db);
  console.log(`${engine}: seeded ${BOUNTIES} open bounties and ${PAYOUTS} payouts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const times = new Map<string, number[]>();
  let current = "";
  const router = createRouter(boardRoutes({ db, enabled: true, privateRepos: false, explorerUrl: "https://mempool.space/testnet/tx/", log }), {
    log,
    onResponse: (r) => times.get(current)?.push(r.ms),
  });
  const server = createServer(router);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let pass = true;
  try {
    for (const path of PATHS) {
      current = "";
      for (let i = 0; i < WARMUP; i++) await (await fetch(base + path)).arrayBuffer();
      current = path;
      times.set(path, []);
      for (let i = 0; i < REQUESTS; i++) {
        const res = await fetch(base + path);
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      }
      const xs = times.get(path)!;
      const line = `${engine.padEnd(8)} ${path.padEnd(44)} p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms  p99 ${pct(xs, 99).toFixed(1).padStart(7)} ms`;
      if (path === "/board") {
        const ok = pct(xs, 50) < GOAL_MS;
        pass &&= ok;
        console.log(`${line}  ${ok ? "PASS" : "MISS"} (goal p50 < ${GOAL_MS} ms)`);
      } else console.log(line);
    }
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  return pass;
}

export async function run(): Promise<void> {
  const results: boolean[] = [];
  const lite = await openDatabase({ dataDir: "memory://board-bench", log });
  try {
    results.push(await measure("pglite", lite));
  } finally {
    await lite.close();
  }
  if (process.env.DATABASE_URL) {
    const t = await throwawayDatabase(process.env.DATABASE_URL, "bounty_board");
    const db = await openDatabase({ databaseUrl: t.url, log });
    try {
      results.push(await measure("postgres", db));
    } finally {
      await db.close();
      await t.drop();
    }
  }
  if (!results.every(Boolean)) throw new Error("board: MISS (/board p50 over the goal)");
  console.log("board: PASS");
}
