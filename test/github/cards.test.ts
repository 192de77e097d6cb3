import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockNoConfig, mockPermission, repoPath } from "../support/bot.js";
import { commentCreated, REPO, type Who } from "../support/payloads.js";
import { CARD_MARKER } from "../../src/github/card.js";
import { findBounty } from "../../src/store/bounties.js";
import { isOwnCard } from "../../src/github/cards.js";

const alice: Who = { login: "alice", id: 1001 };
let nextIssue = 3100;
let nextComment = 310000;

describe.each(ENGINES)("finding the card again on %s", (engine) => {
  const h = useTestBot(engine);

  /** alice pledges on issue n while GitHub lists `comments` on it; returns the bodies of new comments. */
  async function pledgeWith(n: number, comments: unknown[], created: number): Promise<string[]> {
    mockNoConfig();
    mockPermission("alice", "write");
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, comments);
    const bodies: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: created };
      });
    github().post(`${repoPath}/issues/${n}/labels`).reply(200, []);
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body: "/bounty 5usd", user: alice }));
    await h.bot.settled();
    return bodies;
  }

  test("a user's comment carrying the card's marker is never edited; the bot makes its own card", async () => {
    const n = nextIssue++;
    const forged = { id: 71, body: `${CARD_MARKER}\n# Bounty: $1,000,000`, user: { login: "mallory", id: 1666, type: "User" } };
    const bodies = await pledgeWith(n, [forged], 72);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toContain(CARD_MARKER);
    expect((await findBounty(h.db, REPO.id, n))!.cardCommentId).toBe(72);
  });

  test("another app's bot comment carrying the marker is never edited either", async () => {
    const n = nextIssue++;
    const forged = {
      id: 81,
      body: `${CARD_MARKER}\nold`,
      user: { login: "evil-app[bot]", id: 4242, type: "Bot" },
      performed_via_github_app: { id: 999, slug: "evil-app" },
    };
    const bodies = await pledgeWith(n, [forged], 82);
    expect(bodies).toHaveLength(1);
    expect((await findBounty(h.db, REPO.id, n))!.cardCommentId).toBe(82);
  });

  test("our own card from before a crash is found by our bot account and edited, not made twice", async () => {
    const n = nextIssue++;
    mockNoConfig();
    mockPermission("alice", "write");
    github()
      .get(`${repoPath}/issues/${n}/comments`)
      .query(true)
      .reply(200, [
        { id: 90, body: `${CARD_MARKER}\nforged`, user: { login: "evil-app[bot]", id: 4242, type: "Bot" } },
        { id: 91, body: `${CARD_MARKER}\nold`, user: { login: "bounty-bot[bot]", id: 6, type: "Bot" } },
      ]);
    github().patch(`${repoPath}/issues/comments/91`).reply(200, {});
    github().post(`${repoPath}/issues/${n}/labels`).reply(200, []);
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body: "/bounty 5usd", user: alice }));
    await h.bot.settled();
    expect((await findBounty(h.db, REPO.id, n))!.cardCommentId).toBe(91);
  });
});

describe("isOwnCard", () => {
  const card = { id: 1, body: `${CARD_MARKER}\nx`, userLogin: "bounty-bot[bot]", userId: 6, userType: "Bot", viaAppId: 123 };
  test.each([
    ["our bot's card", card, { login: "bounty-bot[bot]" }, true],
    ["the login in another case", { ...card, userLogin: "Bounty-Bot[bot]" }, { login: "bounty-bot[bot]" }, true],
    ["a user's comment with the marker", { ...card, userLogin: "mallory", userType: "User" }, { login: "bounty-bot[bot]" }, false],
    ["a user named like our bot but not a bot", { ...card, userType: "User" }, { login: "bounty-bot[bot]" }, false],
    ["another bot", { ...card, userLogin: "evil[bot]" }, { login: "bounty-bot[bot]" }, false],
    ["our bot without the marker", { ...card, body: "thanks!" }, { login: "bounty-bot[bot]" }, false],
    ["the marker not at the start", { ...card, body: `hi ${CARD_MARKER}` }, { login: "bounty-bot[bot]" }, false],
    ["our login with another user id", card, { login: "bounty-bot[bot]", userId: 7 }, false],
    ["our login and user id", card, { login: "bounty-bot[bot]", userId: 6 }, true],
    ["made through another app", card, { login: "bounty-bot[bot]", appId: 124 }, false],
    ["made through our app", card, { login: "bounty-bot[bot]", appId: 123 }, true],
  ])("%s", (_name, comment, self, expected) => {
    expect(isOwnCard(comment, self)).toBe(expected);
  });
});
