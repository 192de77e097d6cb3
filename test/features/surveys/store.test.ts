import { ENGINES, createTestDb, type TestDb } from "../../support/databases.js";
import { closeSurvey, openSurvey, payResponse } from "../../../src/features/surveys/escrow.js";
import { earningsOf, escrowOf, fundsOf, TREASURY, WALLET, postedBalance, availableBalance } from "../../../src/ledger/rules.js";
import { accountBalance, transferNow } from "../../../src/store/ledger.js";
import { getSurvey, listResponses, openSurveysOn, surveysOn, type NewSurvey } from "../../../src/store/surveys.js";
import { getCard } from "../../../src/store/cards.js";
import type { PledgeTerms } from "../../../src/store/bounties.js";
import type { Db } from "../../../src/store/db.js";

let nextUser = 60_000;
let nextComment = 600_000;
let nextIssue = 1;
const cause = { actor: { id: 1, login: "someone" }, deliveryId: "test" };
const noBudgets = (): PledgeTerms => ({ chargedUserId: 1, funderBudget: null, accountBudget: null, rates: {}, now: new Date() });

function survey(author: number, over: Partial<Omit<NewSurvey, "id">> = {}): Omit<NewSurvey, "id"> {
  const commentId = nextComment++;
  return {
    openKey: `survey:${commentId}`,
    installationId: 1, repoId: 78, owner: "kubernetes", repo: "website", issueNumber: nextIssue++, surveyCommentId: commentId,
    author: { id: author, login: `u${author}` }, audience: "members",
    amount: { currency: "BTC", minor: 1000n }, sats: 1000n, rate: null, slots: 2, payer: "person",
    minReplyChars: 20, minAccountAgeMs: 30 * 86_400_000, createdAt: new Date(),
    ...over,
  };
}

async function deposit(db: Db, userId: number, sats: bigint) {
  const r = await transferNow(db, { key: `deposit:test:${userId}:${nextComment++}`, debit: WALLET, credit: fundsOf(userId), sats, kind: "deposit" });
  if (!r.ok) throw new Error(r.reason);
}

const posted = async (db: Db, spec: Parameters<typeof accountBalance>[1]) => postedBalance(await accountBalance(db, spec));
const available = async (db: Db, spec: Parameters<typeof accountBalance>[1]) => availableBalance(await accountBalance(db, spec));

describe.each(ENGINES)("surveys store on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());

  test("opening escrows amount × N from the author's funds, once; without enough nothing is recorded", async () => {
    const author = nextUser++;
    await deposit(t.db, author, 1500n);
    const poor = await t.db.transaction((tx) => openSurvey(tx, survey(author), { terms: null, cause }));
    expect(poor).toEqual({ ok: false, reply: expect.stringContaining("500 sats more are needed") });
    expect(await t.db.query("SELECT 1 FROM surveys WHERE author_id = $1", [author])).toEqual([]);

    const s = survey(author, { slots: 1 });
    const ok = await t.db.transaction((tx) => openSurvey(tx, s, { terms: null, cause }));
    if (!ok.ok || !ok.survey) throw new Error("not opened");
    expect(await available(t.db, fundsOf(author))).toBe(500n);
    expect(ok.survey).toMatchObject({ state: "open", slots: 1, sats: 1000n, audience: "members", payer: "person" });
    expect((await getCard(t.db, `survey:${ok.survey.id}`))?.version).toBe(1n);
    expect(await openSurveysOn(t.db, 78, s.issueNumber)).toHaveLength(1);
    expect(await t.db.transaction((tx) => openSurvey(tx, s, { terms: null, cause }))).toEqual({ ok: true, survey: null });
    expect(await available(t.db, fundsOf(author))).toBe(500n);
  });

  test("each response is paid once to earnings, a person once and a comment once; the last slot fills the survey", async () => {
    const author = nextUser++;
    const [a, b, c] = [nextUser++, nextUser++, nextUser++];
    await deposit(t.db, author, 2000n);
    const r = await t.db.transaction((tx) => openSurvey(tx, survey(author), { terms: null, cause }));
    if (!r.ok || !r.survey) throw new Error("not opened");
    const id = r.survey.id;
    const pay = (who: number, commentId: number) =>
      t.db.transaction((tx) => payResponse(tx, id, { responder: { id: who, login: `m${who}` }, commentId, body: `response ${commentId}`, at: new Date(), cause }));
    const first = nextComment++;
    expect(await pay(a, first)).toBe(true);
    expect(await pay(a, nextComment++)).toBe(false);
    expect(await pay(b, first)).toBe(false);
    expect(await pay(b, nextComment++)).toBe(true);
    expect(await pay(c, nextComment++)).toBe(false);
    expect([await posted(t.db, earningsOf(a)), await posted(t.db, earningsOf(b)), await posted(t.db, earningsOf(c))]).toEqual([1000n, 1000n, 0n]);
    expect(await posted(t.db, fundsOf(author))).toBe(0n);
    expect(await posted(t.db, escrowOf("survey", id))).toBe(0n);
    expect((await getSurvey(t.db, id))?.state).toBe("full");
    expect((await listResponses(t.db, id)).map((x) => [x.slot, x.responderId, x.body])).toEqual([[0, a, `response ${first}`], [1, b, expect.any(String)]]);
    // Full: nothing is left to close.
    expect(await t.db.transaction((tx) => closeSurvey(tx, id, { at: new Date(), cause }))).toBe(false);
  });

  test("a treasury survey charges each slot to the budgets; close returns the rest, releases its charges, once", async () => {
    const author = nextUser++;
    const a = nextUser++;
    const s = survey(author, { payer: "treasury", slots: 3, sats: 700n, amount: { currency: "BTC", minor: 700n } });
    const treasury = await posted(t.db, TREASURY);
    const r = await t.db.transaction((tx) => openSurvey(tx, s, { terms: noBudgets(), cause }));
    if (!r.ok || !r.survey) throw new Error("not opened");
    const id = r.survey.id;
    expect((await accountBalance(t.db, TREASURY)).debitsPending).toBeGreaterThanOrEqual(2100n);
    await t.db.transaction((tx) => payResponse(tx, id, { responder: { id: a, login: "a" }, commentId: nextComment++, body: "x", at: new Date(), cause }));
    expect(await t.db.transaction((tx) => closeSurvey(tx, id, { at: new Date(), cause }))).toBe(true);
    expect(await t.db.transaction((tx) => closeSurvey(tx, id, { at: new Date(), cause }))).toBe(false);
    expect(await t.db.transaction((tx) => payResponse(tx, id, { responder: { id: nextUser++, login: "late" }, commentId: nextComment++, body: "x", at: new Date(), cause }))).toBe(false);
    expect(await posted(t.db, TREASURY)).toBe(treasury - 700n);
    expect(await posted(t.db, escrowOf("survey", id))).toBe(0n);
    expect((await accountBalance(t.db, escrowOf("survey", id))).creditsPending).toBe(0n);
    const charges = await t.db.query<{ key: string; kind: string; released: boolean }>(
      "SELECT key, kind, released_at IS NOT NULL AS released FROM budget_charges WHERE key LIKE $1 ORDER BY key",
      [`survey:${id}:%`],
    );
    expect(charges.map((x) => [x.key, x.kind, x.released])).toEqual([
      [`survey:${id}:0`, "survey", false],
      [`survey:${id}:1`, "survey", true],
      [`survey:${id}:2`, "survey", true],
    ]);
    expect(await getSurvey(t.db, id)).toMatchObject({ state: "closed", returnedSats: 1400n });
    expect((await surveysOn(t.db, "Kubernetes", "WEBSITE", s.issueNumber)).map((x) => x.id)).toEqual([id]);
    const events = await t.db.query<{ kind: string }>("SELECT kind FROM events WHERE data->>'survey' = $1 ORDER BY id", [String(id)]);
    expect(events.map((e) => e.kind)).toEqual(["survey_opened", "survey_response", "survey_closed"]);
  });
});
