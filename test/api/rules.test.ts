import {
  checkIdempotencyKey,
  checkRewardBody,
  parseNotify,
  parseRepoPattern,
  parseToken,
  periodBounds,
  periodIndex,
  RateLimiter,
  repoAllowed,
  repoOfUrl,
  requestHash,
  rewardStatus,
  type RewardRequest,
} from "../../src/api/rules.js";

const ok = (body: unknown): RewardRequest => {
  const r = checkRewardBody(body, "USD");
  if (!r.ok) throw new Error(r.detail);
  return r.value;
};

describe("a reward request", () => {
  test.each([
    [{ recipient: "@alice", amount: "500sats", reason: " r " }, { recipient: { login: "alice" }, amount: { currency: "BTC", minor: 500n }, reason: "r", url: null, notify: null }],
    [{ recipient: { id: 7 }, amount: "1", reason: "r" }, { recipient: { id: 7 }, amount: { currency: "USD", minor: 100n } }],
    [{ recipient: "a", amount: "€2.50", reason: "r", notify: "kubernetes/website#12" }, { amount: { currency: "EUR", minor: 250n }, notify: { owner: "kubernetes", repo: "website", number: 12 } }],
  ])("%j is understood", (body, want) => {
    expect(ok(body)).toMatchObject(want);
  });

  test.each([
    [null, /JSON object/],
    [{ recipient: { id: 1.5 }, amount: "1sats", reason: "r" }, /numeric GitHub user id/],
    [{ recipient: { id: 1, login: "x" }, amount: "1sats", reason: "r" }, /numeric GitHub user id/],
    [{ recipient: "a", amount: "5.555usd", reason: "r" }, /more decimals/],
    [{ recipient: "a", amount: "1sats", reason: "x".repeat(1001) }, /longer than 1000/],
    [{ recipient: "a", amount: "1sats", reason: "r", notify: "kubernetes/website#0" }, /owner\/repo#123/],
  ])("%j is refused", (body, detail) => {
    const r = checkRewardBody(body, "USD");
    expect(r.ok ? "accepted" : r.detail).toMatch(detail);
  });

  test("the same request written two ways has one hash; any change of substance another", () => {
    const base = { recipient: "Alice", amount: "500sats", reason: "r", url: "https://github.com/k/w/pull/1" };
    const h = requestHash(ok(base));
    expect(requestHash(ok({ ...base, recipient: "alice", amount: "500 sats" }))).toBe(h);
    for (const change of [{ recipient: "bob" }, { amount: "501sats" }, { reason: "s" }, { url: "https://github.com/k/w/pull/2" }, { notify: "k/w#1" }]) {
      expect(requestHash(ok({ ...base, ...change }))).not.toBe(h);
    }
  });
});

test.each([
  [undefined, /is required/],
  ["", /visible ASCII/],
  [" leading", /visible ASCII/],
  ["x".repeat(256), /1 to 255/],
  [["a", "b"], /one value/],
])("Idempotency-Key %j is refused", (value, detail) => {
  const r = checkIdempotencyKey(value as string | undefined);
  expect(r.ok ? "accepted" : r.detail).toMatch(detail);
});

test("repositories: a url's, the patterns a token takes, and which a token may reward for", () => {
  expect(repoOfUrl("https://github.com/Kubernetes/Website/pull/3#x")).toBe("kubernetes/website");
  expect(repoOfUrl("https://prow.k8s.io/view/gs/1")).toBeNull();
  expect(repoOfUrl("https://github.com/kubernetes")).toBeNull();
  expect([parseRepoPattern("K/*"), parseRepoPattern("k/w"), parseRepoPattern("k"), parseRepoPattern("*/w")]).toEqual(["k/*", "k/w", null, null]);
  expect(repoAllowed(null, null)).toBe(true);
  expect(repoAllowed(["k/w"], null)).toBe(false);
  expect(repoAllowed(["k/w", "s/*"], "k/w")).toBe(true);
  expect(repoAllowed(["k/w", "s/*"], "s/anything")).toBe(true);
  expect(repoAllowed(["k/w", "s/*"], "k/other")).toBe(false);
  expect(parseNotify("k/w#2147483648")).toBeNull();
});

test("periods are counted from the token's creation", () => {
  const created = new Date("2026-01-01T00:00:00Z");
  const day = 86_400_000;
  expect([periodIndex(created, day, new Date("2026-01-01T23:59:59Z")), periodIndex(created, day, new Date("2026-01-03T00:00:00Z"))]).toEqual([0, 2]);
  expect(periodIndex(created, day, new Date("2025-12-31T00:00:00Z"))).toBe(0);
  expect(periodBounds(created, day, 2)).toEqual({ start: new Date("2026-01-03T00:00:00Z"), end: new Date("2026-01-04T00:00:00Z") });
});

test.each([
  [null, "credited"],
  ["awaiting_approval", "queued"],
  ["queued", "queued"],
  ["signed", "paid"],
  ["broadcast", "paid"],
  ["confirmed", "confirmed"],
])("a reward whose recipient's next payout is %s is %s", (state, status) => {
  expect(rewardStatus(state)).toBe(status);
});

test("tokens: bbt_<id>_<43 characters>", () => {
  expect(parseToken(`bbt_12_${"a".repeat(43)}`)).toEqual({ id: 12n, secret: "a".repeat(43) });
  expect(parseToken(`bbt_0_${"a".repeat(43)}`)).toBeNull();
  expect(parseToken(`bbt_12_${"a".repeat(42)}`)).toBeNull();
  expect(parseToken("Bearer x")).toBeNull();
});

test("the rate limiter lets a burst through, then one call per 1/rate seconds, saying how long to wait", () => {
  let now = 0;
  const l = new RateLimiter(2, 3, () => now);
  expect([l.take("a"), l.take("a"), l.take("a"), l.take("a")]).toEqual([0, 0, 0, 1]);
  expect(l.take("b")).toBe(0);
  now = 500;
  expect([l.take("a"), l.take("a")]).toEqual([0, 1]);
});
