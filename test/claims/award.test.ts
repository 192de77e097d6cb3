import fc from "fast-check";
import { equalShares, parseAward, splitAmount, splitTotals, type AwardShare } from "../../src/claims/award.js";

describe("parseAward", () => {
  test.each<[string, AwardShare[]]>([
    ["@alice", [{ login: "alice", basisPoints: 10000 }]],
    ["  @alice  ", [{ login: "alice", basisPoints: 10000 }]],
    ["@alice @bob", [{ login: "alice", basisPoints: 5000 }, { login: "bob", basisPoints: 5000 }]],
    [
      "@alice @bob @carol",
      [
        { login: "alice", basisPoints: 3334 },
        { login: "bob", basisPoints: 3333 },
        { login: "carol", basisPoints: 3333 },
      ],
    ],
    ["@a, @b,@c", [{ login: "a", basisPoints: 3334 }, { login: "b", basisPoints: 3333 }, { login: "c", basisPoints: 3333 }]],
    ["@alice 70 @bob 30", [{ login: "alice", basisPoints: 7000 }, { login: "bob", basisPoints: 3000 }]],
    ["@alice 70% @bob 30%", [{ login: "alice", basisPoints: 7000 }, { login: "bob", basisPoints: 3000 }]],
    ["@alice 100", [{ login: "alice", basisPoints: 10000 }]],
    ["@k8s-ci-robot\t@Jane-Doe-42", [{ login: "k8s-ci-robot", basisPoints: 5000 }, { login: "Jane-Doe-42", basisPoints: 5000 }]],
    ["@a 1 @b 99", [{ login: "a", basisPoints: 100 }, { login: "b", basisPoints: 9900 }]],
  ])("%j", (args, want) => {
    expect(parseAward(args)).toEqual({ ok: true, shares: want });
  });

  test("seven equal shares give the remainder to the first users", () => {
    const r = parseAward("@a @b @c @d @e @f @g");
    if (!r.ok) throw new Error(r.error);
    // 10000 = 7 × 1428 + 4
    expect(r.shares.map((s) => s.basisPoints)).toEqual([1429, 1429, 1429, 1429, 1428, 1428, 1428]);
  });

  test("a hundred users is the limit", () => {
    const logins = Array.from({ length: 100 }, (_, i) => `@user${i}`);
    const r = parseAward(logins.join(" "));
    expect(r.ok && r.shares.every((s) => s.basisPoints === 100)).toBe(true);
    expect(parseAward([...logins, "@one-more"].join(" "))).toEqual({ ok: false, error: "at most 100 users can share one award" });
  });

  test.each<[string, RegExp]>([
    ["", /name at least one user/],
    ["   ", /name at least one user/],
    [",", /name at least one user/],
    ["70", /percentage 70 does not follow a user/],
    ["70 @alice", /percentage 70 does not follow a user/],
    ["@alice 50 50", /percentage 50 does not follow a user/],
    ["@alice @bob 50 50", /percentage 50 does not follow a user/],
    ["@alice 70 @bob 20", /add up to 90, not 100/],
    ["@alice 70 @bob 40", /add up to 110, not 100/],
    ["@alice 50", /add up to 50, not 100/],
    ["@alice 70 @bob", /no percentage for @bob/],
    ["@alice @bob 100", /no percentage for @alice/],
    ["@alice @bob @Alice", /@Alice is named twice/],
    ["@alice 50 @ALICE 50", /named twice/],
    ["@alice 33.5 @bob 66.5", /33.5 for @alice is not a whole number/],
    ["@alice 0 @bob 100", /0 for @alice is out of range/],
    ["@alice 101", /out of range/],
    ["@alice -10 @bob 110", /-10 for @alice is out of range/],
    ["@alice .5", /not a whole number/],
    ["@", /"@" is not a valid GitHub login/],
    ["@-alice", /not a valid GitHub login/],
    ["@alice_smith", /not a valid GitHub login/],
    ["@dependabot[bot]", /not a valid GitHub login/],
    ["@" + "a".repeat(40), /not a valid GitHub login/],
    ["@alice.", /not a valid GitHub login/],
    ["alice", /unexpected "alice"/],
    ["@alice and @bob", /unexpected "and"/],
    ["@alice 70%% @bob 30", /unexpected "70%%"/],
    ["@alice 1e2", /unexpected "1e2"/],
  ])("%j is refused: %s", (args, want) => {
    const r = parseAward(args);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(want);
  });

  test("a 39-character login is fine", () => {
    expect(parseAward("@" + "a".repeat(39)).ok).toBe(true);
  });
});

describe("splitAmount", () => {
  test.each<[bigint, number[], bigint[]]>([
    [100n, [1], [100n]],
    [100n, [1, 1], [50n, 50n]],
    [100n, [1, 1, 1], [34n, 33n, 33n]],
    [101n, [1, 1], [51n, 50n]],
    [10n, [3334, 3333, 3333], [4n, 3n, 3n]],
    [1_000_000n, [7000, 3000], [700_000n, 300_000n]],
    [1n, [3000, 7000], [0n, 1n]], // largest remainder, not the first
    [2n, [1, 1, 1], [1n, 1n, 0n]], // ties go to the earlier index
    [5n, [0, 1, 0], [0n, 5n, 0n]],
    [0n, [1, 2], [0n, 0n]],
    [166_667n, [3334, 3333, 3333], [55_567n, 55_550n, 55_550n]],
  ])("%s by %j", (total, weights, want) => {
    expect(splitAmount(total, weights)).toEqual(want);
  });

  test.each<[bigint, number[]]>([
    [-1n, [1]],
    [1n, []],
    [1n, [0, 0]],
    [1n, [-1, 2]],
    [1n, [0.5, 0.5]],
    [1n, [Number.MAX_SAFE_INTEGER + 1]],
    [1n, [Number.NaN]],
  ])("refuses %s by %j", (total, weights) => {
    expect(() => splitAmount(total, weights)).toThrow(RangeError);
  });

  const weightsArb = fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 30 }).filter((ws) => ws.some((w) => w > 0));
  const totalArb = fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n });

  test("property: parts sum to the total and each is within one unit of its exact share", () => {
    fc.assert(
      fc.property(totalArb, weightsArb, (total, weights) => {
        const parts = splitAmount(total, weights);
        expect(parts).toHaveLength(weights.length);
        expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
        const W = BigInt(weights.reduce((a, b) => a + b, 0));
        parts.forEach((p, i) => {
          // exact share = total·w/W; |p·W − total·w| < W
          const d = p * W - total * BigInt(weights[i]!);
          expect(d > -W && d < W).toBe(true);
          if (weights[i] === 0) expect(p).toBe(0n);
        });
      }),
      { numRuns: 1000 },
    );
  });

  test("property: deterministic and a bigger weight never gets less", () => {
    fc.assert(
      fc.property(totalArb, weightsArb, (total, weights) => {
        const a = splitAmount(total, weights);
        expect(splitAmount(total, [...weights])).toEqual(a);
        for (let i = 0; i < weights.length; i++)
          for (let j = 0; j < weights.length; j++)
            if (weights[i]! > weights[j]!) expect(a[i]! >= a[j]!).toBe(true);
      }),
    );
  });

  test("property: award shares from parseAward split any amount exactly", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), totalArb, (n, total) => {
        const r = parseAward(Array.from({ length: n }, (_, i) => `@u${i}`).join(" "));
        if (!r.ok) throw new Error(r.error);
        expect(r.shares.reduce((a, s) => a + s.basisPoints, 0)).toBe(10_000);
        const parts = splitAmount(total, r.shares.map((s) => s.basisPoints));
        expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
        // equal shares differ by at most 1 basis point, so parts differ by at most total/10000 plus one unit of rounding
        const max = parts.reduce((a, b) => (a > b ? a : b));
        const min = parts.reduce((a, b) => (a < b ? a : b));
        expect(max - min <= total / 10_000n + 1n).toBe(true);
      }),
    );
  });
});

describe("equalShares", () => {
  test("sums to 10000; the remainder goes to the first", () => {
    expect(equalShares(1)).toEqual([10000]);
    expect(equalShares(3)).toEqual([3334, 3333, 3333]);
    expect(equalShares(7).reduce((a, b) => a + b, 0)).toBe(10000);
    expect(() => equalShares(0)).toThrow(RangeError);
  });
});

describe("splitTotals", () => {
  test("splits each currency by the weights; parts that round to nothing are left out", () => {
    const totals = [
      { currency: "USD" as const, minor: 1001n },
      { currency: "BTC" as const, minor: 1n },
    ];
    expect(splitTotals(totals, [5000, 5000])).toEqual([
      [
        { currency: "USD", minor: 501n },
        { currency: "BTC", minor: 1n },
      ],
      [{ currency: "USD", minor: 500n }],
    ]);
  });
});
