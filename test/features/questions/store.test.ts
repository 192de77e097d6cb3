import { ENGINES, createTestDb, type TestDb } from "../../support/databases.js";
import { askQuestion, payAnswer, returnQuestion } from "../../../src/features/questions/escrow.js";
import { earningsOf, escrowOf, fundsOf, TREASURY, WALLET, charityOf, postedBalance, availableBalance } from "../../../src/ledger/rules.js";
import { accountBalance, transferNow } from "../../../src/store/ledger.js";
import { getPrice, getQuestion, listAnswers, removePrice, setPrice, type NewQuestion } from "../../../src/store/questions.js";
import { getCard, leaseCard, recordCardSynced, releaseCard, staleCards, touchCard } from "../../../src/store/cards.js";
import type { PledgeTerms } from "../../../src/store/bounties.js";
import type { Db } from "../../../src/store/db.js";

let nextUser = 50_000;
let nextComment = 500_000;
const cause = { actor: { id: 1, login: "someone" }, deliveryId: "test" };
const noBudgets = (): PledgeTerms => ({ chargedUserId: 1, funderBudget: null, accountBudget: null, rates: {}, now: new Date() });

function question(asker: number, over: Partial<Omit<NewQuestion, "id">> = {}): Omit<NewQuestion, "id"> {
  const now = new Date();
  return {
    askKey: `ask:${nextComment}:${Math.random()}`,
    installationId: 1, repoId: 77, owner: "kubernetes", repo: "website", issueNumber: 3, askCommentId: nextComment++,
    asker: { id: asker, login: `u${asker}` }, targetKind: "person", target: "alice", askedId: 9, members: [], about: "",
    amount: { currency: "BTC", minor: 1000n }, sats: 1000n, slots: 1, payer: "person", minReplyChars: 20,
    createdAt: now, expiresAt: new Date(now.getTime() + 7 * 86_400_000),
    ...over,
  };
}

async function deposit(db: Db, userId: number, sats: bigint) {
  const r = await transferNow(db, { key: `deposit:test:${userId}:${nextComment++}`, debit: WALLET, credit: fundsOf(userId), sats, kind: "deposit" });
  if (!r.ok) throw new Error(r.reason);
}

const balance = async (db: Db, spec: Parameters<typeof accountBalance>[1]) => postedBalance(await accountBalance(db, spec));

describe.each(ENGINES)("questions store on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());

  test("a price is kept by numeric id, replaced, shown and removed", async () => {
    const id = nextUser++;
    await t.db.transaction((tx) => setPrice(tx, { userId: id, login: "alice", amount: { currency: "USD", minor: 2000n }, charityId: null }));
    const charity = { charityId: "coin-center", charityName: "Coin Center", charityAddress: "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx" };
    await t.db.transaction((tx) => setPrice(tx, { userId: id, login: "alice-renamed", amount: { currency: "BTC", minor: 5000n }, ...charity }));
    expect(await getPrice(t.db, id)).toEqual({ userId: id, login: "alice-renamed", amount: { currency: "BTC", minor: 5000n }, ...charity });
    expect(await t.db.transaction((tx) => removePrice(tx, id))).toBe(true);
    expect(await t.db.transaction((tx) => removePrice(tx, id))).toBe(false);
    expect(await getPrice(t.db, id)).toBeNull();
  });

  test("asking escrows from the asker's funds; without enough nothing is recorded and the reply says what is missing", async () => {
    const asker = nextUser++;
    await deposit(t.db, asker, 1500n);
    const poor = await t.db.transaction((tx) => askQuestion(tx, question(asker, { sats: 2000n }), { terms: null, maxOpen: 5, cause }));
    expect(poor).toEqual({ ok: false, reply: expect.stringContaining("500 sats more are needed") });
    expect((await t.db.query("SELECT 1 FROM questions WHERE asker_id = $1", [asker])).length).toBe(0);

    const q = question(asker);
    const ok = await t.db.transaction((tx) => askQuestion(tx, q, { terms: null, maxOpen: 5, cause }));
    if (!ok.ok || !ok.question) throw new Error("not asked");
    expect(availableBalance(await accountBalance(t.db, fundsOf(asker)))).toBe(500n);
    expect((await getCard(t.db, `question:${ok.question.id}`))?.version).toBe(1n);
    // The same ask again (its key) records nothing more.
    expect(await t.db.transaction((tx) => askQuestion(tx, q, { terms: null, maxOpen: 5, cause }))).toEqual({ ok: true, question: null });
    expect(availableBalance(await accountBalance(t.db, fundsOf(asker)))).toBe(500n);
  });

  test("the open-question limit counts one asker's open questions", async () => {
    const asker = nextUser++;
    await deposit(t.db, asker, 10_000n);
    for (let i = 0; i < 2; i++) expect((await t.db.transaction((tx) => askQuestion(tx, question(asker), { terms: null, maxOpen: 2, cause }))).ok).toBe(true);
    const third = await t.db.transaction((tx) => askQuestion(tx, question(asker), { terms: null, maxOpen: 2, cause }));
    expect(third).toEqual({ ok: false, reply: expect.stringContaining("2 unanswered questions open already") });
  });

  test("an answer is paid once to earnings (or to the price's charity); a second comment or a return changes nothing", async () => {
    const asker = nextUser++;
    const alice = nextUser++;
    await deposit(t.db, asker, 1000n);
    const r = await t.db.transaction((tx) => askQuestion(tx, question(asker, { askedId: alice }), { terms: null, maxOpen: 5, cause }));
    if (!r.ok || !r.question) throw new Error("not asked");
    const id = r.question.id;
    const pay = (commentId: number) => t.db.transaction((tx) => payAnswer(tx, id, { responder: { id: alice, login: "alice" }, commentId, at: new Date(), cause }));
    expect(await pay(nextComment)).toBe(true);
    expect(await pay(nextComment)).toBe(false);
    expect(await pay(nextComment + 1)).toBe(false);
    expect(await t.db.transaction((tx) => returnQuestion(tx, id, { state: "expired", at: new Date(), cause }))).toBe(false);
    expect(await balance(t.db, earningsOf(alice))).toBe(1000n);
    expect(await balance(t.db, fundsOf(asker))).toBe(0n);
    expect(await balance(t.db, escrowOf("question", id))).toBe(0n);
    expect((await getQuestion(t.db, id))?.state).toBe("answered");

    const bob = nextUser++;
    await t.db.transaction((tx) => setPrice(tx, { userId: bob, login: "bob", amount: { currency: "BTC", minor: 1n }, charityId: "coin-center" }));
    await deposit(t.db, asker, 700n);
    const d = await t.db.transaction((tx) => askQuestion(tx, question(asker, { askedId: bob, sats: 700n }), { terms: null, maxOpen: 5, cause }));
    if (!d.ok || !d.question) throw new Error("not asked");
    const before = await balance(t.db, charityOf("coin-center"));
    await t.db.transaction((tx) => payAnswer(tx, d.question!.id, { responder: { id: bob, login: "bob" }, commentId: nextComment++, at: new Date(), cause }));
    expect((await balance(t.db, charityOf("coin-center"))) - before).toBe(700n);
    expect(await balance(t.db, earningsOf(bob))).toBe(0n);
  });

  test("a list question from the treasury pays the first N distinct members; the rest returns and its charges are released", async () => {
    const asker = nextUser++;
    const [a, b, c] = [nextUser++, nextUser++, nextUser++];
    const q = question(asker, { payer: "treasury", targetKind: "list", target: "docs", askedId: null, slots: 3, members: [{ login: "a", id: null }] });
    const treasury = await balance(t.db, TREASURY);
    const r = await t.db.transaction((tx) => askQuestion(tx, q, { terms: noBudgets(), maxOpen: 5, cause }));
    if (!r.ok || !r.question) throw new Error("not asked");
    const id = r.question.id;
    const pay = (who: number, commentId: number) => t.db.transaction((tx) => payAnswer(tx, id, { responder: { id: who, login: `m${who}` }, commentId, at: new Date(), cause }));
    expect(await pay(a, nextComment++)).toBe(true);
    expect(await pay(a, nextComment++)).toBe(false);
    expect(await pay(b, nextComment++)).toBe(true);
    expect((await listAnswers(t.db, id)).map((x) => [x.slot, x.responderId])).toEqual([[0, a], [1, b]]);
    expect(await t.db.transaction((tx) => returnQuestion(tx, id, { state: "expired", at: new Date(), cause }))).toBe(true);
    expect(await pay(c, nextComment++)).toBe(false);
    // Two answers paid from the treasury; the third slot's reservation is voided, nothing left pending.
    expect(await balance(t.db, TREASURY)).toBe(treasury - 2000n);
    expect((await accountBalance(t.db, TREASURY)).debitsPending).toBe(0n);
    expect(await balance(t.db, escrowOf("question", id))).toBe(0n);
    const charges = await t.db.query<{ key: string; released: boolean }>(
      "SELECT key, released_at IS NOT NULL AS released FROM budget_charges WHERE key LIKE $1 ORDER BY key",
      [`question:${id}:%`],
    );
    expect(charges.map((x) => [x.key, x.released])).toEqual([[`question:${id}:0`, false], [`question:${id}:1`, false], [`question:${id}:2`, true]]);
    expect((await getQuestion(t.db, id))?.returnedSats).toBe(1000n);
  });

  test("a card is leased by one syncer at a time and is stale until its latest version is shown", async () => {
    const key = `question:test-${nextComment++}`;
    await t.db.transaction((tx) => touchCard(tx, key, { installationId: 1, owner: "o", repo: "r", issueNumber: 1 }));
    expect(await staleCards(t.db, 1000)).toContain(key);
    expect(await leaseCard(t.db, key, 60)).toBe(true);
    expect(await leaseCard(t.db, key, 60)).toBe(false);
    expect(await staleCards(t.db, 1000)).not.toContain(key);
    await t.db.transaction((tx) => touchCard(tx, key, { installationId: 1, owner: "o", repo: "r", issueNumber: 1 }));
    await recordCardSynced(t.db, key, { version: 1n, commentId: 42 });
    expect(await releaseCard(t.db, key)).toBe(false);
    await recordCardSynced(t.db, key, { version: 2n, commentId: 42 });
    expect(await releaseCard(t.db, key)).toBe(true);
    expect(await getCard(t.db, key)).toMatchObject({ commentId: 42, version: 2n, syncedVersion: 2n });
  });
});
