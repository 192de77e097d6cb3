import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockConfig, mockNoConfig, mockPermission, mockToken, repoPath } from "../support/bot.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { CARD_MARKER } from "../../src/github/card.js";
import { bountyEvents, findBounty, listPledges, lockBounty, pledge, replay, userFunder } from "../../src/store/bounties.js";
import type { Db } from "../../src/store/db.js";
import { priceOracle, startPriceServer } from "../support/payouts.js";
import { REPO } from "../support/payloads.js";

const alice: Who = { login: "alice", id: 1001 };
const bob: Who = { login: "bob", id: 1002 };
const mallory: Who = { login: "mallory", id: 1666 };

let nextIssue = 100;
let nextComment = 5000;
const issueNo = () => nextIssue++;

describe.each(ENGINES)("/bounty on %s", (engine) => {
  const h = useTestBot(engine, { token: false });

  const comment = (issue: number, body: string, user: Who = alice, extra: { pullRequest?: boolean; state?: "open" | "closed" } = {}) =>
    deliver(h.bot, "issue_comment", commentCreated({ issue: { number: issue, ...extra }, commentId: nextComment++, body, user }));

  /** Captures the bodies GitHub received for new comments on an issue. */
  function captureReplies(issue: number, n = 1): string[] {
    const bodies: string[] = [];
    github()
      .post(`${repoPath}/issues/${issue}/comments`)
      .times(n)
      .reply(201, (_uri, body) => {
        bodies.push((body as { body: string }).body);
        return { id: 900000 + bodies.length };
      });
    return bodies;
  }

  test("a maintainer's pledge creates one card and the bounty label; a second pledge replaces the first", async () => {
    const n = issueNo();
    mockToken();
    mockNoConfig();
    mockPermission("alice", "write");
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    const cards: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`, (b) => {
        cards.push(b.body);
        return true;
      })
      .reply(201, { id: 777 });
    github().post(`${repoPath}/issues/${n}/labels`, { labels: ["bounty"] }).reply(200, [{ name: "bounty" }]);

    const res = await comment(n, "Important one.\n/bounty 5usd\n/lgtm");
    expect(res.status).toBe(200);
    await h.bot.settled();
    expect(cards).toHaveLength(1);
    expect(cards[0]).toContain(CARD_MARKER);
    expect(cards[0]).toContain("@alice | $5");
    expect(cards[0]).toContain("Fixes #" + n);

    // The same funder again: replaces, and the card is edited in place (no new comment).
    mockNoConfig();
    mockPermission("alice", "write");
    const edits: string[] = [];
    github()
      .patch(`${repoPath}/issues/comments/777`, (b) => {
        edits.push(b.body);
        return true;
      })
      .reply(200, { id: 777 });
    await comment(n, "/BOUNTY $7.50");
    await h.bot.settled();
    expect(edits).toHaveLength(1);
    expect(edits[0]).toContain("@alice | $7.50");
    expect(edits[0]).not.toContain("$5 ");

    const b = (await findBounty(h.db, REPO.id, n))!;
    const pledges = await listPledges(h.db, b.id);
    expect(pledges.map((p) => [p.funderLogin, p.amount.minor, p.status])).toEqual([["alice", 750n, "open"]]);
    expect(b.cardCommentId).toBe(777);
    expect(b.labelApplied).toBe(true);
    const events = await bountyEvents(h.db, b.id);
    expect(events.filter((e) => e.kind === "pledged").map((e) => e.actorLogin)).toEqual(["alice", "alice"]);
    expect(replay(events).pledges.get("user:1001")?.amount.minor).toBe(750n);
  });

  test.each([
    ["/bounty 0usd", /zero|more than 0|positive/i],
    ["/bounty -5usd", /negative|more than 0|positive/i],
    ["/bounty 5.555usd", /decimals/i],
    ["/bounty 1.5sats", /decimals|whole/i],
    ["/bounty 0.000000001btc", /decimals/i],
    ["/bounty 5xyz", /unknown currency|currency/i],
    ["/bounty 1001usd", /maximum bounty of \$1,000/],
    ["/bounty five dollars", /./],
  ])("refuses %s with a reply that quotes the line, and records nothing", async (line, why) => {
    const n = issueNo();
    mockToken();
    mockNoConfig();
    const replies = captureReplies(n);
    await comment(n, `Let's fund this.\n${line}`);
    await h.bot.settled();
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain(`> ${line}`);
    expect(replies[0]).toContain("@alice:");
    expect(replies[0]).toMatch(why);
    expect(replies[0]).toMatch(/Try:|\/bounty/);
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();
  });

  test("someone without write access is told who may fund, that theirs would be backed by their balance, and nothing is recorded", async () => {
    const n = issueNo();
    mockToken();
    mockNoConfig();
    github().get(`${repoPath}/collaborators/mallory/permission`).reply(200, { permission: "read", role_name: "read", user: { login: "mallory" } });
    const replies = captureReplies(n);
    await comment(n, "/bounty 100usd", mallory);
    await h.bot.settled();
    expect(replies[0]).toContain("only people with write access to kubernetes/website commit the treasury here");
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();
  });

  test("config funders: users, teams and OWNERS approvers (aliases expanded) may fund", async () => {
    const config = "funders:\n  users: [carol]\n  teams: [sig-docs-leads]\n  owners: true\n";
    const owners = "approvers:\n  - sig-docs-en-owners\n  - dave\n";
    const aliases = "aliases:\n  sig-docs-en-owners:\n    - erin\n";
    const cases: Array<[Who, () => void]> = [
      [{ login: "carol", id: 2001 }, () => undefined],
      [
        { login: "frank", id: 2002 },
        () => {
          github().get(`${repoPath}/collaborators/frank/permission`).reply(200, { permission: "read", role_name: "read" });
          github().get(`/orgs/kubernetes/teams/sig-docs-leads/memberships/frank`).reply(200, { state: "active", role: "member" });
        },
      ],
      [
        { login: "erin", id: 2003 },
        () => {
          github().get(`${repoPath}/collaborators/erin/permission`).reply(404, { message: "Not Found" });
          github().get(`/orgs/kubernetes/teams/sig-docs-leads/memberships/erin`).reply(404, { message: "Not Found" });
          github().get(`${repoPath}/contents/OWNERS`).reply(200, { type: "file", encoding: "base64", content: Buffer.from(owners).toString("base64") });
          github().get(`${repoPath}/contents/OWNERS_ALIASES`).reply(200, { type: "file", encoding: "base64", content: Buffer.from(aliases).toString("base64") });
        },
      ],
    ];
    const n = issueNo();
    mockToken();
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${n}/comments`).reply(201, { id: 4242 });
    github().post(`${repoPath}/issues/${n}/labels`).reply(200, []);
    github().patch(`${repoPath}/issues/comments/4242`).times(2).reply(200, { id: 4242 });
    for (const [who, mock] of cases) {
      mockConfig(config);
      mock();
      await comment(n, "/bounty 10usd", who);
      await h.bot.settled();
    }
    const b = (await findBounty(h.db, REPO.id, n))!;
    expect((await listPledges(h.db, b.id)).map((p) => p.funderLogin)).toEqual(["carol", "frank", "erin"]);
  });

  test("/bounty cancel withdraws only the commenter's own pledge; the label goes when none is left", async () => {
    const n = issueNo();
    mockToken();
    mockNoConfig();
    mockPermission("alice", "admin");
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${n}/comments`).reply(201, { id: 31 });
    github().post(`${repoPath}/issues/${n}/labels`).reply(200, []);
    await comment(n, "/bounty 25000sats");
    await h.bot.settled();

    // bob has no pledge: told so; alice's pledge stays.
    mockNoConfig();
    const replies = captureReplies(n);
    await comment(n, "/bounty cancel", bob);
    await h.bot.settled();
    expect(replies[0]).toMatch(/no (open )?pledge/);

    mockNoConfig();
    let edited = "";
    github()
      .patch(`${repoPath}/issues/comments/31`, (b) => {
        edited = b.body;
        return true;
      })
      .reply(200, {});
    github().delete(`${repoPath}/issues/${n}/labels/bounty`).reply(200, []);
    await comment(n, "/bounty cancel");
    await h.bot.settled();
    expect(edited).toContain("Cancelled");
    const b = (await findBounty(h.db, REPO.id, n))!;
    expect(b.status).toBe("cancelled");
    expect(b.labelApplied).toBe(false);
  });

  test("/bounty on a pull request is refused; /bounty and /bounty help reply with the command table", async () => {
    const n = issueNo();
    mockToken();
    mockNoConfig();
    const replies = captureReplies(n, 2);
    await comment(n, "/bounty 5usd", alice, { pullRequest: true });
    await h.bot.settled();
    mockNoConfig();
    await comment(n, "/bounty help");
    await h.bot.settled();
    expect(replies[0]).toContain("bounties live on issues");
    expect(replies[1]).toContain("| Command | What it does | Who can use it | Example |");
    expect(replies[1]).toContain("`/wallet <bitcoin address>`");
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();
  });

  test("an invalid config gets one reply listing its errors, and nothing is recorded", async () => {
    const n = issueNo();
    mockToken();
    mockConfig("max_bounty: 10xyz\nfundrs:\n  users: [a]\n");
    const replies = captureReplies(n);
    await comment(n, "/bounty 5usd\n/wallet tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx");
    await h.bot.settled();
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain(".github/bounties.yml` is invalid");
    expect(replies[0]).toContain("max_bounty");
    expect(replies[0]).toContain("fundrs");
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();
  });

  test("max_bounty limits amounts and the currencies a repository takes", async () => {
    const n = issueNo();
    mockToken();
    mockConfig("max_bounty: 50eur\ncurrency: eur\n");
    const replies = captureReplies(n, 2);
    await comment(n, "/bounty 5usd");
    await h.bot.settled();
    mockConfig("max_bounty: 50eur\ncurrency: eur\n");
    await comment(n, "/bounty 60");
    await h.bot.settled();
    expect(replies[0]).toContain("does not take bounties in USD");
    expect(replies[1]).toContain("maximum bounty of €50");
  });

  test("_extends takes the org's .github config; lists in the repository's file replace the base's", async () => {
    const n = issueNo();
    mockToken();
    mockConfig("_extends: .github\nmax_bounty: [40usd]\n", "extended");
    github()
      .get(`/repos/kubernetes/.github/contents/${encodeURIComponent(".github/bounties.yml")}`)
      .reply(200, "max_bounty: [10usd, 10eur]\nfunders:\n  users: [zed]\n");
    const replies = captureReplies(n);
    await comment(n, "/bounty 5eur", { login: "zed", id: 4242 });
    await h.bot.settled();
    // EUR came only from the base list, which the repository's own list replaced.
    expect(replies[0]).toContain("does not take bounties in EUR");
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();
  });
});

/** A pledge recorded in another repository of the same account, as an earlier delivery there would have. */
async function pledgedElsewhere(db: Db, who: Who, minor: bigint, repo = "kubectl"): Promise<void> {
  await db.transaction(async (tx) => {
    const issue = { installationId: REPO.installationId, repoId: 55_000 + minor.toString().length + who.id, owner: REPO.owner, repo, number: Number(minor % 1000n) + 1, title: "x" };
    const b = await lockBounty(tx, issue);
    await pledge(tx, b, userFunder(who), { currency: "USD", minor }, { actor: who, deliveryId: null }, {
      chargedUserId: who.id,
      funderBudget: null,
      accountBudget: null,
      rates: {},
      now: new Date(),
    });
  });
}

describe.each(ENGINES)("/bounty within budgets on %s", (engine) => {
  let priceServer: Awaited<ReturnType<typeof startPriceServer>>;
  beforeAll(async () => {
    priceServer = await startPriceServer({ USD: 60_000 });
  });
  afterAll(async () => {
    await priceServer.close();
  });
  const h = useTestBot(engine, {
    env: { ACCOUNT_BUDGETS: "kubernetes=100usd/30d,other-org=1usd/1d" },
    prices: () => priceOracle(`mempool:${priceServer.url}`),
    async beforeStart(db) {
      priceServer.down(false);
      priceServer.set({ USD: 60_000 });
      await db.exec("TRUNCATE webhook_inbox, outbox, pledges, events, bounties RESTART IDENTITY CASCADE");
    },
  });

  const comment = (issue: number, body: string, user: Who = alice) =>
    deliver(h.bot, "issue_comment", commentCreated({ issue: { number: issue }, commentId: nextComment++, body, user }));
  function captureReply(issue: number): string[] {
    const bodies: string[] = [];
    github()
      .post(`${repoPath}/issues/${issue}/comments`)
      .reply(201, (_uri, body) => {
        bodies.push((body as { body: string }).body);
        return { id: 910000 + nextComment };
      });
    return bodies;
  }
  /** The card and label a first pledge on an issue brings. */
  function expectCard(issue: number): void {
    github().get(`${repoPath}/issues/${issue}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${issue}/comments`).reply(201, { id: 920000 + issue });
    github().post(`${repoPath}/issues/${issue}/labels`).reply(200, []);
  }
  const pledgesOn = async (n: number) => {
    const b = await findBounty(h.db, REPO.id, n);
    return b === null ? [] : (await listPledges(h.db, b.id)).map((p) => [p.funderLogin, p.amount.currency, p.amount.minor]);
  };

  test("funders.budget: a pledge over what is left across the account gets a reply with what is left, and records nothing", async () => {
    const yaml = "funders:\n  budget: 50usd/30d\n";
    await pledgedElsewhere(h.db, alice, 4_500n);
    const n = issueNo();
    mockConfig(yaml);
    mockPermission("alice", "write");
    const replies = captureReply(n);
    await comment(n, "/bounty 10usd");
    await h.bot.settled();
    expect(replies[0]).toContain(
      "$10 would go over your funder budget of $50 per 30d (`funders.budget`): $45 is already pledged in that window, " +
        "so only $5 is left: try `/bounty 5usd`. I recorded nothing.",
    );
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();

    // What is left fits; bob's budget is his own.
    mockConfig(yaml);
    mockPermission("alice", "write");
    expectCard(n);
    await comment(n, "/bounty 5usd");
    await h.bot.settled();
    mockConfig(yaml);
    mockPermission("bob", "write");
    github().patch(`${repoPath}/issues/comments/${920000 + n}`).reply(200, {});
    await comment(n, "/bounty 50usd", bob);
    await h.bot.settled();
    expect(await pledgesOn(n)).toEqual([
      ["alice", "USD", 500n],
      ["bob", "USD", 5_000n],
    ]);
  });

  test("ACCOUNT_BUDGETS bounds the account's pledges; a pledge in sats counts at its price when pledged", async () => {
    await pledgedElsewhere(h.db, bob, 9_000n);
    const n = issueNo();
    mockConfig("currency: usd\n");
    mockPermission("alice", "write");
    const replies = captureReply(n);
    // 25,000 sats at $60,000/BTC is $15; $10 is left of $100.
    await comment(n, "/bounty 25000sats");
    await h.bot.settled();
    expect(replies[0]).toContain(
      "25,000 sats (worth $15 now) would go over kubernetes's account budget of $100 per 30d (ACCOUNT_BUDGETS): " +
        "$90 is already pledged in that window, so only $10 is left. I recorded nothing.",
    );
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();

    mockConfig("currency: usd\n");
    mockPermission("alice", "write");
    expectCard(n);
    await comment(n, "/bounty 10000sats"); // $6
    await h.bot.settled();
    const [row] = await h.db.query<{ counted: unknown; rates: unknown; value_sats: bigint }>(
      "SELECT counted, rates, value_sats FROM pledges WHERE funder_login = 'alice'",
    );
    expect(row).toEqual({ counted: { USD: "600" }, rates: { USD: "60000" }, value_sats: 10_000n });

    // The price doubles: the sats pledge still counts $6 (not $12), so $4 is left.
    priceServer.set({ USD: 120_000 });
    const m = issueNo();
    mockConfig("currency: usd\n");
    mockPermission("alice", "write");
    const more = captureReply(m);
    await comment(m, "/bounty 5usd");
    await h.bot.settled();
    expect(more[0]).toContain("$96 is already pledged in that window, so only $4 is left: try `/bounty 4usd`.");
  });

  test("with no agreeing price a pledge that must be converted is refused; one in the budget's currency needs no price", async () => {
    priceServer.down(true);
    const n = issueNo();
    mockConfig("funders:\n  budget: 50usd/30d\n");
    mockPermission("alice", "write");
    const replies = captureReply(n);
    await comment(n, "/bounty 1000sats");
    await h.bot.settled();
    expect(replies[0]).toMatch(
      /1,000 sats has to be counted against a budget in another currency, and there is no agreeing USD price right now \(no fresh USD price.*\), so I recorded nothing\. Please try again later\./,
    );
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();

    mockConfig("funders:\n  budget: 50usd/30d\n");
    mockPermission("alice", "write");
    expectCard(n);
    await comment(n, "/bounty 1usd");
    await h.bot.settled();
    expect(await pledgesOn(n)).toEqual([["alice", "USD", 100n]]);
  });

  test("the org's .github file bounds the funders a repository's file adds, and its budget applies there", async () => {
    const org = "funders:\n  users: [carol]\n  budget: 5usd/30d\n";
    const n = issueNo();
    mockConfig("funders:\n  users: [carol, mallory]\n", org);
    const replies = captureReply(n);
    await comment(n, "/bounty 1usd", mallory);
    await h.bot.settled();
    expect(replies[0]).toContain(".github/bounties.yml` is invalid");
    expect(replies[0]).toContain('funders.users: "mallory" is not among the funders kubernetes/.github allows (carol)');
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();

    // The repository sets no budget: the org's $5 applies to carol, whom the org allows.
    const carol: Who = { login: "carol", id: 2001 };
    mockConfig("funders:\n  users: [carol]\n", org);
    const again = captureReply(n);
    await comment(n, "/bounty 6usd", carol);
    await h.bot.settled();
    expect(again[0]).toContain("$6 would go over your funder budget of $5 per 30d");
  });

  test("_extends to another account's repository is a config error, and nothing of that account is fetched", async () => {
    for (const target of ["otherorg/.github", "otherorg/bounties"]) {
      const n = issueNo();
        github().get(`${repoPath}/contents/${encodeURIComponent(".github/bounties.yml")}`).reply(200, `_extends: ${target}\nfunders:\n  users: [mallory]\n`);
      const replies = captureReply(n);
      await comment(n, "/bounty 5usd", mallory);
      await h.bot.settled();
      expect(replies[0]).toContain(".github/bounties.yml` is invalid");
      expect(replies[0]).toContain(
        `_extends: "${target}" in kubernetes/website names a repository of another account (otherorg); a config may only extend repositories of kubernetes`,
      );
      expect(await findBounty(h.db, REPO.id, n)).toBeNull();
    }
  });
});
