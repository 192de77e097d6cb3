import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockConfig, mockNoConfig, mockPermission, mockToken, repoPath } from "../support/bot.js";
import { commentCreated, type Who } from "../support/payloads.js";
import { CARD_MARKER } from "../../src/github/card.js";
import { bountyEvents, findBounty, listPledges, replay } from "../../src/store/ledger.js";
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

  test("someone without write access is told who may fund, and nothing is recorded", async () => {
    const n = issueNo();
    mockToken();
    mockNoConfig();
    github().get(`${repoPath}/collaborators/mallory/permission`).reply(200, { permission: "read", role_name: "read", user: { login: "mallory" } });
    const replies = captureReplies(n);
    await comment(n, "/bounty 100usd", mallory);
    await h.bot.settled();
    expect(replies[0]).toContain("only people with write access to kubernetes/website may put a bounty");
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
    mockConfig("_extends: .github\nmax_bounty: [40usd]\n");
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
