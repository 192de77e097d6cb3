import { answers, answerText, askAmount, longEnough, parseAsk, parseTarget, satsAt } from "../../../src/features/questions/rules.js";
import { renderQuestionCard } from "../../../src/features/questions/card.js";
import type { Amount } from "../../../src/core/money.js";
import type { Answer, Question } from "../../../src/store/questions.js";

const usd = (cents: bigint): Amount => ({ currency: "USD", minor: cents });
const sats = (n: bigint): Amount => ({ currency: "BTC", minor: n });

describe("parseTarget", () => {
  test.each([
    ["@alice", { kind: "person", login: "alice" }],
    ["@kubernetes/sig-Docs", { kind: "team", org: "kubernetes", slug: "sig-docs" }],
    ["list:SIG-docs-experts", { kind: "list", name: "sig-docs-experts" }],
    ["alice", null],
    ["@a/b/c", null],
    ["@-bad", null],
    ["list:", null],
  ])("%s", (word, want) => expect(parseTarget(word)).toEqual(want));
});

describe("parseAsk", () => {
  test.each<[string, unknown]>([
    ["@alice", { ok: true, kind: "ask", target: { kind: "person", login: "alice" }, amount: null, first: null, about: "" }],
    ["@alice 20usd how do I test?", { ok: true, kind: "ask", target: { kind: "person", login: "alice" }, amount: usd(2000n), first: null, about: "how do I test?" }],
    ["@alice why is this slow", { ok: true, kind: "ask", target: { kind: "person", login: "alice" }, amount: null, first: null, about: "why is this slow" }],
    ["@alice 5", { ok: true, kind: "ask", target: { kind: "person", login: "alice" }, amount: usd(500n), first: null, about: "" }],
    ["@k8s/leads 5000sats first 2 flakes", { ok: true, kind: "ask", target: { kind: "team", org: "k8s", slug: "leads" }, amount: sats(5000n), first: 2, about: "flakes" }],
    ["list:docs 1usd", { ok: true, kind: "ask", target: { kind: "list", name: "docs" }, amount: usd(100n), first: null, about: "" }],
    ["cancel", { ok: true, kind: "cancel", target: null }],
    ["cancel @alice", { ok: true, kind: "cancel", target: { kind: "person", login: "alice" } }],
  ])("reads %s", (args, want) => expect(parseAsk(args, "USD")).toEqual(want));

  test.each([
    ["", /whom to ask/],
    ["alice 5usd", /not a GitHub login/],
    ["@alice 5xyz", /./],
    ["@alice 0usd", /zero/],
    ["@alice 5usd first 2", /for teams and lists/],
    ["@k8s/leads", /needs the amount/],
    ["list:docs first 2", /needs the amount/],
    ["@k8s/leads 5usd first 0", /whole number/],
    ["@k8s/leads 5usd first", /whole number/],
    ["cancel alice bob", /at most whom/],
  ])("refuses %j", (args, why) => {
    const r = parseAsk(args, "USD");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });
});

describe("askAmount", () => {
  const at60k = (a: Amount) => satsAt(a, "60000");
  const noPrice = () => null;
  test.each<[string, Amount | null, Amount | null, (a: Amount) => bigint | null, Amount | RegExp]>([
    ["their price when none is given", usd(2000n), null, at60k, usd(2000n)],
    ["no price and none given: refused", null, null, at60k, /takes no paid questions/],
    ["any amount when they set no price", null, sats(10n), at60k, sats(10n)],
    ["at least their price, same currency", usd(2000n), usd(2000n), at60k, usd(2000n)],
    ["under their price, same currency: refused", usd(2000n), usd(1999n), at60k, /charges \$20 to answer; \$19.99 is less/],
    ["under their price in sats: refused", usd(100n), sats(1666n), at60k, /is less/],
    ["over their price in sats", usd(100n), sats(1667n), at60k, sats(1667n)],
    ["other currency without a price: refused (fail closed)", usd(100n), sats(100_000n), noPrice, /no agreeing BTC price/],
  ])("%s", (_name, price, given, toSats, want) => {
    const r = askAmount("alice", price, given, toSats);
    if (want instanceof RegExp) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reply).toMatch(want);
    } else expect(r).toEqual({ ok: true, amount: want });
  });
});

describe("satsAt", () => {
  test.each<[Amount, string | null, bigint | null]>([
    [sats(123n), null, 123n],
    [usd(100n), "60000", 1667n],
    [usd(2000n), "60000", 33333n],
    [usd(100n), null, null],
  ])("%j at %s", (a, rate, want) => expect(satsAt(a, rate)).toBe(want));
});

describe("what counts as an answer", () => {
  test.each<[string, string, boolean]>([
    ["plain text long enough", "Run make test-e2e with KIND set.", true],
    ["too short", "yes, see docs", false],
    ["only commands", "/decline\n/price 5usd\n/wallet donate coin-center", false],
    ["commands and enough text", "/price 5usd\nYou need to run hack/verify.sh first.", true],
    ["text in an HTML comment does not count", "ok <!-- a very long hidden comment text here -->", false],
    ["whitespace does not count", "a    b    c    d    e    f", false],
  ])("%s", (_name, body, want) => expect(longEnough(body, 20)).toBe(want));

  test("answerText keeps what is not a command", () => {
    expect(answerText("/ask cancel\nthanks all\n  /decline")).toBe("thanks all");
  });

  const base: Parameters<typeof answers>[0] = {
    state: "open",
    targetKind: "person",
    askedId: 10,
    members: [],
    asker: { id: 20, login: "bob" },
    askCommentId: 100,
    minReplyChars: 20,
  };
  const alice = { id: 10, login: "alice", type: "User" };
  const long = "This is long enough to be an answer.";
  test.each<[string, Parameters<typeof answers>[0], Parameters<typeof answers>[1], number[], boolean]>([
    ["the person asked, after the ask, long enough", base, { id: 101, author: alice, body: long }, [], true],
    ["a comment before the ask", base, { id: 99, author: alice, body: long }, [], false],
    ["the ask's own comment", base, { id: 100, author: alice, body: long }, [], false],
    ["someone else", base, { id: 101, author: { id: 11, login: "carol", type: "User" }, body: long }, [], false],
    ["a bot, even with the asked id", base, { id: 101, author: { ...alice, type: "Bot" }, body: long }, [], false],
    ["the asker", { ...base, targetKind: "list", members: [{ login: "bob", id: null }] }, { id: 101, author: { id: 20, login: "bob", type: "User" }, body: long }, [], false],
    ["too short", base, { id: 101, author: alice, body: "short" }, [], false],
    ["a closed question", { ...base, state: "expired" }, { id: 101, author: alice, body: long }, [], false],
    ["a list member by login", { ...base, targetKind: "list", askedId: null, members: [{ login: "Alice", id: null }] }, { id: 101, author: alice, body: long }, [], true],
    ["a team member by id (renamed login)", { ...base, targetKind: "team", askedId: null, members: [{ login: "old", id: 10 }] }, { id: 101, author: alice, body: long }, [], true],
    ["a login match does not stand in for another id", { ...base, targetKind: "team", askedId: null, members: [{ login: "alice", id: 99 }] }, { id: 101, author: alice, body: long }, [], false],
    ["a member already paid for it", { ...base, targetKind: "list", askedId: null, members: [{ login: "alice", id: null }] }, { id: 102, author: alice, body: long }, [10], false],
  ])("%s", (_name, q, c, paid, want) => expect(answers(q, c, paid)).toBe(want));
});

describe("the question card", () => {
  const q: Question = {
    id: 7n, installationId: 1, repoId: 2, owner: "kubernetes", repo: "website", issueNumber: 5, askCommentId: 100,
    asker: { id: 20, login: "bob" }, targetKind: "person", target: "alice", askedId: 10, members: [], about: "e2e tests",
    amount: usd(2000n), sats: 33333n, slots: 1, payer: "person", minReplyChars: 20, state: "open", returnedSats: 0n,
    createdAt: new Date("2026-01-01T00:00:00Z"), expiresAt: new Date("2026-01-08T00:00:00Z"), closedAt: null,
  };
  const answer: Answer = { questionId: 7n, slot: 0, responderId: 10, responderLogin: "alice", commentId: 555, sats: 33333n, charityId: null, answeredAt: new Date() };
  test.each<[string, Question, Answer[], Array<string | RegExp>]>([
    ["open: mentions the person asked, the price, the deadline", q, [], ["Paid question for @alice: $20 (33,333 sats)", "Asked by @bob about: e2e tests.", "until 2026-01-08 00:00 UTC", "`/ask cancel`", "@alice: `/decline`"]],
    ["a topic that ends its own sentence gets no second stop", { ...q, about: "how do I run the e2e tests?" }, [], [/Asked by @bob about: how do I run the e2e tests\?\n/]],
    ["no topic", { ...q, about: "" }, [], [/Asked by @bob\.\n/]],
    ["answered: links the answer and says who was credited", { ...q, state: "answered" }, [answer], ["✅ answered", "https://github.com/kubernetes/website/issues/5#issuecomment-555", "33,333 sats credited to @alice"]],
    ["donated answer", { ...q, state: "answered" }, [{ ...answer, charityId: "coin-center" }], ["donated to `coin-center` for @alice"]],
    ["expired: mentions both, says the money went back", { ...q, state: "expired", returnedSats: 33333n }, [], ["⌛ expired: no answer came", "33,333 sats went back to @bob", "(asked: @alice)"]],
    ["cancelled", { ...q, state: "cancelled", returnedSats: 33333n }, [], ["cancelled by @bob; 33,333 sats went back to @bob"]],
    ["declined", { ...q, state: "declined", returnedSats: 33333n }, [], ["declined by @alice; 33,333 sats went back to @bob"]],
    [
      "a list: mentions every member, shows who answered and what is left",
      { ...q, targetKind: "list", target: "docs", askedId: null, members: [{ login: "ann", id: null }, { login: "ben", id: null }, { login: "cy", id: null }], slots: 2, amount: sats(1000n), sats: 1000n },
      [{ ...answer, responderLogin: "ann", sats: 1000n }],
      ["list `docs` (@ann, @ben and @cy): 1,000 sats for each of the first 2 answers", "1 of 2 answers paid", "| @ann | 1,000 sats credited to @ann |", "1,000 sats left for 1 more answer."],
    ],
  ])("%s", (_name, question, list, wants) => {
    const text = renderQuestionCard(question, list);
    for (const w of wants) expect(text).toMatch(typeof w === "string" ? new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : w);
  });
});
