import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { inspect } from "node:util";
import nock from "nock";
import pg from "pg";
import type { BountyBot } from "../../src/server.js";
import { loadSettings } from "../../src/settings.js";
import { CARD_MARKER } from "../../src/github/card.js";
import { openDatabase, type Db } from "../../src/store/db.js";
import { findBounty, listPledges } from "../../src/store/bounties.js";
import { listPayouts } from "../../src/store/payouts.js";
import { parseAddress } from "../../src/bitcoin/address.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { deliver, github, mockToken, startTestBot } from "../support/bot.js";
import { createServerDatabase } from "../support/databases.js";
import { useTestBot } from "../support/harness.js";
import { commentCreated, REPO, type Who } from "../support/payloads.js";
import { linkWallet, priceOracle, seedAward, startPayoutRig, type PayoutRig } from "../support/payouts.js";

/**
 * A PostgreSQL restart or failover cuts every connection of the app. Simulated here with
 * pg_terminate_backend on each of them; only on PostgreSQL (PGlite has no server to lose).
 */

/** Ends every connection to the database but the caller's; returns how many. */
export async function terminateAll(admin: pg.Client, database: string): Promise<number> {
  const rows = (
    await admin.query(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [database],
    )
  ).rows as Array<{ ok: boolean }>;
  return rows.filter((r) => r.ok).length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("DATABASE_URL is checked at start without echoing its password", () => {
  test.each(["postgres://bounty:pa/ss-hunter2secret@db.internal/bounty", "postgres://bounty:hunter2secret@db.internal:notaport/bounty"])("%s", (url) => {
    let err: unknown;
    try {
      loadSettings({ DATABASE_URL: url });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(/DATABASE_URL postgres:\/\/bounty:\*\*\*@\S* is not a valid URL: percent-encode special characters/);
    expect(inspect(err)).not.toContain("hunter2secret");
  });
});

if (process.env.DATABASE_URL) {
  describe("the database connection lost", () => {
    let server: { url: string; drop(): Promise<void> };
    let admin: pg.Client;
    let db: Db;
    let name: string;
    const warnings: string[] = [];
    beforeAll(async () => {
      server = await createServerDatabase();
      name = new URL(server.url).pathname.slice(1);
      admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      db = await openDatabase({ databaseUrl: server.url, log: { warn: (_o: object, msg: string) => void warnings.push(msg) } });
      await db.exec("CREATE TABLE IF NOT EXISTS failover_probe (id int PRIMARY KEY)");
    });
    afterAll(async () => {
      await db?.close();
      await admin?.end();
      await server?.drop();
    });

    test("idle connections killed by the server do not crash the process; the next query reconnects", async () => {
      await Promise.all([db.query("SELECT pg_sleep(0.05)"), db.query("SELECT pg_sleep(0.05)"), db.query("SELECT 1")]);
      expect(await terminateAll(admin, name)).toBeGreaterThan(0);
      await sleep(200); // the pool's idle clients see their sockets end
      expect(warnings.some((w) => /connection/i.test(w))).toBe(true);
      expect(await db.query<{ n: number }>("SELECT 1 AS n")).toEqual([{ n: 1 }]);
    });

    test("a transaction cut off midway is rolled back, and the next one commits", async () => {
      const cut = db.transaction(async (tx) => {
        await tx.query("INSERT INTO failover_probe VALUES (1)");
        await terminateAll(admin, name);
        await sleep(50);
        await tx.query("INSERT INTO failover_probe VALUES (2)");
      });
      await expect(cut).rejects.toThrow();
      expect(await db.query("SELECT id FROM failover_probe")).toEqual([]);
      await db.transaction(async (tx) => tx.query("INSERT INTO failover_probe VALUES (3)"));
      expect(await db.query("SELECT id FROM failover_probe")).toEqual([{ id: 3 }]);
    });

    test("the connection holding a lock lost while its work runs does not crash the process", async () => {
      const held = await db.withLock(4242, async () => {
        await terminateAll(admin, name);
        await sleep(200); // the lock's connection, checked out and idle, sees its socket end
        return "done";
      });
      expect(held).toEqual({ locked: true, value: "done" });
      // The server released the lock with the connection; it can be taken again.
      expect(await db.withLock(4242, async () => 1)).toEqual({ locked: true, value: 1 });
    });
  });

  describe("connection errors never echo the password", () => {
    test("a server that is not there", async () => {
      const url = new URL(process.env.DATABASE_URL!);
      url.username = "bounty";
      url.password = "hunter2secret";
      url.port = "1";
      const err = await openDatabase({ databaseUrl: url.toString() }).catch((e: unknown) => e);
      expect(err).toBeDefined();
      expect((err as Error).message).toContain(`postgres://bounty:***@${url.hostname}:1/`);
      expect(inspect(err, { depth: 5 })).not.toContain("hunter2secret");
    });

    test("a URL that does not parse", async () => {
      const err = await openDatabase({ databaseUrl: "postgres://bounty:hunter2secret@db.internal:notaport/bounty" }).catch((e: unknown) => e);
      expect(err).toBeDefined();
      expect(inspect(err, { depth: 5 })).not.toContain("hunter2secret");
    });
  });
}


const BOT_ENV = { BITCOIN_NETWORK: "regtest", PAYOUT_MIN_SATS: "1000", PAYOUT_HOLD: "0s" };
const alice: Who = { login: "alice", id: 1001 };

async function payoutsFor(db: Db, hold: { rig?: PayoutRig }) {
  const rig = await startPayoutRig(db);
  hold.rig = rig;
  const prices = priceOracle("fixed:USD=60000;EUR=50000;GBP=40000");
  return { wallet: rig.wallet, prices: { price: (c: "USD" | "EUR" | "GBP") => prices.price(c) }, schedule: false };
}

/** GitHub for the test repository as a stateful stand-in: the cards created so far are listed. */
function mockGitHub(): Map<number, number[]> {
  const created = new Map<number, number[]>(); // issue → ids of the cards created on it
  const bodies = new Map<number, string>();
  let nextId = 880000;
  const issueOf = (uri: string) => Number(/\/issues\/(\d+)\//.exec(uri)![1]);
  github().persist().get(/\/contents\//).reply(404, { message: "Not Found" });
  github().persist().get(`/repos/${REPO.owner}/${REPO.name}/collaborators/alice/permission`).reply(200, { permission: "write", role_name: "write" });
  github()
    .persist()
    .get(/^\/repos\/kubernetes\/website\/issues\/\d+\/comments/)
    .query(true)
    .reply(200, (uri) =>
      (created.get(issueOf(uri)) ?? []).map((id) => ({ id, body: bodies.get(id), user: { login: "bounty-bot[bot]", id: 6, type: "Bot" } })),
    );
  github()
    .persist()
    .post(/^\/repos\/kubernetes\/website\/issues\/\d+\/comments$/)
    .reply(201, (uri, body) => {
      const id = nextId++;
      const text = (body as { body: string }).body;
      bodies.set(id, text);
      if (text.startsWith(CARD_MARKER)) created.set(issueOf(uri), [...(created.get(issueOf(uri)) ?? []), id]);
      return { id };
    });
  github()
    .persist()
    .patch(/^\/repos\/kubernetes\/website\/issues\/comments\/\d+$/)
    .optionally()
    .reply(200, (uri, body) => {
      bodies.set(Number(uri.split("/").pop()), (body as { body: string }).body);
      return {};
    });
  github().persist().post(/^\/repos\/kubernetes\/website\/issues\/\d+\/labels$/).optionally().reply(200, []);
  github().persist().post(/\/reactions$/).optionally().reply(201, { id: 1, content: "+1" });
  // The seeded awards' repository (installation 1): payout comments and their cards.
  github()
    .persist()
    .post("/app/installations/1/access_tokens")
    .optionally()
    .reply(201, { token: "ghs_other", expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: {} });
  github().persist().get(/^\/repos\/octocat\/Hello-World\//).query(true).optionally().reply(200, []);
  github().persist().post(/^\/repos\/octocat\/Hello-World\//).optionally().reply(201, { id: 1 });
  github().persist().patch(/^\/repos\/octocat\/Hello-World\//).optionally().reply(200, {});
  github().persist().delete(/^\/repos\/octocat\/Hello-World\//).optionally().reply(200, []);
  return created;
}

/**
 * Twelve /bounty comments arriving and five awards being paid while `outage` runs; afterwards
 * every delivery is processed once, every issue has one pledge and one card, and every payout is
 * paid once on the local chain. Returns what was cut off, to show the outage hit work in flight.
 */
async function failoverScenario(bot: BountyBot, db: Db, rig: PayoutRig, outage: (busy: () => boolean) => Promise<void>) {
  // The app's database reports each lost connection on the console: hundreds of lines here.
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    const created = mockGitHub();
    await rig.fund(2_000_000n);
    const people = Array.from({ length: 5 }, (_, i) => ({ id: 5100 + i, login: `payee${i}`, address: randomAddress("p2wpkh") }));
    for (const p of people) {
      await linkWallet(db, p.id, p.login, p.address);
      await seedAward(db, { recipients: [{ id: p.id, login: p.login, amounts: [{ currency: "USD", minor: 1000n + BigInt(p.id) }] }] });
    }
    const issues = Array.from({ length: 12 }, (_, i) => 4400 + i);

    let working = true;
    let refused = 0;
    let failedRuns = 0;
    const down = outage(() => working);
    // GitHub redelivers (same delivery id) what it got no 2xx for.
    const deliveries = issues.map(async (n, i) => {
      await sleep(i * 100); // spread over the whole outage
      const id = randomUUID();
      const payload = commentCreated({ issue: { number: n }, commentId: 440000 + i, body: `/bounty ${i + 1}usd`, user: alice });
      for (let attempt = 0; attempt < 400; attempt++) {
        const res = await deliver(bot, "issue_comment", payload, { id }).catch(() => ({ status: 0 }));
        if (res.status >= 200 && res.status < 300) return;
        refused++;
        await sleep(15);
      }
      throw new Error(`issue ${n}: never acknowledged`);
    });
    const runs = (async () => {
      for (let i = 0; i < 30; i++) {
        await bot.payouts!.runNow().catch(() => failedRuns++);
        await sleep(20);
      }
    })();
    await Promise.all([...deliveries, runs]);
    working = false;
    await down;

    // The outage cut work in flight: payout runs failed; deliveries were refused or failed.
    const [{ retried }] = (await db.query<{ retried: bigint }>(
      "SELECT coalesce(sum(attempts), 0)::bigint AS retried FROM webhook_inbox",
    )) as [{ retried: bigint }];
    expect(failedRuns).toBeGreaterThan(0);
    expect(refused + Number(retried)).toBeGreaterThan(0);

    // Let what the failures left come due (retry backoffs, card leases), as later sweeps would.
    for (let round = 0; round < 5; round++) {
      await bot.inbox.idle();
      await bot.cards.idle();
      await bot.outbox.idle();
      await db.query("UPDATE webhook_inbox SET next_attempt_at = now() WHERE processed_at IS NULL");
      await db.query("UPDATE outbox SET next_attempt_at = now() WHERE sent_at IS NULL AND next_attempt_at < 'infinity'");
      await db.query("UPDATE bounties SET card_lease_until = NULL WHERE card_synced_version < card_version");
      await bot.settled();
      await bot.payouts!.runNow();
      rig.chain.mine(1);
    }
    await bot.payouts!.runNow();
    await bot.settled();

    // Every delivery processed once: one pledge, one pledged event and one card per issue.
    const inbox = await db.query<{ n: bigint; open: bigint; failed: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE processed_at IS NULL) AS open, count(*) FILTER (WHERE last_error IS NOT NULL) AS failed
       FROM webhook_inbox WHERE event = 'issue_comment'`,
    );
    expect(inbox).toEqual([{ n: BigInt(issues.length), open: 0n, failed: 0n }]);
    for (const [i, n] of issues.entries()) {
      const b = (await findBounty(db, REPO.id, n))!;
      expect((await listPledges(db, b.id)).map((p) => p.amount.minor)).toEqual([BigInt((i + 1) * 100)]);
      const ev = await db.query<{ n: bigint }>("SELECT count(*) AS n FROM events WHERE bounty_id = $1 AND kind = 'pledged'", [b.id]);
      expect(ev).toEqual([{ n: 1n }]);
      expect(created.get(n)).toHaveLength(1);
      expect(b.cardCommentId).toBe(created.get(n)![0]);
    }
    // Every payout paid once, on the chain.
    const payouts = await listPayouts(db);
    expect(payouts).toHaveLength(people.length);
    expect(new Set(payouts.map((p) => p.state))).toEqual(new Set(["confirmed"]));
    for (const p of people) {
      const theirs = payouts.filter((x) => x.userId === p.id);
      expect(theirs).toHaveLength(1);
      const parsed = parseAddress(p.address, "regtest");
      if (!parsed.ok) throw new Error(parsed.reason);
      expect(rig.chain.chain.utxosOf(parsed.script).map((u) => u.value)).toEqual([theirs[0]!.sats]);
    }
  } finally {
    console.warn = warn;
  }
}

if (process.env.DATABASE_URL) {
  describe("a failover while deliveries and a payout run are in progress", () => {
    const hold: { rig?: PayoutRig } = {};
    const h = useTestBot("postgres", { env: BOT_ENV, payouts: (db) => payoutsFor(db, hold), afterStop: () => hold.rig!.close() });

    test("pg_terminate_backend on every connection of the app, again and again, loses nothing and doubles nothing", async () => {
      const [{ name }] = (await h.db.query<{ name: string }>("SELECT current_database() AS name")) as [{ name: string }];
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      let kills = 0;
      try {
        await failoverScenario(h.bot, h.db, hold.rig!, async (busy) => {
          while (busy()) {
            kills += await terminateAll(admin, name);
            await sleep(10);
          }
        });
      } finally {
        await admin.end();
      }
      expect(kills).toBeGreaterThan(10);
    }, 60_000);
  });
}

/**
 * A real restart: `pg_ctl restart -m fast` of a cluster of its own, started with PGBIN's
 * binaries (.ci/run exports PGBIN, and PGDATA for its own cluster). Not the suite's shared
 * cluster: other test files use it at the same time.
 */
const PGBIN = process.env.PGBIN;
if (PGBIN) {
  describe("a real PostgreSQL restart (pg_ctl restart -m fast) while deliveries and a payout run are in progress", () => {
    const run = promisify(execFile);
    const asPostgres = (bin: string, args: string[]) =>
      process.getuid?.() === 0 ? run("runuser", ["-u", "postgres", "--", join(PGBIN, bin), ...args]) : run(join(PGBIN, bin), args);
    let dir: string;
    let data: string;
    let url: string;
    beforeAll(async () => {
      nock.disableNetConnect();
      nock.enableNetConnect("127.0.0.1");
      dir = mkdtempSync(join(tmpdir(), "bounty-failover-"));
      if (process.getuid?.() === 0) chownSync(dir, Number((await run("id", ["-u", "postgres"])).stdout), Number((await run("id", ["-g", "postgres"])).stdout));
      data = join(dir, "data");
      const port = await freePort();
      await asPostgres("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]);
      await asPostgres("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-w", "-o", `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off`, "start"]);
      await asPostgres("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "bounty_failover"]);
      url = `postgres://postgres@127.0.0.1:${port}/bounty_failover`;
    }, 60_000);
    afterAll(async () => {
      await asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      nock.enableNetConnect();
    });

    test("nothing is lost or doubled across the restart", async () => {
      const db = await openDatabase({ databaseUrl: url, log: { warn: () => undefined } });
      const hold: { rig?: PayoutRig } = {};
      const bot = await startTestBot(db, BOT_ENV, { payouts: await payoutsFor(db, hold) });
      mockToken();
      let restarts = 0;
      try {
        await failoverScenario(bot, db, hold.rig!, async (busy) => {
          await sleep(300);
          while (busy()) {
            await asPostgres("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-m", "fast", "-w", "restart"]);
            restarts++;
            await sleep(400);
          }
        });
      } finally {
        await bot.close();
        await hold.rig?.close();
        await db.close();
      }
      expect(restarts).toBeGreaterThan(0);
      const pending = nock.pendingMocks();
      nock.cleanAll();
      expect(pending).toEqual([]);
    }, 60_000);
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
