/**
 * Rewards API benchmark (issue #12): `npm run bench -- rewards`.
 *
 * 16 concurrent HTTP clients (keep-alive) POST /api/v1/rewards for DURATION_MS, each call a new
 * Idempotency-Key, with one token (so every call contends for the same grant account) paying
 * 1 sat to one of 1000 people; then, on the same server and database, the same clients POST a
 * bare endpoint that does one INSERT per request, as the yardstick. On PostgreSQL (DATABASE_URL;
 * a throwaway database is created and dropped) and on PGlite. GitHub is a stand-in here (every
 * login a person): the benchmark measures the API and the ledger, not GitHub. Afterwards the
 * ledger must check clean and the grant must have paid exactly the rewards recorded.
 * Goals on PostgreSQL: ≥ 1,000 rewards/s, p99 ≤ 50 ms, ≥ 0.5 × the bare endpoint's rate.
 * REWARDS_BENCH_MS sets the counted time (default 5000); REWARDS_BENCH_TOKENS spreads the clients
 * over that many tokens (default 1, the worst case: one hot grant account); REWARDS_BENCH_ENGINES
 * (postgres,pglite by default) picks the engines, for profiling one.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import type { ApiGitHub } from "../src/api/github.js";
import { rewardsRoutes } from "../src/api/rewards.js";
import { secretHash } from "../src/api/rules.js";
import { createRouter, sendJson, type Route } from "../src/http/router.js";
import { openDatabase, type Db } from "../src/store/db.js";
import { checkLedgerTotals } from "../src/store/ledgerCheck.js";
import { budgetLeft, fundPeriod, insertToken } from "../src/store/tokens.js";
import { throwawayDatabase } from "./support.js";

const CLIENTS = 16;
const PEOPLE = 1000;
const WARMUP_MS = 1000;
const DURATION_MS = Number(process.env.REWARDS_BENCH_MS || 5000);
/** Tokens the clients share (client c uses token c mod TOKENS); one: every call contends for one grant account. */
const TOKENS = Number(process.env.REWARDS_BENCH_TOKENS || 1);
const ENGINES = new Set((process.env.REWARDS_BENCH_ENGINES || "postgres,pglite").split(",").map((e) => e.trim()));
const BUDGET_SATS = 1_000_000_000_000n;
const GOALS = { postgresRewardsPerS: 1000, p99Ms: 50, ratioToBare: 0.5 };
const log = pino({ level: "silent" });

const everyoneIsAPerson: ApiGitHub = {
  user: async (who) => ("login" in who ? { id: 1_000_000 + Number(who.login.slice(1)), login: who.login, type: "User" } : null),
  installationOf: async () => null,
};

interface Measured {
  perS: number;
  p50: number;
  p99: number;
  done: number;
  failed: number;
}

/** CLIENTS loops of `call` for WARMUP_MS uncounted then DURATION_MS counted; latencies in ms. */
async function loops(call: (client: number, i: number) => Promise<boolean>): Promise<Measured> {
  const t0 = performance.now();
  const countFrom = t0 + WARMUP_MS;
  const end = countFrom + DURATION_MS;
  const latencies: number[] = [];
  let failed = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        const s = performance.now();
        const ok = await call(c, i);
        const e = performance.now();
        if (s >= countFrom && e <= end) {
          if (ok) latencies.push(e - s);
          else failed++;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { perS: latencies.length / (DURATION_MS / 1000), p50: at(0.5), p99: at(0.99), done: latencies.length, failed };
}

async function measure(engine: string, db: Db): Promise<{ rewards: Measured; bare: Measured; problems: string[] }> {
  await db.exec("CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, v text NOT NULL)");
  const tokens = await Promise.all(
    Array.from({ length: TOKENS }, async () => {
      const secret = randomBytes(32).toString("base64url");
      const t = await db.transaction(async (tx) => {
        const t = await insertToken(tx, { name: `bench-${randomBytes(3).toString("hex")}`, secretHash: secretHash(secret), budget: { limit: { currency: "BTC", minor: BUDGET_SATS }, windowMs: 86_400_000 }, repos: null, recipientCap: null });
        await fundPeriod(tx, t.id, 0, BUDGET_SATS, null);
        return t;
      });
      return { id: t.id, auth: `Bearer bbt_${t.id}_${secret}` };
    }),
  );
  const bare: Route = {
    method: "POST",
    path: "/bench/bare",
    async handle(req, res, ctx) {
      const body = await ctx.body();
      await db.query("INSERT INTO bench_bare (v) VALUES ($1)", [body.toString("utf8").slice(0, 100)]);
      sendJson(req, res, 201, { ok: true });
    },
  };
  const routes = [...rewardsRoutes({ db, log, github: everyoneIsAPerson, defaultCurrency: "USD", accounts: () => new Set(), rate: { perSecond: 1e9, burst: 1e9 } }), bare];
  const server = createServer(createRouter(routes, { log }));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const run = randomBytes(3).toString("hex");
  try {
    const rewards = await loops(async (c, i) => {
      const res = await fetch(`${base}/api/v1/rewards`, {
        method: "POST",
        headers: { authorization: tokens[c % TOKENS]!.auth, "idempotency-key": `${run}-${c}-${i}`, "content-type": "application/json" },
        body: JSON.stringify({ recipient: `p${(c * 7919 + i) % PEOPLE}`, amount: "1sats", reason: "bench" }),
      });
      await res.arrayBuffer();
      return res.status === 201;
    });
    const bareRun = await loops(async (c, i) => {
      const res = await fetch(`${base}/bench/bare`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ c, i }) });
      await res.arrayBuffer();
      return res.status === 201;
    });
    const problems = [...(await checkLedgerTotals(db)).problems];
    for (const token of tokens) {
      const [recorded] = await db.query<{ sats: bigint }>("SELECT coalesce(sum(sats), 0) AS sats FROM api_rewards WHERE token_id = $1", [token.id]);
      const spent = BUDGET_SATS - (await budgetLeft(db, token.id));
      if (BigInt(recorded!.sats) !== spent) problems.push(`${engine}: token ${token.id}'s grant paid ${spent} sats but its rewards recorded ${recorded!.sats}`);
    }
    return { rewards, bare: bareRun, problems };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const line = (engine: string, what: string, m: Measured) =>
  `${engine.padEnd(10)} ${what.padEnd(8)} ${m.perS.toFixed(0).padStart(7)}/s  p50 ${m.p50.toFixed(1).padStart(6)} ms  p99 ${m.p99.toFixed(1).padStart(6)} ms  (${m.done} ok, ${m.failed} failed)`;

export async function run(): Promise<void> {
  const rows: Array<{ goal: string; value: string; limit: string; ok: boolean }> = [];
  const problems: string[] = [];
  const serverUrl = process.env.DATABASE_URL;
  if (!ENGINES.has("postgres")) {
    rows.push({ goal: "PostgreSQL rewards/s", value: "not measured", limit: `≥ ${GOALS.postgresRewardsPerS}`, ok: false });
  } else if (serverUrl) {
    const d = await throwawayDatabase(serverUrl, "bounty_rewards");
    const db = await openDatabase({ databaseUrl: d.url });
    try {
      const m = await measure("postgres", db);
      console.log(line("postgres", "rewards", m.rewards));
      console.log(line("postgres", "bare", m.bare));
      problems.push(...m.problems, ...(m.rewards.failed ? [`postgres: ${m.rewards.failed} rewards failed`] : []));
      rows.push({ goal: "PostgreSQL rewards/s", value: m.rewards.perS.toFixed(0), limit: `≥ ${GOALS.postgresRewardsPerS}`, ok: m.rewards.perS >= GOALS.postgresRewardsPerS });
      rows.push({ goal: "PostgreSQL p99", value: `${m.rewards.p99.toFixed(1)} ms`, limit: `≤ ${GOALS.p99Ms} ms`, ok: m.rewards.p99 <= GOALS.p99Ms });
      const ratio = m.rewards.perS / m.bare.perS;
      rows.push({ goal: "PostgreSQL rewards / bare INSERT", value: ratio.toFixed(2), limit: `≥ ${GOALS.ratioToBare}`, ok: ratio >= GOALS.ratioToBare });
    } finally {
      await db.close();
      await d.drop();
    }
  } else {
    console.log("DATABASE_URL is not set: the PostgreSQL goals are not measured (MISS).");
    rows.push({ goal: "PostgreSQL rewards/s", value: "not measured", limit: `≥ ${GOALS.postgresRewardsPerS}`, ok: false });
  }
  if (ENGINES.has("pglite")) {
    const lite = await openDatabase({ dataDir: "memory://" });
    try {
      const m = await measure("pglite", lite);
      console.log(line("pglite", "rewards", m.rewards));
      console.log(line("pglite", "bare", m.bare));
      problems.push(...m.problems, ...(m.rewards.failed ? [`pglite: ${m.rewards.failed} rewards failed`] : []));
      rows.push({ goal: "PGlite rewards / bare INSERT (no goal)", value: (m.rewards.perS / m.bare.perS).toFixed(2), limit: "report only", ok: true });
    } finally {
      await lite.close();
    }
  }
  rows.push({ goal: "ledger clean, grant spent = rewards recorded", value: problems.length ? problems.join("; ") : "yes", limit: "yes", ok: problems.length === 0 });
  console.log(`(${CLIENTS} clients, ${TOKENS} token(s), ${DURATION_MS} ms counted after ${WARMUP_MS} ms warm-up)`);
  console.log("");
  for (const r of rows) console.log(`${r.ok ? "PASS" : "MISS"}  ${r.goal.padEnd(46)} ${r.value.padStart(14)}  (goal ${r.limit})`);
  console.log(rows.every((r) => r.ok) ? "PASS: every goal met" : "MISS: some goals not met");
}
