import { drawSlots, legKey, missingReply, splitByShares } from "../../src/ledger/escrow.js";
import { earningsOf, fundsOf, TREASURY, ZERO, type Balance } from "../../src/ledger/rules.js";

const has = (creditsPosted: bigint, debitsPending = 0n): Balance => ({ ...ZERO, creditsPosted, debitsPending });

describe("drawing an escrow's slots", () => {
  test("the treasury pays each slot whole, whatever it holds", () => {
    expect(drawSlots({ kind: "treasury" }, [500n, 500n], null)).toEqual({
      ok: true,
      legs: [
        { slot: 0, from: TREASURY, sats: 500n },
        { slot: 1, from: TREASURY, sats: 500n },
      ],
    });
  });

  test("a person pays from funds first, then earnings; a slot may take from both", () => {
    expect(drawSlots({ kind: "person", userId: 7 }, [300n, 300n], { funds: has(400n), earnings: has(1000n, 100n) })).toEqual({
      ok: true,
      legs: [
        { slot: 0, from: fundsOf(7), sats: 300n },
        { slot: 1, from: fundsOf(7), sats: 100n },
        { slot: 1, from: earningsOf(7), sats: 200n },
      ],
    });
  });

  test("without enough, nothing is drawn and the answer says what is missing; reserved and overdrawn money does not count", () => {
    expect(drawSlots({ kind: "person", userId: 7 }, [1000n], { funds: has(500n, 200n), earnings: { ...ZERO, debitsPosted: 50n } })).toEqual({
      ok: false,
      available: 300n,
      missing: 700n,
    });
    expect(missingReply(700n, 300n)).toMatch(/300 sats available; 700 sats more.*\/deposit/);
  });

  test("bad slots are a programming error", () => {
    expect(() => drawSlots({ kind: "treasury" }, [], null)).toThrow(RangeError);
    expect(() => drawSlots({ kind: "treasury" }, [0n], null)).toThrow(RangeError);
  });

  test("each leg has its own key", () => {
    expect(legKey("escrow:question:4", { slot: 2, from: earningsOf(9) })).toBe("escrow:question:4:2:earnings");
  });
});

describe("splitting a released slot", () => {
  test("parts add up to the whole, the remainder to the first", () => {
    expect(splitByShares(1001n, [{ bps: 5000 }, { bps: 5000 }])).toEqual([501n, 500n]);
    expect(splitByShares(10n, [{ bps: 3333 }, { bps: 3333 }, { bps: 3334 }])).toEqual([4n, 3n, 3n]);
    expect(() => splitByShares(10n, [{ bps: 5000 }])).toThrow(RangeError);
  });
});
