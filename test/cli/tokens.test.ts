import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.js";
import { availableBalance, grantOf } from "../../src/ledger/rules.js";
import type { PriceSource } from "../../src/payouts/run.js";
import { openDatabase, type Db } from "../../src/store/db.js";
import { accountBalance, findTransfer } from "../../src/store/ledger.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { priceOracle, silent } from "../support/payouts.js";

async function cli(argv: string[], o: { db?: Db; env?: Record<string, string>; prices?: PriceSource } = {}): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { env: o.env ?? {}, db: o.db, prices: o.prices, log: silent, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe.each(ENGINES)("bounty-bot tokens on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());

  test("create prints the token once and stores only its hash; its first period is funded from the treasury", async () => {
    const r = await cli(["tokens", "create", "--name", "prow-flakes", "--budget", "100000sats/1d", "--repos", "kubernetes/kubernetes,Kubernetes-SIGS/*", "--recipient-cap", "20000sats/1d"], { db: t.db });
    expect([r.code, r.err]).toEqual([0, ""]);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toBe('Created token "prow-flakes": 100000sats/1d, 100000 sats set aside from the treasury for this period.');
    const token = lines[2]!;
    const m = /^bbt_(\d+)_([A-Za-z0-9_-]{43})$/.exec(token);
    expect(m).not.toBeNull();
    const [row] = await t.db.query<Record<string, unknown>>("SELECT * FROM api_tokens WHERE name = 'prow-flakes'");
    expect(JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(m![2]);
    expect(Buffer.from(row!.secret_hash as Uint8Array).equals(createHash("sha256").update(m![2]!).digest())).toBe(true);
    expect(row!.repos).toEqual(["kubernetes/kubernetes", "kubernetes-sigs/*"]);
    expect(availableBalance(await accountBalance(t.db, grantOf(m![1]!)))).toBe(100_000n);
    expect((await findTransfer(t.db, `grant:${m![1]}:0`))?.debit).toBe("treasury");

    const list = await cli(["tokens", "list"], { db: t.db });
    expect(list.code).toBe(0);
    expect(list.out).not.toContain(m![2]);
    expect(list.out).toMatch(/^NAME\s+BUDGET\s+REPOS\s+RECIPIENT CAP\s+SPENT\s+LEFT\s+PERIOD\s+LAST USED\s+STATE$/m);
    expect(list.out).toMatch(/^prow-flakes\s+100000sats\/1d\s+kubernetes\/kubernetes,kubernetes-sigs\/\*\s+20000sats\/1d\s+0\s+100000\s+0 \(until \S+\)\s+never\s+live$/m);

    const taken = await cli(["tokens", "create", "--name", "prow-flakes", "--budget", "1sats/1d"], { db: t.db });
    expect([taken.code, taken.err.trim()]).toEqual([1, 'a token named "prow-flakes" exists already (revoked tokens keep their names)']);

    const revoked = await cli(["tokens", "revoke", "prow-flakes"], { db: t.db });
    expect([revoked.code, revoked.out.trim()]).toEqual([0, 'Revoked token "prow-flakes"; 100000 sats went back to the treasury.']);
    expect((await cli(["tokens", "list"], { db: t.db })).out).toMatch(/^prow-flakes\s.*\s0\s+never\s+revoked \S+$/m);
  });

  test("a fiat budget is priced in sats when its period is funded", async () => {
    const r = await cli(["tokens", "create", "--name", "triage", "--budget", "50usd/7d"], { db: t.db, prices: priceOracle("fixed:USD=60000") });
    expect(r.out.split("\n")[0]).toBe('Created token "triage": 50usd/7d, 83333 sats set aside from the treasury for this period (at 60000 USD/BTC).');
  });

  test.each([
    [["tokens", "create", "--budget", "1sats/1d"], /--name is required/],
    [["tokens", "create", "--name", "x"], /--budget is required/],
    [["tokens", "create", "--name", "x", "--budget", "100000/1d"], /write the unit, like 100000sats\/1d/],
    [["tokens", "create", "--name", "x", "--budget", "100sats"], /is not a budget/],
    [["tokens", "create", "--name", "x", "--budget", "100sats/1d", "--repos", "kubernetes"], /--repos: "kubernetes" is not owner\/repo or owner\/\*/],
    [["tokens", "create", "--name", "x", "--budget", "100sats/1d", "--recipient-cap", "5/1d"], /--recipient-cap "5\/1d": write the unit/],
    [["tokens", "revoke"], /give the name of one token/],
  ])("%j is a usage error (exit 2, nothing opened)", async (argv, message) => {
    const r = await cli(argv as string[], { env: { DATA_DIR: "/nonexistent/never" } });
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(message)]);
  });

  test("revoking a token that does not exist is exit 1", async () => {
    expect(await cli(["tokens", "revoke", "nope"], { db: t.db })).toMatchObject({ code: 1, err: 'no live token is named "nope" (see bounty-bot tokens list)\n' });
  });
});

test("with the embedded database open by the app, the CLI says the app must be stopped", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bounty-tokens-"));
  const app = await openDatabase({ dataDir: dir, template: null });
  try {
    const r = await cli(["tokens", "list"], { env: { DATA_DIR: dir } });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/is in use by process .*With the embedded database \(PGlite\) the app must be stopped while "bounty-bot tokens" runs; with PostgreSQL \(DATABASE_URL\) tokens can be managed while it runs/);
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
