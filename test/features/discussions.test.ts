/**
 * Paid questions and surveys in GitHub Discussions, end to end: signed discussion_comment and
 * discussion webhooks, cards, replies and reactions written through GitHub's GraphQL API (nock),
 * the same rules as in issues; the accepted answer counts; the issue-only commands are refused.
 */
import { pino } from "pino";
import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockConfig, mockPermission, mockUser, startTestBot } from "../support/bot.js";
import { discussionAnswered, discussionCommentCreated, installationEvent, type DiscussionSpec, type Who } from "../support/payloads.js";
import { priceOracle } from "../support/payouts.js";
import { availableBalance, earningsOf, fundsOf, postedBalance, WALLET, type AccountSpec } from "../../src/ledger/rules.js";
import { accountBalance, transferNow } from "../../src/store/ledger.js";
import type { Db } from "../../src/store/db.js";

const CONFIG = `funders: { users: [frank] }\n`;
const QUESTION_MARKER = "<!-- bounty-bot:card:question:";
const SURVEY_MARKER = "<!-- bounty-bot:card:survey:";
const DAY = 86_400_000;

let nextId = 60_000;
let nextComment = 600_000;
let nextDiscussion = 600;
let nextCard = 960_000;
const person = (login: string): Who => ({ login, id: nextId++, type: "User" });
const discussion = (o: Partial<DiscussionSpec> = {}): DiscussionSpec => {
  const number = nextDiscussion++;
  return { number, nodeId: `D_kwDOtest${number}`, ...o };
};

const available = async (db: Db, a: AccountSpec) => availableBalance(await accountBalance(db, a));
const posted = async (db: Db, a: AccountSpec) => postedBalance(await accountBalance(db, a));

async function depositFor(db: Db, who: Who, sats: bigint) {
  const r = await transferNow(db, { key: `deposit:${"cd".repeat(32)}:${nextComment++}:1`, debit: WALLET, credit: fundsOf(who.id), sats, kind: "deposit" });
  if (!r.ok) throw new Error(r.reason);
}

type GraphqlBody = { query: string; variables: Record<string, unknown> };
const graphql = (match: (b: GraphqlBody) => boolean) => github().post("/graphql", (b: GraphqlBody) => match(b));

/** A 👍 on a Discussion comment: GraphQL addReaction on its node id. */
function thumbsUp(nodeId: string) {
  graphql((b) => b.query.includes("addReaction") && b.variables.id === nodeId && b.variables.content === "THUMBS_UP").reply(200, {
    data: { addReaction: { reaction: { content: "THUMBS_UP" } } },
  });
}

/** Replies (not cards) added to the Discussion: their bodies. */
function replies(d: DiscussionSpec): string[] {
  const bodies: string[] = [];
  graphql((b) => b.query.includes("addDiscussionComment") && b.variables.id === d.nodeId && !String(b.variables.body).startsWith("<!-- bounty-bot:card:")).reply(
    200,
    (_u, body) => {
      bodies.push(String((body as GraphqlBody).variables.body));
      return { data: { addDiscussionComment: { comment: { id: `DC_reply${nextCard}`, databaseId: nextCard++ } } } };
    },
  );
  return bodies;
}

/** A card created in the Discussion: looked for among its comments first (none), then added. */
function newCard(d: DiscussionSpec, marker: string): { nodeId: string; bodies: string[] } {
  const card = { nodeId: `DC_card${nextCard++}`, bodies: [] as string[] };
  graphql((b) => b.query.includes("comments(first: 100") && b.variables.id === d.nodeId).reply(200, {
    data: { node: { comments: { pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] } } },
  });
  graphql((b) => b.query.includes("addDiscussionComment") && b.variables.id === d.nodeId && String(b.variables.body).startsWith(marker)).reply(200, (_u, body) => {
    card.bodies.push(String((body as GraphqlBody).variables.body));
    return { data: { addDiscussionComment: { comment: { id: card.nodeId, databaseId: nextCard++ } } } };
  });
  return card;
}

/** The card edited in place by its node id (updateDiscussionComment). */
function cardEdit(card: { nodeId: string; bodies: string[] }, times = 1) {
  graphql((b) => b.query.includes("updateDiscussionComment") && b.variables.id === card.nodeId)
    .times(times)
    .reply(200, (_u, body) => {
      card.bodies.push(String((body as GraphqlBody).variables.body));
      return { data: { updateDiscussionComment: { comment: { id: card.nodeId } } } };
    });
}

describe.each(ENGINES)("paid questions and surveys in GitHub Discussions on %s", (engine) => {
  const h = useTestBot(engine, { prices: () => priceOracle("fixed:USD=60000") });

  /** A comment in the Discussion; with commands, the config is read first. */
  async function say(d: DiscussionSpec, user: Who, body: string, o: { commands?: boolean } = {}) {
    if (o.commands !== false) mockConfig(CONFIG);
    const commentId = nextComment++;
    const nodeId = `DC_c${commentId}`;
    const payload = discussionCommentCreated({ discussion: d, commentId, nodeId, body, user });
    const res = await deliver(h.bot, "discussion_comment", payload);
    expect(res.status).toBe(200);
    await h.bot.settled();
    return { commentId, nodeId, payload, deliveryId: res.id };
  }
  const nextNode = () => `DC_c${nextComment}`;

  /** alice sets a price in the Discussion, bob (with deposited funds) asks her there. */
  async function askAlice(d = discussion()) {
    const [alice, bob] = [person("alice"), person("bob")];
    await depositFor(h.db, bob, 5000n);
    thumbsUp(nextNode());
    await say(d, alice, "/price 1000sats");
    mockUser("alice", { id: alice.id });
    mockPermission("bob", "read");
    thumbsUp(nextNode());
    const card = newCard(d, QUESTION_MARKER);
    const ask = await say(d, bob, "/ask @alice how do I run the node e2e suite locally?");
    return { d, alice, bob, card, ask };
  }

  test("ask in a Discussion: the card is added through GraphQL and mentions them; their answer there pays once (redelivered, replayed, a second process)", async () => {
    const { d, alice, bob, card } = await askAlice();
    expect(card.bodies).toHaveLength(1);
    expect(card.bodies[0]).toContain("Paid question for @alice: 1,000 sats");
    expect(await available(h.db, fundsOf(bob.id))).toBe(4000n);
    const [q] = await h.db.query<{ discussion_id: string; issue_number: number }>("SELECT discussion_id, issue_number FROM questions WHERE asker_id = $1", [bob.id]);
    expect(q).toEqual({ discussion_id: d.nodeId, issue_number: d.number });

    cardEdit(card);
    const answer = await say(d, alice, "Run hack/local-up-cluster.sh, then make test-e2e-node.", { commands: false });
    expect(await posted(h.db, earningsOf(alice.id))).toBe(1000n);
    expect(card.bodies[1]).toContain("✅ answered");
    expect(card.bodies[1]).toContain(`/discussions/${d.number}#discussioncomment-${answer.commentId}`);

    await deliver(h.bot, "discussion_comment", answer.payload, { id: answer.deliveryId });
    await deliver(h.bot, "discussion_comment", answer.payload);
    await h.bot.settled();
    const second = await startTestBot(h.db, {}, { prices: priceOracle("fixed:USD=60000") });
    try {
      await deliver(second, "discussion_comment", answer.payload);
      await second.settled();
    } finally {
      await second.close();
    }
    expect(await posted(h.db, earningsOf(alice.id))).toBe(1000n);
    expect(await posted(h.db, fundsOf(bob.id))).toBe(4000n);
  });

  test("the accepted answer counts even when short; marked again, or someone else's, it pays nothing more", async () => {
    const { d, alice, bob, card } = await askAlice();
    // Too short to answer as a comment.
    const short = await say(d, alice, "Yes: use kind.", { commands: false });
    expect(await posted(h.db, earningsOf(alice.id))).toBe(0n);

    cardEdit(card);
    const answered = discussionAnswered({ discussion: d, answer: { commentId: short.commentId, nodeId: short.nodeId, body: "Yes: use kind.", user: alice }, sender: bob });
    expect((await deliver(h.bot, "discussion", answered)).status).toBe(200);
    await h.bot.settled();
    expect(await posted(h.db, earningsOf(alice.id))).toBe(1000n);
    expect(card.bodies[1]).toContain(`#discussioncomment-${short.commentId}`);

    // Unmarked and marked again (a new delivery of the same answer), and an answer by someone not asked.
    await deliver(h.bot, "discussion", discussionAnswered({ discussion: d, answer: { commentId: short.commentId, nodeId: short.nodeId, body: "Yes: use kind.", user: alice }, sender: bob }));
    const carol = person("carol");
    await deliver(h.bot, "discussion", discussionAnswered({ discussion: d, answer: { commentId: nextComment++, nodeId: "DC_other", body: "kind or minikube", user: carol }, sender: bob }));
    await h.bot.settled();
    expect(await posted(h.db, earningsOf(alice.id))).toBe(1000n);
    expect(await posted(h.db, earningsOf(carol.id))).toBe(0n);
  });

  test("an accepted answer written before the question does not answer it", async () => {
    const d = discussion();
    const [alice, bob] = [person("alice"), person("bob")];
    const early = await say(d, alice, "An early reply that is long enough to count as an answer.", { commands: false });
    await depositFor(h.db, bob, 5000n);
    mockUser("alice", { id: alice.id });
    mockPermission("bob", "read");
    thumbsUp(nextNode());
    newCard(d, QUESTION_MARKER);
    await say(d, bob, "/ask @alice 1000sats");
    await deliver(h.bot, "discussion", discussionAnswered({ discussion: d, answer: { commentId: early.commentId, nodeId: early.nodeId, body: "An early reply that is long enough to count as an answer.", user: alice }, sender: bob }));
    await h.bot.settled();
    expect(await posted(h.db, earningsOf(alice.id))).toBe(0n);
    expect(await available(h.db, fundsOf(bob.id))).toBe(4000n);
  });

  test("/ask cancel in a Discussion returns the escrow, with a 👍 through GraphQL; expiry replies in the Discussion mentioning the asker", async () => {
    const first = await askAlice();
    cardEdit(first.card);
    thumbsUp(nextNode());
    await say(first.d, first.bob, "/ask cancel");
    expect(await available(h.db, fundsOf(first.bob.id))).toBe(5000n);
    expect(first.card.bodies[1]).toContain("cancelled");

    const second = await askAlice();
    cardEdit(second.card);
    const said = replies(second.d);
    await h.bot.sweeper.runAll(new Date(Date.now() + 7 * DAY + 3_600_000));
    await h.bot.settled();
    expect(said).toEqual([`@bob your question to @alice expired without an answer: 1000 sats went back to your balance.`]);
    expect(await available(h.db, fundsOf(second.bob.id))).toBe(5000n);
  });

  test("a card added just before a crash is found again among the Discussion's comments (only our bot's), never added twice", async () => {
    const d = discussion();
    const [alice, bob, mallory] = [person("alice"), person("bob"), person("mallory")];
    await depositFor(h.db, bob, 5000n);
    mockUser("alice", { id: alice.id });
    mockPermission("bob", "read");
    thumbsUp(nextNode());
    const edited: string[] = [];
    // The card's comment exists (added before a crash, not recorded); someone else copied its marker too.
    graphql((b) => b.query.includes("comments(first: 100") && b.variables.id === d.nodeId).reply(200, async () => {
      const [q] = await h.db.query<{ id: bigint }>("SELECT id FROM questions WHERE asker_id = $1", [bob.id]);
      const marker = `${QUESTION_MARKER}${q!.id} -->`;
      const comment = (id: string, author: object, body: string) => ({ id, databaseId: nextCard++, body, author, replies: { nodes: [] } });
      return {
        data: {
          node: {
            comments: {
              pageInfo: { hasNextPage: false, endCursor: null },
              nodes: [
                comment("DC_fake", { __typename: "User", login: mallory.login, databaseId: mallory.id }, `${marker}\nfake card`),
                comment("DC_ours", { __typename: "Bot", login: "bounty-bot", databaseId: 41898282 }, `${marker}\nold text`),
              ],
            },
          },
        },
      };
    });
    graphql((b) => b.query.includes("updateDiscussionComment") && b.variables.id === "DC_ours").reply(200, (_u, body) => {
      edited.push(String((body as GraphqlBody).variables.body));
      return { data: { updateDiscussionComment: { comment: { id: "DC_ours" } } } };
    });
    await say(d, bob, "/ask @alice 1000sats");
    expect(edited).toHaveLength(1);
    expect(edited[0]).toContain("Paid question for @alice: 1,000 sats");
    const [card] = await h.db.query<{ comment_node_id: string }>("SELECT comment_node_id FROM cards WHERE key LIKE 'question:%' AND discussion_id = $1", [d.nodeId]);
    expect(card!.comment_node_id).toBe("DC_ours");
  });

  test("a command about issues is refused in a Discussion with where it works; nothing is recorded", async () => {
    const d = discussion();
    const frank = person("frank");
    const said = replies(d);
    await say(d, frank, "/bounty 50usd");
    expect(said).toHaveLength(1);
    expect(said[0]).toContain("`/bounty` works on issues and pull requests, not in Discussions. In a Discussion: `/balance`, `/price`, `/ask`, `/decline`, `/survey`, `/bounties`.");
    expect(await h.db.query("SELECT 1 FROM pledges")).toEqual([]);
  });

  test("a question in a locked Discussion is refused", async () => {
    const d = discussion({ locked: true });
    const bob = person("bob");
    await depositFor(h.db, bob, 5000n);
    const said = replies(d);
    await say(d, bob, "/ask @alice 1000sats");
    expect(said[0]).toContain("this Discussion is locked; ask on an open one.");
    expect(await available(h.db, fundsOf(bob.id))).toBe(5000n);
  });

  test("a survey in a Discussion: its description holds the questions; the first responses there are paid, once each", async () => {
    const d = discussion({ body: "1. What slowed your SIG down this cycle?\n2. What should we keep?" });
    const [sam, ann, ben] = [person("sam"), person("ann"), person("ben")];
    await depositFor(h.db, sam, 10_000n);
    mockPermission("sam", "read");
    thumbsUp(nextNode());
    const card = newCard(d, SURVEY_MARKER);
    await say(d, sam, "/survey 2000sats first 2 members");
    expect(card.bodies[0]).toContain("Paid survey");
    expect(await available(h.db, fundsOf(sam.id))).toBe(6000n);

    github().get(`/orgs/kubernetes/members/ann`).reply(204);
    cardEdit(card);
    const reply = await say(d, ann, "Flaky tests in the e2e suite; keep the burndown meetings.", { commands: false });
    expect(await posted(h.db, earningsOf(ann.id))).toBe(2000n);
    expect(card.bodies[1]).toContain(`#discussioncomment-${reply.commentId}`);
    // The same response again pays nothing more.
    await deliver(h.bot, "discussion_comment", reply.payload);
    await h.bot.settled();
    expect(await posted(h.db, earningsOf(ann.id))).toBe(2000n);

    github().get(`/orgs/kubernetes/members/ben`).reply(404);
    await say(d, ben, "I am not a member but I have opinions about release notes.", { commands: false });
    expect(await posted(h.db, earningsOf(ben.id))).toBe(0n);
  });
});

describe("installations that have not accepted discussions: write", () => {
  useTestBot("pglite", { token: false });

  test("are logged once each (and once more when they accept); deliveries keep being acknowledged", async () => {
    const { createTestDb } = await import("../support/databases.js");
    const t = await createTestDb("pglite");
    const lines: Array<{ msg: string; level: number }> = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const bot = await startTestBot(t.db, {}, { log });
    try {
      const without = { issues: "write", pull_requests: "write", contents: "read", members: "read", metadata: "read" };
      for (let i = 0; i < 3; i++) {
        const res = await deliver(bot, "installation", installationEvent({ action: i === 0 ? "created" : "new_permissions_accepted", permissions: without }));
        expect(res.status).toBe(200);
      }
      const warned = lines.filter((l) => l.msg.includes("has not accepted the discussions: write permission"));
      expect(warned).toHaveLength(1);
      expect(warned[0]!.msg).toContain("installation 2 (kubernetes)");
      expect(warned[0]!.msg).toContain("everything works in its issues");
      await deliver(bot, "installation", installationEvent({ action: "new_permissions_accepted", permissions: { ...without, discussions: "write" } }));
      expect(lines.filter((l) => l.msg.includes("accepted discussions: write: paid questions and surveys now work"))).toHaveLength(1);
    } finally {
      await bot.close();
      await t.close();
    }
  });
});
