import { inAudience, mayRespond, parseSurvey } from "../../../src/features/surveys/rules.js";
import { parseIssueRef } from "../../../src/cli/surveys.js";

const DAY = 86_400_000;

describe("parseSurvey", () => {
  test.each<[string, ReturnType<typeof parseSurvey>]>([
    ["5usd first 10", { ok: true, kind: "open", amount: { currency: "USD", minor: 500n }, first: 10, audience: "members" }],
    ["2000sats first 3 anyone", { ok: true, kind: "open", amount: { currency: "BTC", minor: 2000n }, first: 3, audience: "anyone" }],
    ["2000sats members", { ok: true, kind: "open", amount: { currency: "BTC", minor: 2000n }, first: 1, audience: "members" }],
    ["1000", { ok: true, kind: "open", amount: { currency: "USD", minor: 100000n }, first: 1, audience: "members" }],
    ["close", { ok: true, kind: "close" }],
    ["CLOSE", { ok: true, kind: "close" }],
  ])("%s", (args, want) => expect(parseSurvey(args, "USD")).toEqual(want));

  test.each<[string, RegExp]>([
    ["", /say what each response is paid/],
    ["close now", /takes nothing more/],
    ["lots", /./],
    ["-5usd", /./],
    ["5usd first", /`first` needs a whole number/],
    ["5usd first 0", /`first` needs a whole number/],
    ["5usd first two", /`first` needs a whole number/],
    ["5usd first 2 everyone", /I do not understand `everyone`/],
    ["5usd anyone first 2", /I do not understand `first 2`/],
  ])("refuses %j", (args, why) => {
    const r = parseSurvey(args, "BTC");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });
});

describe("mayRespond", () => {
  const survey = { state: "open" as const, author: { id: 1, login: "pat" }, surveyCommentId: 100, minReplyChars: 20 };
  const long = "This is a response long enough to count.";
  const none = { responderIds: [], commentIds: [] };
  const ann = { id: 7, login: "ann", type: "User" };
  test.each<[string, Partial<typeof survey>, { id?: number; author?: typeof ann; body?: string | null }, { responderIds: number[]; commentIds: number[] }, boolean]>([
    ["a long comment after the survey", {}, {}, none, true],
    ["a closed survey", { state: "closed" as never }, {}, none, false],
    ["a full survey", { state: "full" as never }, {}, none, false],
    ["its author", {}, { author: { id: 1, login: "pat", type: "User" } }, none, false],
    ["a bot", {}, { author: { id: 8, login: "ci[bot]", type: "Bot" } }, none, false],
    ["an organisation", {}, { author: { id: 9, login: "org", type: "Organization" } }, none, false],
    ["a comment before the survey", {}, { id: 99 }, none, false],
    ["the survey's own comment", {}, { id: 100 }, none, false],
    ["someone paid already", {}, {}, { responderIds: [7], commentIds: [] }, false],
    ["a comment counted already", {}, {}, { responderIds: [], commentIds: [101] }, false],
    ["a short reply", {}, { body: "will fill it in" }, none, false],
    ["only commands", {}, { body: "/lgtm\n/hold cancel\n/assign @ann" }, none, false],
    ["commands and enough text", {}, { body: `/lgtm\n${long}` }, none, true],
    ["no body", {}, { body: null }, none, false],
  ])("%s", (_name, s, c, paid, want) => {
    expect(mayRespond({ ...survey, ...s }, { id: 101, author: ann, body: long, ...c }, paid)).toBe(want);
  });
});

describe("inAudience", () => {
  const at = new Date("2026-06-01T00:00:00Z");
  const members = { audience: "members" as const, minAccountAgeMs: 30 * DAY };
  const anyone = { audience: "anyone" as const, minAccountAgeMs: 30 * DAY };
  test.each<[string, typeof members | typeof anyone, { member: boolean | null; createdAt: Date | null }, boolean]>([
    ["a member", members, { member: true, createdAt: null }, true],
    ["not a member", members, { member: false, createdAt: new Date("2010-01-01") }, false],
    ["membership unknown (fails closed)", members, { member: null, createdAt: new Date("2010-01-01") }, false],
    ["an old account", anyone, { member: null, createdAt: new Date("2010-01-01") }, true],
    ["exactly the minimum age", anyone, { member: null, createdAt: new Date(at.getTime() - 30 * DAY) }, true],
    ["a day too young", anyone, { member: true, createdAt: new Date(at.getTime() - 29 * DAY) }, false],
    ["age unknown (fails closed)", anyone, { member: true, createdAt: null }, false],
  ])("%s", (_name, s, who, want) => expect(inAudience(s, who, at)).toBe(want));
});

describe("parseIssueRef", () => {
  test.each<[string, ReturnType<typeof parseIssueRef>]>([
    ["kubernetes/website#42", { owner: "kubernetes", repo: "website", number: 42 }],
    ["k8s-io/k8s.io#1", { owner: "k8s-io", repo: "k8s.io", number: 1 }],
    ["kubernetes/website", null],
    ["kubernetes#42", null],
    ["kubernetes/website#0", null],
    ["kubernetes/website#x", null],
    ["-bad/website#1", null],
    ["a/b/c#1", null],
    ["kubernetes/website#99999999999", null],
  ])("%s", (text, want) => expect(parseIssueRef(text)).toEqual(want));
});
