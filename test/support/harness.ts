import nock from "nock";
import type { BountyBot, StartOptions } from "../../src/server.js";
import type { Db } from "../../src/store/db.js";
import { mockToken, startTestBot } from "./bot.js";
import { createTestDb, type TestDb } from "./databases.js";

export interface TestBotHandle {
  readonly db: Db;
  readonly bot: BountyBot;
}

export interface UseTestBotOptions {
  /** Environment for the app on top of startTestBot's. */
  env?: Record<string, string>;
  /** Mock the installation token before each test (default true). */
  token?: boolean;
  /** Called before each test's bot starts, e.g. to reset tables or start a chain. */
  beforeStart?: (db: Db) => Promise<void>;
  /** The payout wallet and prices for the app, built before each test. */
  payouts?: (db: Db) => Promise<StartOptions["payouts"]>;
  /** Prices for budgets, built before each test (by default the payouts' prices, if any). */
  prices?: () => StartOptions["prices"];
  /** Called after each test's bot stopped. */
  afterStop?: () => Promise<void>;
}

/**
 * The setup every end-to-end suite shares: a database of the engine for the file, a fresh app per
 * test, GitHub answered only by nock (no other network but loopback), and after each test no nock
 * interceptor left unused and no delivery left failed.
 */
export function useTestBot(engine: "pglite" | "postgres", opts: UseTestBotOptions = {}): TestBotHandle {
  let t: TestDb | undefined;
  let bot: BountyBot | undefined;
  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t?.close();
    nock.enableNetConnect();
  });
  beforeEach(async () => {
    await opts.beforeStart?.(t!.db);
    bot = await startTestBot(t!.db, opts.env ?? {}, { payouts: await opts.payouts?.(t!.db), prices: opts.prices?.() });
    if (opts.token !== false) mockToken();
  });
  afterEach(async () => {
    await bot?.close();
    await opts.afterStop?.();
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
    expect(await failedDeliveries(t!.db)).toEqual([]);
  });
  return {
    get db() {
      if (!t) throw new Error("the test database is not open yet (use it inside a test or hook)");
      return t.db;
    },
    get bot() {
      if (!bot) throw new Error("the bot is not started yet (use it inside a test)");
      return bot;
    },
  };
}

/** A delivery that failed is retried later and looks, to a test, like one that did nothing. */
export async function failedDeliveries(db: Db): Promise<unknown[]> {
  return db.query("SELECT event, action, last_error FROM webhook_inbox WHERE last_error IS NOT NULL");
}
