import { availableBalance, earningsOf, grantOf, TREASURY } from "../../src/ledger/rules.js";
import { accountBalance, findTransfer, listTransfers } from "../../src/store/ledger.js";
import { checkLedgerTotals } from "../../src/store/ledgerCheck.js";
import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { github, mockUser, mockUserById, repoPath } from "../support/bot.js";
import { priceOracle } from "../support/payouts.js";
import { call, cli, createToken, mockInstallation } from "./support.js";

const earned = async (db: Parameters<typeof accountBalance>[0], id: number) => availableBalance(await accountBalance(db, earningsOf(id)));

describe.each(ENGINES)("the rewards API on %s", (engine) => {
  const h = useTestBot(engine, { token: false, prices: () => priceOracle("fixed:USD=60000") });
  const url = () => h.bot.url;
  const post = (token: string, key: string | undefined, body: unknown) => call(url(), "POST", "/api/v1/rewards", { token, key, body });

  test("201 with the reward; the same key and body again 200 with the same reward, recorded once; another body 422", async () => {
    const { token } = await createToken(h.db, ["--budget", "100000sats/1d"]);
    mockInstallation();
    mockUser("flake-fixer", { id: 91001 });
    const body = { recipient: "flake-fixer", amount: "500sats", reason: "fixed TestFoo flake", url: "https://github.com/kubernetes/website/pull/7" };
    const first = await post(token, "job-1", body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ recipient: { login: "flake-fixer", id: 91001 }, sats: 500, fiat: null, status: "credited", reason: "fixed TestFoo flake" });
    expect(first.headers.get("location")).toBe(`/api/v1/rewards/${first.body.id}`);

    const again = await post(token, "job-1", { ...body, amount: "500 sats" });
    expect([again.status, again.body, again.headers.get("idempotent-replayed")]).toEqual([200, first.body, "true"]);
    expect(await earned(h.db, 91001)).toBe(500n);
    const moved = await listTransfers(h.db, { account: earningsOf(91001).key });
    expect(moved.map((t) => [t.kind, t.debit, t.sats, t.ref.reward])).toEqual([["reward", expect.stringMatching(/^grant:\d+$/), 500n, String(first.body.id)]]);

    const other = await post(token, "job-1", { ...body, amount: "600sats" });
    expect([other.status, other.headers.get("content-type")]).toEqual([422, "application/problem+json"]);
    expect(other.body.detail).toMatch(/Idempotency-Key was used for a different request/);
    expect(await earned(h.db, 91001)).toBe(500n);

    const one = await call(url(), "GET", `/api/v1/rewards/${first.body.id}`, { token });
    expect([one.status, one.body]).toEqual([200, first.body]);
    expect((await checkLedgerTotals(h.db)).problems).toEqual([]);
  });

  test("400 for no key, bad JSON and bad fields; 401 without or with a wrong token; 413 over 64 KB", async () => {
    const { token } = await createToken(h.db, ["--budget", "1000sats/1d"]);
    const ok = { recipient: "someone", amount: "5sats", reason: "r" };
    expect((await post(token, undefined, ok)).body.detail).toMatch(/Idempotency-Key header is required/);
    const bad = await call(url(), "POST", "/api/v1/rewards", { token, key: "k", raw: "{nope" });
    expect([bad.status, bad.body.detail]).toEqual([400, "the body is not JSON"]);
    for (const [body, detail] of [
      [{ ...ok, recipient: 5 }, /recipient is required/],
      [{ ...ok, recipient: "not a login!" }, /is not a GitHub login/],
      [{ ...ok, amount: 5 }, /amount is required/],
      [{ ...ok, amount: "-5sats" }, /amount/],
      [{ ...ok, amount: "0sats" }, /more than zero/],
      [{ ...ok, reason: " " }, /reason is required/],
      [{ ...ok, url: "ftp://x" }, /http\(s\)/],
      [{ ...ok, notify: "kubernetes/website" }, /owner\/repo#123/],
      [{ ...ok, tip: 1 }, /unknown field "tip"/],
      [[1], /JSON object/],
    ] as const) {
      const r = await post(token, "k", body);
      expect([r.status, r.body.detail]).toEqual([400, expect.stringMatching(detail)]);
    }
    const none = await call(url(), "POST", "/api/v1/rewards", { key: "k", body: ok });
    expect([none.status, none.headers.get("www-authenticate")]).toEqual([401, 'Bearer realm="bounty-bot"']);
    const wrong = await post(`${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`, "k", ok);
    expect([wrong.status, wrong.body.detail]).toEqual([401, "this API token is not valid (wrong, or revoked)"]);
    expect((await call(url(), "GET", "/api/v1/budget", { token: "bbt_1_x" })).status).toBe(401);
    const big = await call(url(), "POST", "/api/v1/rewards", { token, key: "k", raw: JSON.stringify({ ...ok, reason: "x".repeat(70_000) }) });
    expect(big.status).toBe(413);
  });

  test("422 for an unknown recipient, a bot and an organisation; a numeric id is looked up by id", async () => {
    const { token } = await createToken(h.db, ["--budget", "1000sats/1d"]);
    mockInstallation();
    mockUser("ghost-user", null);
    mockUser("some-bot", { id: 91002, type: "Bot" });
    mockUser("some-org", { id: 91003, type: "Organization" });
    mockUserById(91004, { login: "by-id" });
    const r = (recipient: unknown, key: string) => post(token, key, { recipient, amount: "10sats", reason: "r" });
    expect((await r("ghost-user", "a")).body).toMatchObject({ status: 422, detail: "GitHub knows no user @ghost-user" });
    expect((await r("some-bot", "b")).body).toMatchObject({ status: 422, detail: expect.stringMatching(/is a bot, not a person/) });
    expect((await r("some-org", "c")).body).toMatchObject({ status: 422, detail: expect.stringMatching(/is a organization|organization, not a person/) });
    const byId = await r({ id: 91004 }, "d");
    expect([byId.status, byId.body.recipient]).toEqual([201, { login: "by-id", id: 91004 }]);
    expect(await earned(h.db, 91002)).toBe(0n);
  });

  test("a --repos token: 403 without a url or for another repository, 201 for its own; notify elsewhere 403", async () => {
    const { token } = await createToken(h.db, ["--budget", "1000sats/1d", "--repos", "kubernetes/website,kubernetes-sigs/*"]);
    const body = { recipient: "repo-person", amount: "10sats", reason: "r" };
    const noUrl = await post(token, "a", body);
    expect([noUrl.status, noUrl.body.detail]).toEqual([403, expect.stringMatching(/limited to kubernetes\/website, kubernetes-sigs\/\*: give the url/)]);
    const elsewhere = await post(token, "b", { ...body, url: "https://github.com/kubernetes/kubernetes/pull/1" });
    expect(elsewhere.status).toBe(403);
    const notGithub = await post(token, "c", { ...body, url: "https://prow.k8s.io/view/1" });
    expect(notGithub.status).toBe(403);
    const notify = await post(token, "d", { ...body, url: "https://github.com/kubernetes/website/pull/1", notify: "kubernetes/kubernetes#1" });
    expect([notify.status, notify.body.detail]).toEqual([403, expect.stringMatching(/may not comment on kubernetes\/kubernetes/)]);
    mockInstallation();
    mockUser("repo-person", { id: 91005 });
    const own = await post(token, "e", { ...body, url: "https://github.com/kubernetes-sigs/prow/pull/3" });
    expect(own.status).toBe(201);
    expect(await earned(h.db, 91005)).toBe(10n);
  });

  test("402 over the budget with what is left, and over the recipient's cap with what is left for them", async () => {
    const { token } = await createToken(h.db, ["--budget", "1000sats/1d", "--recipient-cap", "300sats/1d"]);
    mockInstallation();
    mockUser("capped-a", { id: 91006 });
    mockUser("capped-b", { id: 91007 });
    mockUser("capped-c", { id: 91008 });
    mockUser("capped-d", { id: 91009 });
    const give = (who: string, sats: number, key: string) => post(token, key, { recipient: who, amount: `${sats}sats`, reason: "r" });
    expect((await give("capped-a", 200, "1")).status).toBe(201);
    const cap = await give("capped-a", 150, "2");
    expect([cap.status, cap.body.recipient_cap_left_sats, cap.body.detail]).toEqual([402, 100, expect.stringMatching(/cap for @capped-a: 100 sats are left/)]);
    expect((await give("capped-a", 100, "3")).status).toBe(201);
    expect((await give("capped-b", 300, "4")).status).toBe(201);
    expect((await give("capped-c", 300, "5")).status).toBe(201);
    const over = await give("capped-d", 150, "6");
    expect([over.status, over.body.budget_left_sats, over.body.detail]).toEqual([402, 100, expect.stringMatching(/over this token's budget: 100 sats are left/)]);
    expect((await give("capped-d", 100, "7")).status).toBe(201);
    const budget = await call(url(), "GET", "/api/v1/budget", { token });
    expect(budget.body).toMatchObject({ budget: "1000sats/1d", funded_sats: 1000, spent_sats: 1000, left_sats: 0, recipient_cap: "300sats/1d", period: { number: 0 } });
    expect([await earned(h.db, 91006), await earned(h.db, 91009)]).toEqual([300n, 100n]);
    expect((await checkLedgerTotals(h.db)).problems).toEqual([]);
  });

  test("a fiat amount is priced at the call, a fiat budget when its period is funded", async () => {
    const { token } = await createToken(h.db, ["--budget", "50usd/7d"], priceOracle("fixed:USD=60000"));
    mockInstallation();
    mockUser("fiat-person", { id: 91010 });
    const r = await post(token, "f1", { recipient: "fiat-person", amount: "1usd", reason: "r" });
    expect([r.status, r.body.sats, r.body.fiat]).toEqual([201, 1667, { currency: "USD", amount: "1.00", rate: "60000" }]);
    const budget = await call(url(), "GET", "/api/v1/budget", { token });
    // 50 USD at 60000 USD/BTC, set aside when the period was funded.
    expect(budget.body).toMatchObject({ funded_sats: 83333, left_sats: 83333 - 1667, rate: "60000", budget: "50usd/7d" });
  });

  test("a notify comment is queued and sent through the outbox, mentioning the recipient; mentions in the reason are not pings", async () => {
    const { token } = await createToken(h.db, ["--budget", "1000sats/1d"]);
    mockInstallation();
    mockUser("notified", { id: 91011 });
    github().get(`${repoPath}/installation`).reply(200, { id: 2 });
    let said = "";
    github()
      .post(`${repoPath}/issues/5/comments`, (b: { body: string }) => ((said = b.body), true))
      .reply(201, { id: 1 });
    const r = await post(token, "n1", { recipient: "notified", amount: "42sats", reason: "thanks @everyone", notify: "kubernetes/website#5" });
    expect([r.status, r.body.notify]).toEqual([201, "kubernetes/website#5"]);
    await h.bot.settled();
    expect(said).toMatch(/^@notified was rewarded \*\*42 sats\*\* by `t\d+-\d+`: thanks @\u200deveryone\. It is paid with the next payout\.$/);
    const elsewhere = await post(token, "n2", { recipient: "notified", amount: "1sats", reason: "r", notify: "someone-else/repo#1" });
    expect([elsewhere.status, elsewhere.body.detail]).toEqual([422, "notify: someone-else is not an account this app serves"]);
  });

  test("GET /api/v1/rewards lists the token's own rewards, 50 a page, since a time; status follows the recipient's next payout", async () => {
    const { token } = await createToken(h.db, ["--budget", "100000sats/1d"]);
    const other = await createToken(h.db, ["--budget", "100000sats/1d"]);
    mockInstallation();
    mockUser("lister", { id: 91012 });
    const ids: number[] = [];
    for (let i = 0; i < 51; i++) ids.push((await post(token, `l${i}`, { recipient: "lister", amount: "1sats", reason: `r${i}` })).body.id);
    const p1 = await call(url(), "GET", "/api/v1/rewards", { token });
    expect([p1.body.rewards.length, p1.body.next_page, p1.headers.get("link")]).toEqual([50, 2, '</api/v1/rewards?page=2>; rel="next"']);
    const p2 = await call(url(), "GET", "/api/v1/rewards?page=2", { token });
    expect([p2.body.rewards.map((r: any) => r.id), p2.body.next_page]).toEqual([[ids[50]], null]);
    const since = await call(url(), "GET", `/api/v1/rewards?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { token });
    expect(since.body.rewards).toEqual([]);
    expect((await call(url(), "GET", "/api/v1/rewards?page=0", { token })).status).toBe(400);
    expect((await call(url(), "GET", "/api/v1/rewards?since=yesterday", { token })).status).toBe(400);
    expect((await call(url(), "GET", "/api/v1/rewards", { token: other.token })).body.rewards).toEqual([]);
    expect((await call(url(), "GET", `/api/v1/rewards/${ids[0]}`, { token: other.token })).status).toBe(404);
    expect((await call(url(), "GET", "/api/v1/rewards/abc", { token })).status).toBe(400);

    const states: Array<[string, string]> = [["queued", "queued"], ["broadcast", "paid"], ["confirmed", "confirmed"]];
    for (const [state, status] of states) {
      await h.db.query("DELETE FROM payouts WHERE user_id = 91012");
      await h.db.query(
        `INSERT INTO payouts (payee_kind, user_id, login, address, address_type, network, sats, state) VALUES ('user', 91012, 'lister', 'tb1q', 'p2wpkh', 'testnet', 51, $1)`,
        [state],
      );
      expect((await call(url(), "GET", `/api/v1/rewards/${ids[0]}`, { token })).body.status).toBe(status);
    }
    await h.db.query("DELETE FROM payouts WHERE user_id = 91012");
  });

  test("409 for the same key while the first call is in flight", async () => {
    const { token } = await createToken(h.db, ["--budget", "1000sats/1d"]);
    mockInstallation();
    github().get("/users/slow-person").delay(400).reply(200, { login: "slow-person", id: 91013, type: "User" });
    const body = { recipient: "slow-person", amount: "10sats", reason: "r" };
    const first = post(token, "same", body);
    await new Promise((r) => setTimeout(r, 150));
    const second = await post(token, "same", body);
    expect([second.status, second.body.detail]).toEqual([409, expect.stringMatching(/still being processed/)]);
    expect((await first).status).toBe(201);
    expect((await post(token, "same", body)).status).toBe(200);
    expect(await earned(h.db, 91013)).toBe(10n);
  });

  test("revoking returns what is left to the treasury; the token is refused from then on", async () => {
    const { name, token } = await createToken(h.db, ["--budget", "1000sats/1d"]);
    mockInstallation();
    mockUser("before-revoke", { id: 91014 });
    expect((await post(token, "r1", { recipient: "before-revoke", amount: "300sats", reason: "r" })).status).toBe(201);
    const treasury = (await accountBalance(h.db, TREASURY)).creditsPosted;
    const r = await cli(h.db, ["tokens", "revoke", name]);
    expect(r.out).toEqual([`Revoked token "${name}"; 700 sats went back to the treasury.`]);
    expect((await accountBalance(h.db, TREASURY)).creditsPosted - treasury).toBe(700n);
    const id = await tokenId(token);
    expect(availableBalance(await accountBalance(h.db, grantOf(id)))).toBe(0n);
    expect((await findTransfer(h.db, `grant:${id}:0:return`))?.sats).toBe(700n);
    expect((await call(url(), "GET", "/api/v1/budget", { token })).status).toBe(401);
    expect(await cli(h.db, ["tokens", "revoke", name])).toMatchObject({ code: 1 });
  });

  test("each period returns what is left of the last and funds the full budget (reset, not accumulated)", async () => {
    const { token } = await createToken(h.db, ["--budget", "1000sats/1d"]);
    const id = await tokenId(token);
    mockInstallation();
    mockUser("periodic", { id: 91015 });
    expect((await post(token, "p1", { recipient: "periodic", amount: "400sats", reason: "r" })).status).toBe(201);
    // Two and a half days later, as if the token had been created then.
    await h.db.query("UPDATE api_tokens SET created_at = now() - interval '60 hours' WHERE id = $1", [id]);
    const b = await call(url(), "GET", "/api/v1/budget", { token });
    expect(b.body).toMatchObject({ period: { number: 2 }, funded_sats: 1000, spent_sats: 0, left_sats: 1000 });
    expect((await findTransfer(h.db, `grant:${id}:0:return`))?.sats).toBe(600n);
    expect((await findTransfer(h.db, `grant:${id}:2`))?.sats).toBe(1000n);
    expect(await findTransfer(h.db, `grant:${id}:1`)).toBeNull();
    expect((await post(token, "p2", { recipient: "periodic", amount: "1000sats", reason: "r" })).status).toBe(201);
    expect((await post(token, "p3", { recipient: "periodic", amount: "1sats", reason: "r" })).status).toBe(402);
    expect((await checkLedgerTotals(h.db)).problems).toEqual([]);
  });

  async function tokenId(token: string): Promise<bigint> {
    return BigInt(token.split("_")[1]!);
  }
});
