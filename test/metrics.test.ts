import nock from "nock";
import { EsploraBackend } from "../src/bitcoin/esplora.js";
import type { BountyBot } from "../src/server.js";
import { randomAddress } from "./bitcoin/helpers.js";
import { deliver, github, mockNoConfig, repoPath, startTestBot } from "./support/bot.js";
import { ENGINES, createTestDb, type TestDb } from "./support/databases.js";
import { commentCreated } from "./support/payloads.js";
import { linkWallet, priceOracle, seedAward, startPayoutRig, type PayoutRig } from "./support/payouts.js";

/** Prometheus' text format, parsed: one entry per sample, with its labels. */
function parse(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
      if (!m) throw new Error(`not an exposition line: ${l}`);
      const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

const sample = (samples: ReturnType<typeof parse>, name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe.each(ENGINES)("GET /metrics on %s", (engine) => {
  let t: TestDb;
  let rig: PayoutRig;
  let bot: BountyBot | undefined;
  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
    nock.enableNetConnect();
  });
  afterEach(async () => {
    await bot?.close();
    bot = undefined;
    await rig?.close();
    nock.cleanAll();
  });

  async function start(env: Record<string, string> = {}) {
    rig = await startPayoutRig(t.db);
    const prices = priceOracle("fixed:USD=60000;EUR=50000;GBP=40000");
    bot = await startTestBot(
      t.db,
      { BITCOIN_NETWORK: "regtest", PAYOUT_MIN_SATS: "1000", ...env },
      { payouts: { wallet: rig.wallet, prices, schedule: false }, chain: new EsploraBackend({ url: rig.chain.url, retries: 0 }) },
    );
    return bot;
  }

  test("after deliveries and a payout run: deliveries, commands, GitHub requests, payouts, sats, fees, balance, backlog and process metrics", async () => {
    const bot = await start();
    await rig.fund(500_000n);
    const { awardIds } = await seedAward(t.db, { recipients: [{ id: 2002, login: "carol", amounts: [{ currency: "USD", minor: 5000n }] }] });
    await linkWallet(t.db, 2002, "carol", randomAddress("p2wpkh"));

    github()
      .post("/app/installations/2/access_tokens")
      .reply(201, { token: "ghs_test", expires_at: new Date(Date.now() + 3600_000).toISOString() }, { "x-ratelimit-remaining": "4321", "x-ratelimit-resource": "core" });
    mockNoConfig();
    github().post(`${repoPath}/issues/61/comments`).reply(201, { id: 1 }, { "x-ratelimit-remaining": "4318", "x-ratelimit-resource": "core" });
    const comment = commentCreated({ issue: { number: 61 }, commentId: 616161, body: "/bounty 5xyz", user: { login: "alice", id: 1001 } });
    expect((await deliver(bot, "issue_comment", comment)).status).toBe(200);
    // Not a command bounty-bot acts on: received, and processed as ignored.
    const edited = commentCreated({ issue: { number: 62 }, commentId: 626262, body: "thanks", user: { login: "alice", id: 1001 } });
    expect((await deliver(bot, "issue_comment", edited)).status).toBe(200);
    const until = Date.now() + 10_000;
    while (Date.now() < until && Number((await t.db.query<{ n: bigint }>("SELECT count(*) AS n FROM webhook_inbox WHERE processed_at IS NULL"))[0]!.n) > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await bot.outbox.idle();

    const report = await bot.payouts!.runNow();
    expect(report.broadcast).toHaveLength(1);
    const [paid] = await t.db.query<{ sats: bigint }>("SELECT sats FROM payouts");
    const [tx] = await t.db.query<{ fee_sats: bigint }>("SELECT fee_sats FROM payout_txs");

    const res = await fetch(`${bot.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const s = parse(await res.text());
    expect(sample(s, "bounty_deliveries_received_total", { event: "issue_comment", outcome: "stored" })).toBe(2);
    expect(sample(s, "bounty_deliveries_processed_total", { event: "issue_comment", outcome: "done" })).toBe(1);
    expect(sample(s, "bounty_deliveries_processed_total", { event: "issue_comment", outcome: "ignored" })).toBe(1);
    expect(sample(s, "bounty_commands_total", { command: "bounty", outcome: "replied" })).toBe(1);
    expect(sample(s, "bounty_github_requests_total", { method: "POST", status: "201" })).toBe(2);
    expect(sample(s, "bounty_github_rate_limit_remaining", { resource: "core" })).toBe(4318);
    expect(sample(s, "bounty_payouts", { state: "broadcast" })).toBe(1);
    expect(sample(s, "bounty_payouts", { state: "queued" })).toBe(0);
    expect(sample(s, "bounty_payout_sats", { state: "broadcast" })).toBe(Number(paid!.sats));
    expect(sample(s, "bounty_payout_fee_sats", { state: "broadcast" })).toBe(Number(tx!.fee_sats));
    expect(sample(s, "bounty_wallet_balance_sats", { state: "confirmed" })).toBe(500_000);
    expect(sample(s, "bounty_inbox_backlog", { state: "pending" })).toBe(0);
    expect(sample(s, "bounty_inbox_oldest_age_seconds")).toBe(0);
    // The award is in a payout that is not confirmed yet: still unpaid.
    expect(sample(s, "bounty_unpaid_award_oldest_age_seconds")).toBeGreaterThan(0);
    expect(awardIds).toHaveLength(1);
    expect(sample(s, "bounty_price_age_seconds", { source: "fixed", currency: "USD" })).toBeGreaterThanOrEqual(0);
    expect(sample(s, "bounty_metrics_db_up")).toBe(1);
    expect(sample(s, "bounty_http_requests_total", { method: "POST", route: "/api/github/webhooks", status: "200" })).toBe(2);
    expect(sample(s, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(sample(s, "nodejs_eventloop_lag_seconds")).toBeDefined();
  }, 60_000);

  test("with METRICS_TOKEN, only the bearer of the token may scrape", async () => {
    const bot = await start({ METRICS_TOKEN: "s3cret-token" });
    const none = await fetch(`${bot.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("content-type")).toBe("application/problem+json");
    expect(await none.json()).toMatchObject({ status: 401, title: "Unauthorized" });
    expect((await fetch(`${bot.url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await fetch(`${bot.url}/metrics`, { headers: { authorization: "Basic s3cret-token" } })).status).toBe(401);
    const ok = await fetch(`${bot.url}/metrics`, { headers: { authorization: "Bearer s3cret-token" } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("bounty_deliveries_received_total");
  }, 30_000);
});
