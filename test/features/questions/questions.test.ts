import { useTestBot } from "../../support/harness.js";
import { ENGINES } from "../../support/databases.js";
import { deliver, github, mockConfig, mockPermission, mockUser, repoPath, startTestBot } from "../../support/bot.js";
import { commentCreated, commentEdited, type Who } from "../../support/payloads.js";
import { priceOracle } from "../../support/payouts.js";
import { availableBalance, charityOf, earningsOf, escrowOf, fundsOf, postedBalance, TREASURY, WALLET, type AccountSpec } from "../../../src/ledger/rules.js";
import { accountBalance, transferNow } from "../../../src/store/ledger.js";
import type { Db } from "../../../src/store/db.js";

/** A testnet P2WPKH address (BIP173), the charity's. */
const TESTNET_ADDRESS = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
const MARKER = "<!-- bounty-bot:card:question:";
const CONFIG = `
funders: { users: [frank] }
lists: { docs-experts: [ann, ben, cy] }
questions: { max_open_per_asker: 2, max_responders: 3 }
charities: { coin-center: { name: Coin Center, address: ${TESTNET_ADDRESS} } }
`;
const DAY = 86_400_000;

let nextId = 40_000;
let nextComment = 400_000;
let nextIssue = 400;
let nextCardId = 900_000;
const person = (login: string, type: "User" | "Bot" = "User"): Who => ({ login, id: nextId++, type });

const available = async (db: Db, a: AccountSpec) => availableBalance(await accountBalance(db, a));
const posted = async (db: Db, a: AccountSpec) => postedBalance(await accountBalance(db, a));

/** A deposit confirmed for someone: the ledger's deposit transfer (wallet → their funds). */
async function depositFor(db: Db, who: Who, sats: bigint) {
  const r = await transferNow(db, { key: `deposit:${"ab".repeat(32)}:${nextComment++}:1`, debit: WALLET, credit: fundsOf(who.id), sats, kind: "deposit" });
  if (!r.ok) throw new Error(r.reason);
}

/** Every account sums to zero and nothing personal is overdrawn. */
async function expectLedgerConsistent(db: Db) {
  const [sum] = await db.query<{ s: bigint }>("SELECT coalesce(sum(credits_posted - debits_posted), 0) AS s FROM ledger_accounts");
  expect(BigInt(sum!.s)).toBe(0n);
  const overdrawn = await db.query("SELECT key FROM ledger_accounts WHERE kind IN ('funds', 'earnings', 'escrow', 'charity') AND credits_posted - debits_posted - debits_pending < 0");
  expect(overdrawn).toEqual([]);
}

describe.each(ENGINES)("paid questions on %s", (engine) => {
  const h = useTestBot(engine, { prices: () => priceOracle("fixed:USD=60000") });

  /** A comment on `issue`; with commands, the config is read first. */
  async function say(issue: number, user: Who, body: string, o: { commands?: boolean; closed?: boolean; config?: string } = {}) {
    if (o.commands !== false) mockConfig(o.config ?? CONFIG);
    const commentId = nextComment++;
    const payload = commentCreated({ issue: { number: issue, state: o.closed ? "closed" : "open" }, commentId, body, user });
    const res = await deliver(h.bot, "issue_comment", payload);
    expect(res.status).toBe(200);
    await h.bot.settled();
    return { commentId, payload, deliveryId: res.id };
  }
  const thumbsUp = (commentId = nextComment) =>
    github().post(`${repoPath}/issues/comments/${commentId}/reactions`, { content: "+1" }).reply(201, { id: 1, content: "+1" });
  function replies(issue: number): string[] {
    const bodies: string[] = [];
    github()
      .post(`${repoPath}/issues/${issue}/comments`, (b: { body: string }) => !b.body.startsWith(MARKER))
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: 1 };
      });
    return bodies;
  }
  /** A question's card, created: its comment id and each body it is given (created, then edited). */
  function newCard(issue: number): { id: number; bodies: string[] } {
    const card = { id: nextCardId++, bodies: [] as string[] };
    github().get(`${repoPath}/issues/${issue}/comments`).query(true).reply(200, []);
    github()
      .post(`${repoPath}/issues/${issue}/comments`, (b: { body: string }) => b.body.startsWith(MARKER))
      .reply(201, (_u, b) => {
        card.bodies.push((b as { body: string }).body);
        return { id: card.id };
      });
    return card;
  }
  function cardEdit(card: { id: number; bodies: string[] }, times = 1) {
    github()
      .patch(`${repoPath}/issues/comments/${card.id}`)
      .times(times)
      .reply(200, (_u, b) => {
        card.bodies.push((b as { body: string }).body);
        return { id: card.id };
      });
  }
  const questions = (askerId: number) => h.db.query<{ state: string; sats: bigint; payer: string }>("SELECT state, sats, payer FROM questions WHERE asker_id = $1 ORDER BY id", [askerId]);

  /** alice sets a price, bob (with deposited funds) asks her: the question's issue, card and people. */
  async function askAlice(o: { price?: string; funds?: bigint; ask?: string } = {}) {
    const issue = nextIssue++;
    const [alice, bob] = [person("alice"), person("bob")];
    if (o.funds !== 0n) await depositFor(h.db, bob, o.funds ?? 5000n);
    thumbsUp();
    await say(issue, alice, `/price ${o.price ?? "1000sats"}`);
    mockUser("alice", { id: alice.id });
    mockPermission("bob", "read");
    thumbsUp();
    const card = newCard(issue);
    const ask = await say(issue, bob, o.ask ?? "/ask @alice how do the docs previews build?");
    return { issue, alice, bob, card, ask };
  }

  test("ask a person: escrowed from the asker's deposited funds, the card mentions them; the answer pays their earnings once (redelivered, replayed, a second process)", async () => {
    const { issue, alice, bob, card } = await askAlice();
    expect(card.bodies).toHaveLength(1);
    expect(card.bodies[0]).toContain("Paid question for @alice: 1,000 sats");
    expect(card.bodies[0]).toContain("Asked by @bob about: how do the docs previews build?\n");
    expect(await available(h.db, fundsOf(bob.id))).toBe(4000n);
    expect(await questions(bob.id)).toEqual([{ state: "open", sats: 1000n, payer: "person" }]);

    cardEdit(card);
    const answer = await say(issue, alice, "Netlify builds them from the PR's head; see netlify.toml.", { commands: false });
    expect(await posted(h.db, earningsOf(alice.id))).toBe(1000n);
    expect(await posted(h.db, fundsOf(bob.id))).toBe(4000n);
    expect(card.bodies[1]).toContain("✅ answered");
    expect(card.bodies[1]).toContain(`#issuecomment-${answer.commentId}`);
    expect(card.bodies[1]).toContain("1,000 sats credited to @alice");

    // The same delivery again, the same body under a new delivery id, and a second process: nothing more.
    await deliver(h.bot, "issue_comment", answer.payload, { id: answer.deliveryId });
    await deliver(h.bot, "issue_comment", answer.payload);
    await h.bot.settled();
    const second = await startTestBot(h.db, {}, { prices: priceOracle("fixed:USD=60000") });
    try {
      await deliver(second, "issue_comment", answer.payload);
      await second.settled();
    } finally {
      await second.close();
    }
    // Another comment by her answers nothing more: the question is answered.
    await say(issue, alice, "And the preview URL is posted by the netlify bot.", { commands: false });
    expect(await posted(h.db, earningsOf(alice.id))).toBe(1000n);
    const events = await h.db.query<{ kind: string }>("SELECT kind FROM events WHERE user_id IN ($1, $2) AND kind LIKE 'question%' ORDER BY id", [alice.id, bob.id]);
    expect(events.map((e) => e.kind)).toEqual(["question_price", "question_asked", "question_answered"]);
    await expectLedgerConsistent(h.db);
  });

  test("a funder's question is escrowed from the treasury, fiat priced at today's median; a price with donate sends the answer to the charity", async () => {
    const issue = nextIssue++;
    const [alice, frank] = [person("alice"), person("frank")];
    thumbsUp();
    await say(issue, alice, "/price 1usd donate coin-center");
    const treasuryBefore = await accountBalance(h.db, TREASURY);
    const charityBefore = await posted(h.db, charityOf("coin-center"));
    mockUser("alice", { id: alice.id });
    thumbsUp();
    const card = newCard(issue);
    await say(issue, frank, "/ask @alice");
    // $1 at 60,000 USD/BTC: 1,667 sats reserved from the treasury, none from frank.
    expect((await accountBalance(h.db, TREASURY)).debitsPending - treasuryBefore.debitsPending).toBe(1667n);
    expect(card.bodies[0]).toContain("$1 (1,667 sats)");
    expect((await h.db.query("SELECT 1 FROM budget_charges WHERE kind = 'question' AND charged_user_id = $1", [frank.id])).length).toBe(1);
    cardEdit(card);
    await say(issue, alice, "/lgtm\nThe answer is in the contributor guide, section 4.", { commands: false });
    expect((await posted(h.db, charityOf("coin-center"))) - charityBefore).toBe(1667n);
    expect(await posted(h.db, earningsOf(alice.id))).toBe(0n);
    expect(card.bodies[1]).toContain("donated to `coin-center` for @alice");
    await expectLedgerConsistent(h.db);
  });

  test("a funder's questions count against funders.budget; one that would go over is refused, and an expired one no longer counts", async () => {
    const issue = nextIssue++;
    const [alice, frank] = [person("alice"), person("frank")];
    const config = CONFIG.replace("funders: { users: [frank] }", "funders: { users: [frank], budget: 2000sats/30d }");
    mockUser("alice", { id: alice.id });
    thumbsUp();
    const card = newCard(issue);
    await say(issue, frank, "/ask @alice 1500sats", { config });
    mockUser("alice", { id: alice.id });
    const over = replies(issue);
    await say(issue, frank, "/ask @alice 1000sats", { config });
    expect(over[0]).toMatch(/would go over your funder budget of 2,000 sats.*only 500 sats is left/);
    expect(await questions(frank.id)).toHaveLength(1);
    cardEdit(card);
    await h.bot.sweeper.runAll(new Date(Date.now() + 8 * DAY));
    await h.bot.settled();
    expect((await h.db.query("SELECT 1 FROM budget_charges WHERE charged_user_id = $1 AND released_at IS NOT NULL", [frank.id])).length).toBe(1);
    mockUser("alice", { id: alice.id });
    thumbsUp();
    newCard(issue);
    await say(issue, frank, "/ask @alice 1000sats", { config });
    expect((await questions(frank.id)).map((q) => q.state)).toEqual(["expired", "open"]);
    await expectLedgerConsistent(h.db);
  });

  test("one comment answers every open question to that person on the issue", async () => {
    const { issue, alice, card } = await askAlice();
    const carol = person("carol");
    await depositFor(h.db, carol, 1200n);
    mockUser("alice", { id: alice.id });
    mockPermission("carol", "read");
    thumbsUp();
    const second = newCard(issue);
    await say(issue, carol, "/ask @alice 1200sats");
    cardEdit(card);
    cardEdit(second);
    await say(issue, alice, "Both of you: the answer is in the release notes.", { commands: false });
    expect(await posted(h.db, earningsOf(alice.id))).toBe(2200n);
    expect(card.bodies[1]).toContain("✅ answered");
    expect(second.bodies[1]).toContain("✅ answered");
    await expectLedgerConsistent(h.db);
  });

  test("a short reply, a bot's, the asker's, only commands and an edit do not answer", async () => {
    const { issue, alice, bob } = await askAlice();
    const short = await say(issue, alice, "will look", { commands: false });
    await say(issue, { ...alice, type: "Bot" }, "This is a long enough comment by a bot account.", { commands: false });
    await say(issue, bob, "Any news on this? It is a long enough comment.", { commands: false });
    await say(issue, alice, "/lgtm\n/hold cancel\n/assign @alice", { commands: false });
    // An edit making the short reply long is not a new answer (edits are not even taken in).
    const edited = commentEdited({ issue: { number: issue }, commentId: short.commentId, body: "Edited into a long enough answer, but it does not count.", user: alice });
    await deliver(h.bot, "issue_comment", edited);
    await h.bot.settled();
    expect(await posted(h.db, earningsOf(alice.id))).toBe(0n);
    expect(await questions(bob.id)).toEqual([{ state: "open", sats: 1000n, payer: "person" }]);
    expect(await available(h.db, fundsOf(bob.id))).toBe(4000n);
  });

  test("expiry: after questions.expires the escrow goes back and the card says so, mentioning both", async () => {
    const { issue, alice, bob, card } = await askAlice();
    await h.bot.sweeper.runAll(new Date(Date.now() + DAY));
    await h.bot.settled();
    expect(await available(h.db, fundsOf(bob.id))).toBe(4000n);
    cardEdit(card);
    // GitHub notifies nobody of a mention added by an edit: the expiry gets a reply too.
    const said = replies(issue);
    await h.bot.sweeper.runAll(new Date(Date.now() + 7 * DAY + 3_600_000));
    await h.bot.settled();
    expect(said).toEqual(["@bob your question to @alice expired without an answer: 1000 sats went back to your balance."]);
    expect(await available(h.db, fundsOf(bob.id))).toBe(5000n);
    expect(await posted(h.db, fundsOf(bob.id))).toBe(5000n);
    expect(await questions(bob.id)).toEqual([{ state: "expired", sats: 1000n, payer: "person" }]);
    expect(card.bodies[1]).toContain("⌛ expired");
    expect(card.bodies[1]).toContain("1,000 sats went back to @bob");
    expect(card.bodies[1]).toContain("@alice");
    // Once: a second sweep (or process) finds it closed; a late answer pays nothing.
    await h.bot.sweeper.runAll(new Date(Date.now() + 30 * DAY));
    await say(issue, alice, "A late but long enough answer to the question.", { commands: false });
    expect(await posted(h.db, earningsOf(alice.id))).toBe(0n);
    expect(await available(h.db, fundsOf(bob.id))).toBe(5000n);
    await expectLedgerConsistent(h.db);
  });

  test("/ask cancel by the asker and /decline by the person asked return the escrow at once", async () => {
    const first = await askAlice();
    cardEdit(first.card);
    thumbsUp();
    await say(first.issue, first.bob, "/ask cancel");
    expect(await available(h.db, fundsOf(first.bob.id))).toBe(5000n);
    expect(first.card.bodies[1]).toContain("cancelled by @bob");
    const again = replies(first.issue);
    await say(first.issue, first.bob, "/ask cancel");
    expect(again[0]).toContain("you have no unanswered question on this issue");

    const second = await askAlice();
    const notYours = replies(second.issue);
    await say(second.issue, person("mallory"), "/decline");
    expect(notYours[0]).toContain("nobody has an unanswered question to you");
    cardEdit(second.card);
    thumbsUp();
    await say(second.issue, second.alice, "/decline");
    expect(await available(h.db, fundsOf(second.bob.id))).toBe(5000n);
    expect(second.card.bodies[1]).toContain("declined by @alice; 1,000 sats went back to @bob");
    expect(await questions(second.bob.id)).toEqual([{ state: "declined", sats: 1000n, payer: "person" }]);
    await expectLedgerConsistent(h.db);
  });

  describe("refusals, each with a reply and nothing recorded", () => {
    test.each<[string, string, (me: Who) => void, RegExp]>([
      ["asking yourself", "/ask @bob 100sats", () => undefined, /cannot ask yourself/],
      ["a bot", "/ask @dependabot 100sats", () => mockUser("dependabot", { id: 49_000, type: "Bot" }), /is a bot/],
      ["an unknown user", "/ask @nobody-here 100sats", () => mockUser("nobody-here", null), /no GitHub account @nobody-here/],
      ["a person with no price when no amount is given", "/ask @carol", () => (mockUser("carol", { id: 49_001 }), mockPermission("bob", "read")), /@carol takes no paid questions/],
      ["an unknown list", "/ask list:nope 100sats", () => undefined, /no list "nope"/],
      ["first N over questions.max_responders", "/ask list:docs-experts 100sats first 4", () => undefined, /at most 3 answers/],
      ["first N for a person", "/ask @alice 100sats first 2", () => undefined, /for teams and lists/],
      ["a team that does not exist", "/ask @kubernetes/nope 100sats", () => github().get("/orgs/kubernetes/teams/nope/members").query(true).reply(404, { message: "Not Found" }), /no team @kubernetes\/nope/],
      ["a fiat amount without an agreeing price (fail closed)", "/ask @dave 5eur", () => mockUser("dave", { id: 49_002 }), /no agreeing BTC price/],
      ["without enough funds", "/ask @dave 9000sats", () => (mockUser("dave", { id: 49_002 }), mockPermission("bob", "read")), /you have 5000 sats available; 4000 sats more are needed.*\/deposit/],
    ])("%s", async (_name, body, mocks, why) => {
      const issue = nextIssue++;
      const bob = { ...person("bob"), login: "bob" };
      await depositFor(h.db, bob, 5000n);
      mocks(bob);
      const got = replies(issue);
      await say(issue, bob, body);
      expect(got[0]).toContain(`> ${body}`);
      expect(got[0]).toMatch(why);
      expect(await questions(bob.id)).toEqual([]);
      expect(await available(h.db, fundsOf(bob.id))).toBe(5000n);
    });

    test("an amount under their price", async () => {
      const { issue, alice, bob } = await askAlice({ price: "2000sats", ask: "/ask @alice 2000sats" });
      mockUser("alice", { id: alice.id });
      mockPermission("bob", "read");
      const got = replies(issue);
      await say(issue, bob, "/ask @alice 1999sats");
      expect(got[0]).toMatch(/charges 2,000 sats to answer; 1,999 sats is less/);
      expect(await questions(bob.id)).toHaveLength(1);
    });

    test("more open questions than questions.max_open_per_asker", async () => {
      const { issue, bob } = await askAlice();
      const alice2 = person("erin");
      mockUser("erin", { id: alice2.id });
      mockPermission("bob", "read");
      thumbsUp();
      newCard(issue);
      await say(issue, bob, "/ask @erin 100sats");
      mockUser("erin", { id: alice2.id });
      mockPermission("bob", "read");
      const got = replies(issue);
      await say(issue, bob, "/ask @erin 101sats");
      expect(got[0]).toMatch(/2 unanswered questions open already/);
      expect(await questions(bob.id)).toHaveLength(2);
      expect(await available(h.db, fundsOf(bob.id))).toBe(3900n);
    });

    test("a closed issue", async () => {
      const issue = nextIssue++;
      const bob = person("bob");
      const got = replies(issue);
      await say(issue, bob, "/ask @alice 100sats", { closed: true });
      expect(got[0]).toMatch(/this issue is closed/);
      expect(await questions(bob.id)).toEqual([]);
    });
  });

  test("a team question with first 2: members from GitHub; three answer, two are paid, nothing is left", async () => {
    const issue = nextIssue++;
    const bob = person("bob");
    const [ann, ben, cy] = [person("ann"), person("ben"), person("cy")];
    await depositFor(h.db, bob, 10_000n);
    github()
      .get("/orgs/kubernetes/teams/sig-docs/members")
      .query(true)
      .reply(200, [ann, ben, cy, bob].map((u) => ({ login: u.login, id: u.id, type: "User" })));
    mockPermission("bob", "read");
    thumbsUp();
    const card = newCard(issue);
    await say(issue, bob, "/ask @kubernetes/sig-docs 700sats first 2 why is hugo slow?");
    expect(await available(h.db, fundsOf(bob.id))).toBe(8600n);
    expect(card.bodies[0]).toContain("Paid question for @kubernetes/sig-docs: 700 sats for each of the first 2 answers");
    cardEdit(card, 2);
    for (const m of [ann, ben, cy]) await say(issue, m, `${m.login} here: hugo is slow because of the image processing.`, { commands: false });
    expect([await posted(h.db, earningsOf(ann.id)), await posted(h.db, earningsOf(ben.id)), await posted(h.db, earningsOf(cy.id))]).toEqual([700n, 700n, 0n]);
    expect(await questions(bob.id)).toEqual([{ state: "answered", sats: 700n, payer: "person" }]);
    expect(card.bodies[2]).toContain("all 2 answers paid");
    expect(card.bodies[2]).toContain("| @ben | 700 sats credited to @ben |");
    await h.bot.sweeper.runAll(new Date(Date.now() + 8 * DAY));
    await h.bot.settled();
    expect(await available(h.db, fundsOf(bob.id))).toBe(8600n);
    await expectLedgerConsistent(h.db);
  });

  test("a list: question with first 2: one member answers and is paid, the rest returns at expiry", async () => {
    const issue = nextIssue++;
    const bob = person("bob");
    const ann = person("ann");
    await depositFor(h.db, bob, 10_000n);
    mockPermission("bob", "read");
    thumbsUp();
    const card = newCard(issue);
    await say(issue, bob, "/ask list:docs-experts 1000sats first 2");
    expect(card.bodies[0]).toContain("list `docs-experts` (@ann, @ben and @cy)");
    expect(await available(h.db, fundsOf(bob.id))).toBe(8000n);
    cardEdit(card, 2);
    await say(issue, ann, "The docs experts say: use the localization guide.", { commands: false });
    await say(issue, person("zed"), "Not on the list, but here is a long enough reply.", { commands: false });
    expect(await posted(h.db, earningsOf(ann.id))).toBe(1000n);
    expect(card.bodies[1]).toContain("1 of 2 answers paid");
    const said = replies(issue);
    await h.bot.sweeper.runAll(new Date(Date.now() + 7 * DAY + 60_000));
    await h.bot.settled();
    expect(said).toEqual(["@bob your question to list:docs-experts expired with 1 of 2 answers: 1000 sats went back to your balance."]);
    expect(await available(h.db, fundsOf(bob.id))).toBe(9000n);
    expect(await posted(h.db, escrowOf("question", (await h.db.query<{ id: bigint }>("SELECT id FROM questions WHERE asker_id = $1", [bob.id]))[0]!.id))).toBe(0n);
    expect(card.bodies[2]).toContain("⌛ expired: not every answer came");
    expect(card.bodies[2]).toContain("1,000 sats went back to @bob");
    await expectLedgerConsistent(h.db);
  });

  test("/price shows, sets and removes one's price, and shows someone else's", async () => {
    const issue = nextIssue++;
    const alice = person("alice");
    const shown = replies(issue);
    await say(issue, alice, "/price");
    expect(shown[0]).toContain("you have no price set");
    thumbsUp();
    await say(issue, alice, "/price 20usd");
    mockUser("alice", { id: alice.id });
    const other = replies(issue);
    await say(issue, person("bob"), "/price @alice");
    expect(other[0]).toContain("@alice charges $20 to answer a question.");
    const bad = replies(issue);
    await say(issue, alice, "/price 5usd donate nope");
    expect(bad[0]).toContain('"nope" is not one of this repository\'s charities');
    thumbsUp();
    await say(issue, alice, "/price off");
    const gone = replies(issue);
    await say(issue, alice, "/price off");
    expect(gone[0]).toContain("you have no price set, so there is nothing to remove");
  });
});
