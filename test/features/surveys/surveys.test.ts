import { useTestBot } from "../../support/harness.js";
import { ENGINES } from "../../support/databases.js";
import { deliver, github, mockConfig, mockPermission, repoPath, startTestBot } from "../../support/bot.js";
import { commentCreated, commentEdited, type Who } from "../../support/payloads.js";
import { priceOracle, silent } from "../../support/payouts.js";
import { availableBalance, earningsOf, escrowOf, fundsOf, postedBalance, TREASURY, WALLET, type AccountSpec } from "../../../src/ledger/rules.js";
import { accountBalance, transferNow } from "../../../src/store/ledger.js";
import { runCli } from "../../../src/cli/index.js";
import type { Db } from "../../../src/store/db.js";

const MARKER = "<!-- bounty-bot:card:survey:";
const CONFIG = `
funders: { users: [frank] }
questions: { max_responders: 5, min_reply_chars: 20 }
surveys: { min_account_age: 30d }
`;
const QUESTIONS = "Release team survey:\n1. What slowed you down this cycle?\n2. What should we keep?";
const DAY = 86_400_000;

let nextId = 70_000;
let nextComment = 700_000;
let nextIssue = 700;
let nextCardId = 970_000;
const person = (login: string, type: "User" | "Bot" = "User"): Who => ({ login, id: nextId++, type });

const available = async (db: Db, a: AccountSpec) => availableBalance(await accountBalance(db, a));
const posted = async (db: Db, a: AccountSpec) => postedBalance(await accountBalance(db, a));

async function depositFor(db: Db, who: Who, sats: bigint) {
  const r = await transferNow(db, { key: `deposit:${"cd".repeat(32)}:${nextComment++}:1`, debit: WALLET, credit: fundsOf(who.id), sats, kind: "deposit" });
  if (!r.ok) throw new Error(r.reason);
}

async function expectLedgerConsistent(db: Db) {
  const [sum] = await db.query<{ s: bigint }>("SELECT coalesce(sum(credits_posted - debits_posted), 0) AS s FROM ledger_accounts");
  expect(BigInt(sum!.s)).toBe(0n);
  const overdrawn = await db.query("SELECT key FROM ledger_accounts WHERE kind IN ('funds', 'earnings', 'escrow', 'charity') AND credits_posted - debits_posted - debits_pending < 0");
  expect(overdrawn).toEqual([]);
}

/** GET /orgs/kubernetes/members/{login}: 204 a member, 404 not. */
const mockMember = (login: string, member: boolean) => github().get(`/orgs/kubernetes/members/${login}`).reply(member ? 204 : 404, member ? undefined : { message: "Not Found" });
/** GET /user/{id}: the account and when it was created. */
const mockCreated = (who: Who, createdAt: Date) =>
  github().get(`/user/${who.id}`).reply(200, { login: who.login, id: who.id, type: "User", created_at: createdAt.toISOString().replace(/\.\d{3}Z$/, "Z") });

async function cli(argv: string[], db?: Db) {
  let out = "";
  let err = "";
  const code = await runCli(argv, { env: { DATA_DIR: "/nonexistent/never" }, db, log: silent, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe.each(ENGINES)("paid surveys on %s", (engine) => {
  const h = useTestBot(engine, { prices: () => priceOracle("fixed:USD=60000") });

  async function say(issue: number, user: Who, body: string, o: { commands?: boolean; closed?: boolean; config?: string; description?: string; pullRequest?: boolean; userRepo?: boolean } = {}) {
    if (o.commands !== false) mockConfig(o.config ?? CONFIG);
    const commentId = nextComment++;
    const payload = commentCreated({ issue: { number: issue, state: o.closed ? "closed" : "open", pullRequest: o.pullRequest }, commentId, body, user });
    payload.issue.body = o.description ?? QUESTIONS;
    if (o.userRepo) payload.repository.owner.type = "User";
    payload.comment.created_at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
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
  const surveys = (authorId: number) =>
    h.db.query<{ state: string; sats: bigint; slots: number; payer: string; audience: string }>("SELECT state, sats, slots, payer, audience FROM surveys WHERE author_id = $1 ORDER BY id", [authorId]);

  test("a members survey, first 2: a non-member, a short reply, the author and a bot do not count; two members are paid once each (redelivered, replayed, a second process); the export lists them", async () => {
    const issue = nextIssue++;
    const [pat, ann, ben, cy, zed] = [person("pat"), person("ann"), person("ben"), person("cy"), person("zed")];
    await depositFor(h.db, pat, 2500n);
    mockPermission("pat", "read");
    thumbsUp();
    const card = newCard(issue);
    await say(issue, pat, "/survey 1000sats first 2");
    expect(await surveys(pat.id)).toEqual([{ state: "open", sats: 1000n, slots: 2, payer: "person", audience: "members" }]);
    expect(await available(h.db, fundsOf(pat.id))).toBe(500n);
    expect(card.bodies[0]).toContain("Paid survey: 1,000 sats for each of the first 2 responses");
    expect(card.bodies[0]).toContain("Open to members of @kubernetes");
    expect(card.bodies[0]).toContain("0 of 2 responses counted; 2,000 sats left");

    // Not counted: a non-member (GitHub asked), and, without asking GitHub, a short reply, the author and a bot.
    mockMember("zed", false);
    await say(issue, zed, "Not a member, but a long enough response anyway.", { commands: false });
    await say(issue, ann, "will fill it in", { commands: false });
    await say(issue, pat, "Reminder: please answer the questions above.", { commands: false });
    await say(issue, { ...person("ci-robot"), type: "Bot" }, "A bot's comment that is long enough to count.", { commands: false });
    // An edit making the short reply long is not a response (edits are not taken in).
    await deliver(h.bot, "issue_comment", commentEdited({ issue: { number: issue }, commentId: nextComment - 3, body: "Edited into a long enough response, which does not count.", user: ann }));
    await h.bot.settled();
    expect(await posted(h.db, earningsOf(zed.id))).toBe(0n);
    expect(await posted(h.db, earningsOf(ann.id))).toBe(0n);

    mockMember("ann", true);
    cardEdit(card);
    const first = await say(issue, ann, "1. Flaky tests in the e2e suite.\n2. Keep the burndown meetings.", { commands: false });
    expect(await posted(h.db, earningsOf(ann.id))).toBe(1000n);
    expect(card.bodies[1]).toContain("1 of 2 responses counted; 1,000 sats left");
    expect(card.bodies[1]).toContain(`#issuecomment-${first.commentId}`);

    // The same delivery again, the same body under a new delivery id, and a second process: nothing more, no GitHub call.
    await deliver(h.bot, "issue_comment", first.payload, { id: first.deliveryId });
    await deliver(h.bot, "issue_comment", first.payload);
    await h.bot.settled();
    const second = await startTestBot(h.db, {}, { prices: priceOracle("fixed:USD=60000") });
    try {
      await deliver(second, "issue_comment", first.payload);
      await second.settled();
    } finally {
      await second.close();
    }
    // Her second comment is not a second response.
    await say(issue, ann, "One more thought: the release notes tooling was slow.", { commands: false });
    expect(await posted(h.db, earningsOf(ann.id))).toBe(1000n);

    mockMember("ben", true);
    cardEdit(card);
    await say(issue, ben, "Slowed down by the freeze dates; keep the shadows program.", { commands: false });
    expect(await posted(h.db, earningsOf(ben.id))).toBe(1000n);
    expect(card.bodies[2]).toContain("all 2 responses counted and paid; nothing left");
    // Full: a third member's response asks GitHub nothing and is paid nothing.
    await say(issue, cy, "A late response that is long enough to count.", { commands: false });
    expect(await posted(h.db, earningsOf(cy.id))).toBe(0n);
    expect(await surveys(pat.id)).toEqual([{ state: "full", sats: 1000n, slots: 2, payer: "person", audience: "members" }]);
    expect(await posted(h.db, fundsOf(pat.id))).toBe(500n);
    const [s] = await h.db.query<{ id: bigint }>("SELECT id FROM surveys WHERE author_id = $1", [pat.id]);
    expect(await posted(h.db, escrowOf("survey", s!.id))).toBe(0n);
    const events = await h.db.query<{ kind: string }>("SELECT kind FROM events WHERE data->>'survey' = $1 ORDER BY id", [String(s!.id)]);
    expect(events.map((e) => e.kind)).toEqual(["survey_opened", "survey_response", "survey_response"]);

    const csv = await cli(["surveys", "export", `kubernetes/website#${issue}`, "--csv"], h.db);
    expect([csv.code, csv.err]).toEqual([0, ""]);
    const lines = csv.out.trimEnd().split("\n");
    expect(lines[0]).toBe("survey,login,id,time,comment_url,text");
    expect(lines[1]).toMatch(new RegExp(`^${s!.id},ann,${ann.id},\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z,https://github.com/kubernetes/website/issues/${issue}#issuecomment-${first.commentId},"1. Flaky tests in the e2e suite.$`));
    expect(lines[2]).toBe('2. Keep the burndown meetings."');
    expect(lines[3]).toMatch(new RegExp(`^${s!.id},ben,${ben.id},.*,"Slowed down by the freeze dates; keep the shadows program."$`));
    expect(lines).toHaveLength(4);
    await expectLedgerConsistent(h.db);
  });

  test("an anyone survey: an account younger than surveys.min_account_age is not paid, an older one is", async () => {
    const issue = nextIssue++;
    const [pat, young, old] = [person("pat"), person("newbie"), person("veteran")];
    await depositFor(h.db, pat, 3000n);
    mockPermission("pat", "read");
    thumbsUp();
    const card = newCard(issue);
    await say(issue, pat, "/survey 1000sats first 3 anyone");
    expect(card.bodies[0]).toContain("Open to anyone with a GitHub account at least 30 days old");
    mockCreated(young, new Date(Date.now() - 29 * DAY));
    await say(issue, young, "A response long enough, from a new account.", { commands: false });
    mockCreated(old, new Date(Date.now() - 400 * DAY));
    cardEdit(card);
    await say(issue, old, "A response long enough, from an old account.", { commands: false });
    expect(await posted(h.db, earningsOf(young.id))).toBe(0n);
    expect(await posted(h.db, earningsOf(old.id))).toBe(1000n);
    expect(card.bodies[1]).toContain("1 of 3 responses counted; 2,000 sats left");
    await expectLedgerConsistent(h.db);
  });

  test("a funder's survey is escrowed from the treasury, fiat priced at today's median; /survey close by its author returns the rest and releases the budget charges", async () => {
    const issue = nextIssue++;
    const [frank, ann, mallory] = [person("frank"), person("ann"), person("mallory")];
    const before = await accountBalance(h.db, TREASURY);
    thumbsUp();
    const card = newCard(issue);
    await say(issue, frank, "/survey 1usd first 3");
    // $1 at 60,000 USD/BTC: 1,667 sats a response, 5,001 reserved from the treasury.
    expect((await accountBalance(h.db, TREASURY)).debitsPending - before.debitsPending).toBe(5001n);
    expect(card.bodies[0]).toContain("$1 (1,667 sats) for each of the first 3 responses");
    const charges = () =>
      h.db.query<{ released: boolean }>("SELECT released_at IS NOT NULL AS released FROM budget_charges WHERE kind = 'survey' AND charged_user_id = $1 ORDER BY key", [frank.id]);
    expect((await charges()).map((c) => c.released)).toEqual([false, false, false]);
    mockMember("ann", true);
    cardEdit(card);
    await say(issue, ann, "1. CI was slow.\n2. Keep the release calendar.", { commands: false });
    expect(await posted(h.db, earningsOf(ann.id))).toBe(1667n);

    const notYours = replies(issue);
    await say(issue, mallory, "/survey close");
    expect(notYours[0]).toContain("only @frank, who opened it, can close the survey");
    cardEdit(card);
    thumbsUp();
    await say(issue, frank, "/survey close");
    expect((await accountBalance(h.db, TREASURY)).debitsPending).toBe(before.debitsPending);
    expect(await posted(h.db, TREASURY)).toBe(postedBalance(before) - 1667n);
    expect((await charges()).map((c) => c.released)).toEqual([false, true, true]);
    expect(await surveys(frank.id)).toEqual([{ state: "closed", sats: 1667n, slots: 3, payer: "treasury", audience: "members" }]);
    expect(card.bodies[2]).toContain("closed by @frank with 1 of 3 responses counted; 3,334 sats went back to the treasury.");
    // Closed: a response pays nothing and asks GitHub nothing; a second close says there is none.
    await say(issue, person("ben"), "A long enough response after the close.", { commands: false });
    const again = replies(issue);
    await say(issue, frank, "/survey close");
    expect(again[0]).toContain("there is no open survey on this issue");
    await expectLedgerConsistent(h.db);
  });

  describe("refusals, each with a reply and nothing recorded", () => {
    test.each<[string, string, { closed?: boolean; description?: string; pullRequest?: boolean; config?: string; funder?: boolean; asksPermission?: boolean; userRepo?: boolean }, RegExp]>([
      ["on a pull request", "/survey 100sats", { pullRequest: true }, /not on a pull request/],
      ["on a closed issue", "/survey 100sats", { closed: true }, /this issue is closed/],
      ["an empty description (no questions)", "/survey 100sats", { description: "   " }, /description is empty/],
      ["first N over questions.max_responders", "/survey 100sats first 6", {}, /at most 5 responses/],
      ["a bad amount", "/survey lots first 2", {}, /./],
      ["a bad audience", "/survey 100sats first 2 everybody", {}, /I do not understand `everybody`/],
      ["a members survey on a user's repository (no organisation, nobody could answer)", "/survey 100sats first 2", { userRepo: true }, /belongs to @kubernetes, a user, not an organisation.*Use `anyone`/],
      ["a fiat amount without an agreeing price (fail closed)", "/survey 5eur first 2", {}, /no agreeing BTC price/],
      ["not enough balance", "/survey 3000sats first 2", { asksPermission: true }, /you have 5000 sats available; 1000 sats more are needed.*\/deposit/],
      ["over the funder's budget", "/survey 3000sats first 2", { funder: true, config: CONFIG.replace("funders: { users: [frank] }", "funders: { users: [frank], budget: 5000sats/30d }") }, /would go over your funder budget of 5,000 sats/],
    ])("%s", async (_name, body, o, why) => {
      const issue = nextIssue++;
      const who = o.funder ? person("frank") : person("pat");
      await depositFor(h.db, who, 5000n);
      // Whether the author may fund is asked only once every other check passed.
      if (o.asksPermission) mockPermission("pat", "read");
      const got = replies(issue);
      await say(issue, who, body, o);
      expect(got[0]).toContain(`> ${body}`);
      expect(got[0]).toMatch(why);
      expect(await surveys(who.id)).toEqual([]);
      expect(await available(h.db, fundsOf(who.id))).toBe(5000n);
      expect(await h.db.query("SELECT 1 FROM budget_charges WHERE charged_user_id = $1", [who.id])).toEqual([]);
    });

    test("a second survey on an issue with one open", async () => {
      const issue = nextIssue++;
      const pat = person("pat");
      await depositFor(h.db, pat, 5000n);
      mockPermission("pat", "read");
      thumbsUp();
      newCard(issue);
      await say(issue, pat, "/survey 1000sats first 2");
      mockPermission("pat", "read");
      const got = replies(issue);
      await say(issue, pat, "/survey 500sats first 2");
      expect(got[0]).toMatch(/has an open survey by @pat already/);
      expect(await surveys(pat.id)).toHaveLength(1);
      expect(await available(h.db, fundsOf(pat.id))).toBe(3000n);
    });
  });
});
