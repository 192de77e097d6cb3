/**
 * Ledger benchmark (issue #10): `npm run bench -- ledger`.
 *
 * 1. Transfers per second between random personal accounts, 8 concurrent clients, each a loop of
 *    `transferNow` for DURATION_MS, on PostgreSQL and on PGlite; then, with the same clients on the
 *    same database, a bare single-row INSERT loop for as long, as the yardstick. Afterwards the
 *    ledger must still check clean and the personal accounts must hold exactly what was seeded:
 *    a benchmark that loses a sat is a MISS whatever its speed.
 * 2. `ledger check` (checkLedgerTotals) over CHECK_TRANSFERS transfers bulk-loaded with SQL (on
 *    PGlite, which has no goal here, PGLITE_CHECK_TRANSFERS), the account totals set to match: the
 *    median of three runs after one warm-up; then one row corrupted, which the check must report.
 * PostgreSQL is the server DATABASE_URL names (throwaway databases are created on it and
 * dropped); without it the PostgreSQL goals are not measured and count as MISS.
 */
import { fundsOf, WALLET } from "../src/ledger/rules.js";
import { openDatabase, type Db } from "../src/store/db.js";
import { transferNow } from "../src/store/ledger.js";
import { checkLedgerTotals } from "../src/store/ledgerCheck.js";
import { rng, throwawayDatabase } from "./support.js";

const CLIENTS = 8;
const ACCOUNTS = 1000;
const SEED_SATS = 1_000_000_000n;
const WARMUP_MS = 1000;
const DURATION_MS = Number(process.env.LEDGER_BENCH_MS || 5000);
const CHECK_TRANSFERS = 1_000_000;
/** PGlite has no goal for the check; a smaller ledger keeps its bulk load (about a minute per million) short. */
const PGLITE_CHECK_TRANSFERS = 200_000;
const GOALS = { postgresTransfersPerS: 3000, ratioToBare: 0.5, checkMs: 2000 };

interface Row {
  goal: string;
  value: string;
  limit: string;
  ok: boolean;
}


/** Runs `step` in CLIENTS concurrent loops: WARMUP_MS uncounted, then DURATION_MS counted. */
async function loops(step: (client: number, i: number, r: () => number) => Promise<boolean>): Promise<{ done: number; refused: number; ms: number }> {
  let counting = false;
  let done = 0;
  let refused = 0;
  const t0 = performance.now();
  let started = 0;
  const end = t0 + WARMUP_MS + DURATION_MS;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const r = rng(1000 + c);
      for (let i = 0; performance.now() < end; i++) {
        if (!counting && performance.now() >= t0 + WARMUP_MS) {
          counting = true;
          started = performance.now();
        }
        const ok = await step(c, i, r);
        if (counting) ok ? done++ : refused++;
      }
    }),
  );
  return { done, refused, ms: performance.now() - started };
}

async function transfersAgainstBare(db: Db, engine: string, rows: Row[]): Promise<void> {
  const users = Array.from({ length: ACCOUNTS }, (_, i) => 1 + i);
  for (const u of users) {
    const r = await transferNow(db, { key: `seed:${u}`, debit: WALLET, credit: fundsOf(u), sats: SEED_SATS, kind: "deposit" });
    if (!r.ok) throw new Error(`seeding funds:${u} was refused: ${r.reason}`);
  }
  const t = await loops(async (c, i, r) => {
    const from = users[Math.floor(r() * ACCOUNTS)]!;
    let to = users[Math.floor(r() * (ACCOUNTS - 1))]!;
    if (to >= from) to++;
    const res = await transferNow(db, {
      key: `bench:${c}:${i}`,
      debit: fundsOf(from),
      credit: fundsOf(to),
      sats: BigInt(1 + Math.floor(r() * 10_000)),
      kind: "correction",
    });
    return res.ok;
  });
  await db.exec("CREATE TABLE bench_bare_inserts (id bigserial PRIMARY KEY, k text NOT NULL, sats bigint NOT NULL)");
  const b = await loops(async (c, i, r) => {
    await db.query("INSERT INTO bench_bare_inserts (k, sats) VALUES ($1, $2)", [`bare:${c}:${i}`, BigInt(1 + Math.floor(r() * 10_000))]);
    return true;
  });
  const tps = (t.done / t.ms) * 1000;
  const ips = (b.done / b.ms) * 1000;
  const ratio = tps / ips;
  console.log(
    `${engine}: ${tps.toFixed(0)} transfers/s (${t.done} committed, ${t.refused} refused in ${(t.ms / 1000).toFixed(1)} s), ` +
      `bare INSERT ${ips.toFixed(0)}/s (${b.done} in ${(b.ms / 1000).toFixed(1)} s), ratio ${ratio.toFixed(2)} — ${CLIENTS} clients, ${ACCOUNTS} accounts`,
  );

  const check = await checkLedgerTotals(db);
  const [held] = await db.query<{ sats: bigint; n: bigint }>(
    "SELECT sum(credits_posted - debits_posted - debits_pending) AS sats, count(*) AS n FROM ledger_accounts WHERE kind = 'funds'",
  );
  const expected = SEED_SATS * BigInt(ACCOUNTS);
  const kept = check.ok && BigInt(held!.sats) === expected && Number(held!.n) === ACCOUNTS;
  console.log(
    `${engine}: after the run the ledger ${check.ok ? "checks clean" : `has problems: ${check.problems.join("; ")}`} over ${check.transfers} transfers; ` +
      `personal accounts hold ${held!.sats} sats (seeded ${expected})`,
  );
  if (engine === "PostgreSQL") {
    rows.push({ goal: "PostgreSQL transfers/s", value: tps.toFixed(0), limit: `≥ ${GOALS.postgresTransfersPerS}`, ok: tps >= GOALS.postgresTransfersPerS });
  }
  rows.push({ goal: `${engine} transfers / bare INSERTs`, value: ratio.toFixed(2), limit: `≥ ${GOALS.ratioToBare}`, ok: ratio >= GOALS.ratioToBare });
  rows.push({ goal: `${engine} ledger consistent after`, value: kept ? "yes" : "NO", limit: "yes", ok: kept });
}

/**
 * `n` transfers that agree with one another, written straight into the tables: deposits
 * (wallet → funds), awards (treasury → earnings), escrow (treasury → escrow, pending) of which a
 * quarter is posted (in part) and a quarter voided; then every account's totals from them.
 */
async function bulkLoad(db: Db, n: number): Promise<void> {
  const people = ACCOUNTS;
  const pledges = 1000;
  await db.exec(`
    INSERT INTO ledger_accounts (key, kind, user_id)
      SELECT 'funds:' || u, 'funds', u FROM generate_series(1, ${people}) u
      UNION ALL SELECT 'earnings:' || u, 'earnings', u FROM generate_series(1, ${people}) u
      UNION ALL SELECT 'escrow:pledge:' || p, 'escrow', NULL FROM generate_series(1, ${pledges}) p;
    CREATE TEMP TABLE bulk AS
      SELECT i, i % 20 AS c, 1 + (i * 7919) % 100000 AS sats FROM generate_series(1::bigint, ${n}) i;
    INSERT INTO ledger_transfers (id, key, debit_account_id, credit_account_id, sats, phase, pending_id, kind)
      SELECT b.i, 'bulk:' || b.i, d.id, cr.id, x.sats, x.phase, x.pending_id, x.kind
      FROM bulk b
      CROSS JOIN LATERAL (SELECT
        CASE WHEN b.c < 9 THEN 'wallet' ELSE 'treasury' END AS debit,
        CASE WHEN b.c < 9 THEN 'funds:' || (1 + b.i % ${people})
             WHEN b.c < 14 THEN 'earnings:' || (1 + b.i % ${people})
             WHEN b.c < 18 THEN 'escrow:pledge:' || (1 + b.i % ${pledges})
             WHEN b.c = 18 THEN 'escrow:pledge:' || (1 + (b.i - 4) % ${pledges})
             ELSE 'escrow:pledge:' || (1 + (b.i - 3) % ${pledges}) END AS credit,
        CASE WHEN b.c < 14 THEN b.sats
             WHEN b.c < 18 THEN b.sats
             WHEN b.c = 18 THEN (1 + ((b.i - 4) * 7919) % 100000 + 1) / 2
             ELSE 1 + ((b.i - 3) * 7919) % 100000 END AS sats,
        CASE WHEN b.c < 14 THEN 'single' WHEN b.c < 18 THEN 'pending' WHEN b.c = 18 THEN 'post' ELSE 'void' END AS phase,
        CASE WHEN b.c = 18 THEN b.i - 4 WHEN b.c = 19 THEN b.i - 3 END AS pending_id,
        CASE WHEN b.c < 9 THEN 'deposit' WHEN b.c < 14 THEN 'award' ELSE 'escrow' END AS kind) x
      JOIN ledger_accounts d ON d.key = x.debit
      JOIN ledger_accounts cr ON cr.key = x.credit
      ORDER BY b.i;
    SELECT setval(pg_get_serial_sequence('ledger_transfers', 'id'), ${n});
    DROP TABLE bulk;
    ANALYZE ledger_transfers;
  `);
  // The totals, one phase at a time (written apart from the check's own single pass on purpose).
  await db.exec(`
    UPDATE ledger_accounts a SET debits_posted = s.v FROM
      (SELECT debit_account_id AS id, sum(sats) AS v FROM ledger_transfers WHERE phase IN ('single', 'post') GROUP BY 1) s WHERE a.id = s.id;
    UPDATE ledger_accounts a SET credits_posted = s.v FROM
      (SELECT credit_account_id AS id, sum(sats) AS v FROM ledger_transfers WHERE phase IN ('single', 'post') GROUP BY 1) s WHERE a.id = s.id;
    UPDATE ledger_accounts a SET debits_pending = s.v FROM
      (SELECT p.debit_account_id AS id, sum(p.sats) AS v FROM ledger_transfers p
       WHERE p.phase = 'pending' AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id) GROUP BY 1) s WHERE a.id = s.id;
    UPDATE ledger_accounts a SET credits_pending = s.v FROM
      (SELECT p.credit_account_id AS id, sum(p.sats) AS v FROM ledger_transfers p
       WHERE p.phase = 'pending' AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id) GROUP BY 1) s WHERE a.id = s.id;
    ANALYZE ledger_accounts;
  `);
}

async function checkOverBulk(db: Db, engine: string, rows: Row[], n: number): Promise<void> {
  const l0 = performance.now();
  await bulkLoad(db, n);
  const loadS = (performance.now() - l0) / 1000;
  const times: number[] = [];
  let result = await checkLedgerTotals(db);
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    result = await checkLedgerTotals(db);
    times.push(performance.now() - t0);
  }
  const median = [...times].sort((a, b) => a - b)[1]!;
  const clean = result.ok && result.transfers === BigInt(n);
  // The check must also see what is wrong, not only be quick to say nothing is.
  await db.query("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE key = 'funds:7'");
  const corrupt = await checkLedgerTotals(db);
  const named = corrupt.problems.find((p) => p.startsWith("account funds:7: credits_posted is"));
  const found = !corrupt.ok && named !== undefined;
  console.log(
    `${engine}: ledger check over ${result.transfers} transfers, ${result.accounts} accounts (loaded in ${loadS.toFixed(1)} s): ` +
      `${times.map((t) => `${t.toFixed(0)} ms`).join(", ")} — ${result.ok ? "clean" : `problems: ${result.problems.slice(0, 3).join("; ")}`}; ` +
      `one corrupted row ${found ? `found: ${named}` : `NOT found (${corrupt.problems.join("; ") || "no problem reported"})`}`,
  );
  if (engine === "PostgreSQL") {
    rows.push({ goal: `PostgreSQL ledger check, ${n / 1e6}M`, value: `${median.toFixed(0)} ms`, limit: `< ${GOALS.checkMs} ms`, ok: median < GOALS.checkMs });
  }
  rows.push({ goal: `${engine} check clean, then finds corruption`, value: clean && found ? "yes" : "NO", limit: "yes", ok: clean && found });
}

export async function run(): Promise<void> {
  const rows: Row[] = [];
  console.log(`${CLIENTS} clients, ${(DURATION_MS / 1000).toFixed(1)} s each after ${WARMUP_MS / 1000} s of warm-up (LEDGER_BENCH_MS sets the duration)`);
  if (process.env.DATABASE_URL) {
    const server = process.env.DATABASE_URL;
    for (const part of ["transfers", "check"] as const) {
      const made = await throwawayDatabase(server, "bounty_ledger", { force: false });
      const db = await openDatabase({ databaseUrl: made.url });
      try {
        if (part === "transfers") await transfersAgainstBare(db, "PostgreSQL", rows);
        else await checkOverBulk(db, "PostgreSQL", rows, CHECK_TRANSFERS);
      } finally {
        await db.close();
        await made.drop();
      }
    }
  } else {
    console.log("PostgreSQL: not measured, DATABASE_URL is not set (postgres://… of a server where throwaway databases may be created)");
    for (const goal of ["PostgreSQL transfers/s", "PostgreSQL transfers / bare INSERTs", "PostgreSQL ledger check, 1M"]) {
      rows.push({ goal, value: "not run", limit: "DATABASE_URL", ok: false });
    }
  }
  for (const part of ["transfers", "check"] as const) {
    const db = await openDatabase({ dataDir: "memory://" });
    try {
      if (part === "transfers") await transfersAgainstBare(db, "PGlite", rows);
      else await checkOverBulk(db, "PGlite", rows, PGLITE_CHECK_TRANSFERS);
    } finally {
      await db.close();
    }
  }

  console.log("\nGoal                                              value      limit");
  const misses: string[] = [];
  for (const r of rows) {
    if (!r.ok) misses.push(`${r.goal}: ${r.value} (${r.limit})`);
    console.log(`  ${r.goal.padEnd(46)} ${r.value.padStart(9)}  ${r.limit.padEnd(9)} ${r.ok ? "PASS" : "MISS"}`);
  }
  if (misses.length > 0) throw new Error(`Ledger benchmark goals missed: ${misses.join("; ")}`);
}
