import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { tipEscrow } from "../../../src/features/tips/tip.js";
import { earningsOf, fundsOf, TREASURY, WALLET, type AccountSpec } from "../../../src/ledger/rules.js";
import type { PriceSource } from "../../../src/payouts/run.js";
import { accountBalance, transferNow } from "../../../src/store/ledger.js";
import { checkLedgerTotals } from "../../../src/store/ledgerCheck.js";
import { tipsOnIssue } from "../../../src/store/tips.js";
import { deliver, github, mockConfig, mockNoConfig, mockPermission, mockUser, repoPath, startTestBot } from "../../support/bot.js";
import { ENGINES } from "../../support/databases.js";
import { useTestBot } from "../../support/harness.js";
import { commentCreated, REPO, type Who } from "../../support/payloads.js";
import { priceOracle } from "../../support/payouts.js";

let nextUser = 41_000;
let nextIssue = 600;
let nextComment = 8_100_000;
const person = (name: string): Who => ({ login: `${name}${++nextUser}`, id: nextUser });
const MINUTE = 60_000;

const available = (b: { creditsPosted: bigint; debitsPosted: bigint; debitsPending: bigint }) => b.creditsPosted - b.debitsPosted - b.debitsPending;

describe.each(ENGINES)("/tip on %s", (engine) => {
  // Fixed prices: $1 = 1,666.67 sats (60,000 USD/BTC); no GBP price at all.
  let prices: PriceSource = priceOracle("fixed:USD=60000;EUR=50000");
  const h = useTestBot(engine, { prices: () => ({ price: (c) => prices.price(c) }) });
  let issue = 0;
  beforeEach(() => {
    issue = ++nextIssue;
    prices = priceOracle("fixed:USD=60000;EUR=50000");
  });

  const payload = (body: string, user: Who, commentId = nextComment++) =>
    commentCreated({ issue: { number: issue }, commentId, body, user });
  async function say(body: string, user: Who, config?: string): Promise<number> {
    if (config) mockConfig(config);
    else mockNoConfig();
    const p = payload(body, user);
    expect((await deliver(h.bot, "issue_comment", p)).status).toBe(200);
    await h.bot.settled();
    return p.comment.id as number;
  }
  const thumbsUp = (commentId = nextComment) =>
    github().post(`${repoPath}/issues/comments/${commentId}/reactions`, { content: "+1" }).reply(201, { id: 1, content: "+1" });
  function replies(): string[] {
    const bodies: string[] = [];
    github()
      .post(`${repoPath}/issues/${issue}/comments`)
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: 1 };
      });
    return bodies;
  }
  const funder = (who: Who) => mockPermission(who.login, "write");
  const notFunder = (who: Who) => mockPermission(who.login, "read");
  const recipient = (who: Who) => mockUser(who.login, { id: who.id });
  const balance = (spec: AccountSpec) => accountBalance(h.db, spec);
  const deposit = (who: Who, sats: bigint) =>
    transferNow(h.db, { key: `deposit:${randomUUID()}:0:1`, debit: WALLET, credit: fundsOf(who.id), sats, kind: "deposit" });
  const tips = () => tipsOnIssue(h.db, REPO.id, issue);
  const charges = (who: Who) =>
    h.db.query<{ key: string; released_at: Date | null; counted: unknown }>("SELECT key, released_at, counted FROM budget_charges WHERE charged_user_id = $1 ORDER BY id", [who.id]);
  async function ledgerOk() {
    expect((await checkLedgerTotals(h.db)).problems).toEqual([]);
  }

  test("a funder's tip: from the treasury, a 👍 and a reply mentioning them, pending for the hold, then released to their earnings by the sweep", async () => {
    const alice = person("alice");
    const bob = person("bob");
    const treasuryBefore = await balance(TREASURY);
    recipient(bob);
    funder(alice);
    const said = replies();
    thumbsUp();
    const id = await say(`/tip @${bob.login} 5usd thanks for the review`, alice);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`> /tip @${bob.login} 5usd thanks for the review`);
    expect(said[0]).toContain(`tipped @${bob.login} $5 (8,333 sats at 60000 USD/BTC) from the treasury for “thanks for the review”`);
    expect(said[0]).toContain(`\`/tip cancel @${bob.login}\``);

    const [tip] = await tips();
    expect(tip).toMatchObject({ key: `${id}.0`, state: "held", payer: "treasury", sats: 8_333n, rate: "60000", recipient: bob, tipper: alice });
    expect(tip!.payableAt.getTime() - tip!.createdAt.getTime()).toBe(60 * MINUTE);
    // Held: reserved from the treasury into the tip's escrow, nothing yet in bob's earnings.
    const escrow = tipEscrow(tip!.key);
    expect(await balance(escrow)).toMatchObject({ creditsPending: 8_333n, creditsPosted: 0n });
    expect((await balance(TREASURY)).debitsPending - treasuryBefore.debitsPending).toBe(8_333n);
    expect(available(await balance(earningsOf(bob.id)))).toBe(0n);
    expect(await charges(alice)).toEqual([expect.objectContaining({ key: `tip:${tip!.key}`, released_at: null })]);

    // Before the hold has passed the sweep pays nothing.
    await h.bot.sweeper.runAll(new Date(tip!.payableAt.getTime() - MINUTE));
    expect(available(await balance(earningsOf(bob.id)))).toBe(0n);
    // After it, bob's earnings have it, once however often the sweep runs.
    await h.bot.sweeper.runAll(new Date(tip!.payableAt.getTime() + MINUTE));
    await h.bot.sweeper.runAll(new Date(tip!.payableAt.getTime() + 2 * MINUTE));
    expect(available(await balance(earningsOf(bob.id)))).toBe(8_333n);
    expect(await balance(escrow)).toMatchObject({ creditsPending: 0n, creditsPosted: 8_333n, debitsPosted: 8_333n });
    expect((await tips())[0]).toMatchObject({ state: "released" });
    const audit = await h.db.query<{ kind: string }>("SELECT kind FROM events WHERE data->>'tip' = $1 ORDER BY id", [tip!.key]);
    expect(audit.map((e) => e.kind)).toEqual(["tip", "tip_released"]);
    await ledgerOk();
  });

  test("a funder's tip over funders.budget is refused with what is left; nothing is recorded", async () => {
    const alice = person("alice");
    const bob = person("bob");
    const config = "funders:\n  budget: 10usd/30d\n";
    recipient(bob);
    funder(alice);
    const said = replies();
    await say(`/tip @${bob.login} 12usd`, alice, config);
    expect(said[0]).toContain("would go over your funder budget of $10 per 30d");
    expect(said[0]).toContain(`try \`/tip @${bob.login} 10usd\``);
    expect(await tips()).toEqual([]);
    expect(await charges(alice)).toEqual([]);
    await ledgerOk();
  });

  test("tips.max_per_day: a funder's second tip over the day's cap is refused; taking one back frees it again", async () => {
    const alice = person("alice");
    const bob = person("bob");
    const config = "tips:\n  max_per_day: 10usd\n";
    recipient(bob);
    funder(alice);
    thumbsUp();
    replies();
    await say(`/tip @${bob.login} 6usd`, alice, config);

    recipient(bob);
    funder(alice);
    const over = replies();
    await say(`/tip @${bob.login} 5usd`, alice, config);
    expect(over[0]).toContain("would go over `tips.max_per_day` of $10 per funder: you have tipped $6 from the treasury today (UTC)");
    expect(over[0]).toContain(`only $4 is left today: try \`/tip @${bob.login} 4usd\``);
    // In sats too, valued at today's price: 10,000 sats is $6.
    recipient(bob);
    funder(alice);
    const overSats = replies();
    await say(`/tip @${bob.login} 10000sats`, alice, config);
    expect(overSats[0]).toContain("10,000 sats (worth $6 now) would go over `tips.max_per_day`");
    expect(await tips()).toHaveLength(1);

    // Taken back: its charge is released, so the day has room again.
    thumbsUp();
    const back = replies();
    await say(`/tip cancel @${bob.login}`, alice, config);
    expect(back[0]).toContain("back with the treasury");
    expect((await charges(alice))[0]!.released_at).not.toBeNull();
    recipient(bob);
    funder(alice);
    thumbsUp();
    replies();
    await say(`/tip @${bob.login} 10usd`, alice, config);
    expect((await tips()).map((t) => t.state)).toEqual(["cancelled", "held"]);
    await ledgerOk();
  });

  test("anyone else tips from their own funds, then earnings; without enough the reply says what is missing and how to /deposit", async () => {
    const carol = person("carol");
    const bob = person("bob");
    await deposit(carol, 5_000n);

    recipient(bob);
    notFunder(carol);
    const short = replies();
    await say(`/tip @${bob.login} 5usd`, carol);
    expect(short[0]).toContain(`to tip @${bob.login} $5 (8,333 sats at 60000 USD/BTC) you have 5000 sats available; 3333 sats more are needed`);
    expect(short[0]).toContain("`/deposit`");
    expect(await tips()).toEqual([]);
    expect(available(await balance(fundsOf(carol.id)))).toBe(5_000n);

    recipient(bob);
    notFunder(carol);
    thumbsUp();
    const said = replies();
    await say(`/tip @${bob.login} 3000sats`, carol);
    expect(said[0]).toContain(`tipped @${bob.login} 3,000 sats from your balance`);
    expect(available(await balance(fundsOf(carol.id)))).toBe(2_000n);
    const [tip] = await tips();
    expect(tip).toMatchObject({ payer: "person", sats: 3_000n, rate: null });
    // Not a funder: no budget is charged.
    expect(await charges(carol)).toEqual([]);
    await ledgerOk();
  });

  test("/tip cancel within the hold returns the money; after it, or with nothing to cancel, it is refused", async () => {
    const carol = person("carol");
    const bob = person("bob");
    await deposit(carol, 10_000n);
    recipient(bob);
    notFunder(carol);
    thumbsUp();
    replies();
    await say(`/tip @${bob.login} 4000sats`, carol);
    expect(available(await balance(fundsOf(carol.id)))).toBe(6_000n);

    thumbsUp();
    const back = replies();
    await say(`/tip cancel @${bob.login.toUpperCase()}`, carol);
    expect(back[0]).toContain(`took back your tip of 4,000 sats to @${bob.login}: it is back in your balance.`);
    expect(available(await balance(fundsOf(carol.id)))).toBe(10_000n);
    expect((await tips())[0]).toMatchObject({ state: "cancelled" });
    // The sweep has nothing to pay.
    await h.bot.sweeper.runAll(new Date(Date.now() + 2 * 60 * MINUTE));
    expect(available(await balance(earningsOf(bob.id)))).toBe(0n);

    const nothing = replies();
    await say(`/tip cancel @${bob.login}`, carol);
    expect(nothing[0]).toContain(`you have no tip to @${bob.login} on this issue to take back.`);

    // With a hold of 0s a tip is payable at once: too late to take back.
    const config = "tips:\n  hold: 0s\n";
    recipient(bob);
    notFunder(carol);
    thumbsUp();
    replies();
    await say(`/tip @${bob.login} 1000sats`, carol, config);
    const late = replies();
    await say(`/tip cancel @${bob.login}`, carol, config);
    expect(late[0]).toContain("can no longer be taken back");
    expect(available(await balance(fundsOf(carol.id)))).toBe(9_000n);
    await h.bot.sweeper.runAll(new Date(Date.now() + MINUTE));
    expect(available(await balance(earningsOf(bob.id)))).toBe(1_000n);
    expect((await tips()).map((t) => t.state)).toEqual(["cancelled", "released"]);
    await ledgerOk();
  });

  test("no self-tips, no tips to bots or to accounts that do not exist; nothing is asked of the ledger", async () => {
    const alice = person("alice");
    const said = replies();
    // Oneself, by a login of another case: known without asking GitHub who may fund.
    mockUser(alice.login.toUpperCase(), { id: alice.id });
    await say(`/tip @${alice.login.toUpperCase()} 5usd`, alice);
    expect(said[0]).toContain("you cannot tip yourself");

    const bot = replies();
    mockUser("k8s-ci-robot", { id: 20, type: "Bot" });
    await say("/tip @k8s-ci-robot 5usd", alice);
    expect(bot[0]).toContain("@k8s-ci-robot is not a person's account (Bot)");

    const unknown = replies();
    mockUser("no-such-person", null);
    await say("/tip @no-such-person 5usd", alice);
    expect(unknown[0]).toContain("@no-such-person is not a GitHub account");

    const bad = replies();
    await say("/tip @someone 5.555usd", alice);
    expect(bad[0]).toContain("Try: /tip @someone 5.55usd");

    expect(await tips()).toEqual([]);
    expect(await charges(alice)).toEqual([]);
  });

  test("without an agreeing price a tip in fiat is refused (fail closed)", async () => {
    const carol = person("carol");
    const bob = person("bob");
    await deposit(carol, 100_000n);
    recipient(bob);
    notFunder(carol);
    const said = replies();
    await say(`/tip @${bob.login} 5gbp`, carol);
    expect(said[0]).toMatch(/this tip has to be valued in GBP, and there is no agreeing GBP price right now .*so I tipped nothing/);
    expect(await tips()).toEqual([]);
    expect(available(await balance(fundsOf(carol.id)))).toBe(100_000n);
  });

  test("two tips in one comment are two tips; a redelivery and the same body under a new delivery id move nothing twice", async () => {
    const carol = person("carol");
    const bob = person("bob");
    const dave = person("dave");
    await deposit(carol, 10_000n);
    mockNoConfig();
    recipient(bob);
    notFunder(carol);
    recipient(dave);
    thumbsUp();
    const said = replies();
    const p = payload(`/tip @${bob.login} 1000sats\n/tip @${dave.login} 2000sats`, carol);
    const first = await deliver(h.bot, "issue_comment", p);
    await h.bot.settled();
    // GitHub's Redeliver (same id) and a replay of the body under a fresh id.
    await deliver(h.bot, "issue_comment", p, { id: first.id });
    await deliver(h.bot, "issue_comment", p);
    await h.bot.settled();
    expect(said).toHaveLength(1);
    expect((await tips()).map((t) => [t.key, t.recipient.login, t.sats])).toEqual([
      [`${p.comment.id}.0`, bob.login, 1_000n],
      [`${p.comment.id}.1`, dave.login, 2_000n],
    ]);
    expect(available(await balance(fundsOf(carol.id)))).toBe(7_000n);
    await ledgerOk();
  });

  test("a second bot on the same database (a restart, or two processes) releases each tip once", async () => {
    const carol = person("carol");
    const bob = person("bob");
    await deposit(carol, 10_000n);
    recipient(bob);
    notFunder(carol);
    thumbsUp();
    replies();
    await say(`/tip @${bob.login} 2500sats`, carol);
    const [tip] = await tips();
    const second = await startTestBot(h.db, {}, { log: pino({ level: "silent" }) });
    try {
      const later = new Date(tip!.payableAt.getTime() + MINUTE);
      await Promise.all([h.bot.sweeper.runAll(later), second.sweeper.runAll(later)]);
      await second.sweeper.runAll(later);
    } finally {
      await second.close();
    }
    expect(available(await balance(earningsOf(bob.id)))).toBe(2_500n);
    const released = await h.db.query("SELECT 1 FROM events WHERE kind = 'tip_released' AND data->>'tip' = $1", [tip!.key]);
    expect(released).toHaveLength(1);
    await ledgerOk();
  });
});
