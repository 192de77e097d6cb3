/**
 * The rewards API's routes on a router of their own, where a test needs what the app does not
 * offer: a connection cut after the commit, a price source that refuses, a tight rate, two
 * database pools (as two app processes) racing for one budget.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApiGitHub } from "../../src/api/github.js";
import { rewardsRoutes, type RewardsApiOptions } from "../../src/api/rewards.js";
import { keyHash } from "../../src/api/rules.js";
import { createRouter } from "../../src/http/router.js";
import { availableBalance, earningsOf, grantOf } from "../../src/ledger/rules.js";
import type { PriceSource } from "../../src/payouts/run.js";
import { openDatabase, type Db } from "../../src/store/db.js";
import { accountBalance, listTransfers } from "../../src/store/ledger.js";
import { checkLedgerTotals } from "../../src/store/ledgerCheck.js";
import { createServerDatabase, createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { silent } from "../support/payouts.js";
import { call, cli, createToken } from "./support.js";

/** GitHub as the API sees it: every login is a person whose id is given here. */
const people = (ids: Record<string, number>): ApiGitHub => ({
  async user(who) {
    if ("id" in who) return null;
    const id = ids[who.login];
    return id === undefined ? null : { id, login: who.login, type: "User" };
  },
  installationOf: async () => null,
});

async function serve(o: Partial<RewardsApiOptions> & { db: Db }): Promise<{ url: string; close(): Promise<void> }> {
  const routes = rewardsRoutes({ log: silent, github: people({}), defaultCurrency: "USD", accounts: () => new Set(["kubernetes"]), ...o });
  const server: Server = createServer(createRouter(routes, { log: silent }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const refusing: PriceSource = {
  price: async (currency) =>
    ({ ok: false, currency, refusal: "spread", reason: "the sources disagree by 5% (over 2%)", configured: [], fresh: [], stale: [], failures: [], at: new Date() }) as any,
};

describe.each(ENGINES)("the rewards API's routes on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());

  test("a crash between commit and answer: the retry gets the stored reward, recorded once", async () => {
    const { token } = await createToken(t.db, ["--budget", "1000sats/1d"]);
    let cut = true;
    const s = await serve({
      db: t.db,
      github: people({ crashy: 92001 }),
      committed: (req) => {
        if (cut) req.socket.destroy();
      },
    });
    try {
      const body = JSON.stringify({ recipient: "crashy", amount: "250sats", reason: "r" });
      const headers = { authorization: `Bearer ${token}`, "idempotency-key": "crash-1", "content-type": "application/json" };
      await expect(fetch(`${s.url}/api/v1/rewards`, { method: "POST", headers, body })).rejects.toThrow();
      cut = false;
      const retry = await call(s.url, "POST", "/api/v1/rewards", { token, key: "crash-1", body: JSON.parse(body) });
      expect([retry.status, retry.body.sats, retry.body.recipient]).toEqual([200, 250, { login: "crashy", id: 92001 }]);
      expect(availableBalance(await accountBalance(t.db, earningsOf(92001)))).toBe(250n);
      expect((await listTransfers(t.db, { account: earningsOf(92001).key })).length).toBe(1);
    } finally {
      await s.close();
    }
  });

  test("a token the process remembers is refused as soon as it is revoked: new rewards and replays alike", async () => {
    const { name, token } = await createToken(t.db, ["--budget", "1000sats/1d"]);
    const s = await serve({ db: t.db, github: people({ remembered: 92010 }), tokenCacheMs: 3_600_000 });
    try {
      const body = { recipient: "remembered", amount: "100sats", reason: "r" };
      expect((await call(s.url, "POST", "/api/v1/rewards", { token, key: "before", body })).status).toBe(201);
      expect((await call(s.url, "POST", "/api/v1/rewards", { token, key: "before", body })).status).toBe(200);
      expect((await cli(t.db, ["tokens", "revoke", name])).code).toBe(0);
      const replay = await call(s.url, "POST", "/api/v1/rewards", { token, key: "before", body });
      const fresh = await call(s.url, "POST", "/api/v1/rewards", { token, key: "after", body });
      expect([fresh.status, fresh.body.detail, replay.status]).toEqual([401, "this API token is not valid (wrong, or revoked)", 401]);
      expect(availableBalance(await accountBalance(t.db, earningsOf(92010)))).toBe(100n);
    } finally {
      await s.close();
    }
  });

  test("503 when no agreeing price can be had or none is configured; nothing moves", async () => {
    const { token } = await createToken(t.db, ["--budget", "1000sats/1d"]);
    for (const prices of [refusing, undefined]) {
      const s = await serve({ db: t.db, github: people({ "fiat-less": 92002 }), prices });
      try {
        const r = await call(s.url, "POST", "/api/v1/rewards", { token, key: "fiat", body: { recipient: "fiat-less", amount: "1usd", reason: "r" } });
        expect([r.status, r.body.detail]).toEqual([503, prices ? expect.stringMatching(/no agreeing BTC price in USD/) : expect.stringMatching(/no price source is configured/)]);
      } finally {
        await s.close();
      }
    }
    // A fiat budget cannot be funded without a price either: tokens create fails and records nothing.
    await expect(createToken(t.db, ["--budget", "5usd/1d"], refusing)).rejects.toThrow(/no agreeing BTC price in USD/);
    expect(availableBalance(await accountBalance(t.db, earningsOf(92002)))).toBe(0n);
  });

  test("429 with Retry-After past the token's rate", async () => {
    const { token } = await createToken(t.db, ["--budget", "1000sats/1d"]);
    const s = await serve({ db: t.db, rate: { perSecond: 0.5, burst: 3 } });
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await call(s.url, "GET", "/api/v1/budget", { token }));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
      expect(answers[3]!.headers.get("retry-after")).toBe("2");
      expect(answers[3]!.body.detail).toBe("too many requests with this token; retry in 2 s");
    } finally {
      await s.close();
    }
  });

  if (engine === "postgres") {
    test("two processes (two pools) racing for the last sats of one budget: one 201, one 402, never overspent", async () => {
      const server = await createServerDatabase();
      const a = await openDatabase({ databaseUrl: server.url });
      const b = await openDatabase({ databaseUrl: server.url });
      const sa = await serve({ db: a, github: people({ racer: 92003 }) });
      const sb = await serve({ db: b, github: people({ racer: 92003 }) });
      try {
        for (let round = 0; round < 10; round++) {
          const { token } = await createToken(a, ["--budget", "1000sats/1d"]);
          const body = { recipient: "racer", amount: "600sats", reason: `round ${round}` };
          const answers = await Promise.all([
            call(sa.url, "POST", "/api/v1/rewards", { token, key: `a${round}`, body }),
            call(sb.url, "POST", "/api/v1/rewards", { token, key: `b${round}`, body }),
          ]);
          expect(answers.map((x) => x.status).sort()).toEqual([201, 402]);
          expect(answers.find((x) => x.status === 402)!.body.budget_left_sats).toBe(400);
          const id = BigInt(token.split("_")[1]!);
          expect(availableBalance(await accountBalance(a, grantOf(id)))).toBe(400n);
        }
        // Another process in the middle of its transaction for a key (holding the key's lock): 409 here.
        const held = await createToken(a, ["--budget", "1000sats/1d"]);
        const heldId = BigInt(held.token.split("_")[1]!);
        let release!: () => void;
        const locked = new Promise<void>((r) => (release = r));
        let taken!: () => void;
        const isTaken = new Promise<void>((r) => (taken = r));
        const holder = b.transaction(async (tx) => {
          await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 724200121))", [`api_reward:${heldId}:${keyHash("mid-flight")}`]);
          taken();
          await locked;
        });
        await isTaken;
        const busy = await call(sa.url, "POST", "/api/v1/rewards", { token: held.token, key: "mid-flight", body: { recipient: "racer", amount: "1sats", reason: "r" } });
        release();
        await holder;
        expect([busy.status, busy.body.detail]).toEqual([409, expect.stringMatching(/still being processed/)]);
        expect((await call(sa.url, "POST", "/api/v1/rewards", { token: held.token, key: "mid-flight", body: { recipient: "racer", amount: "1sats", reason: "r" } })).status).toBe(201);

        // The same key racing on both: one reward, the other 409 (in flight) or 200 (the stored one).
        const { token } = await createToken(a, ["--budget", "1000sats/1d"]);
        const body = { recipient: "racer", amount: "100sats", reason: "same key" };
        const same = await Promise.all([
          call(sa.url, "POST", "/api/v1/rewards", { token, key: "same", body }),
          call(sb.url, "POST", "/api/v1/rewards", { token, key: "same", body }),
        ]);
        expect(same.filter((x) => x.status === 201).length).toBe(1);
        expect(same.every((x) => [201, 200, 409].includes(x.status))).toBe(true);
        expect(availableBalance(await accountBalance(a, earningsOf(92003)))).toBe(10n * 600n + 100n + 1n);
        expect((await checkLedgerTotals(a)).problems).toEqual([]);
      } finally {
        await sa.close();
        await sb.close();
        await a.close();
        await b.close();
        await server.drop();
      }
    });
  }
});

