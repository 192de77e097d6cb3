import fc from "fast-check";
import { selectCoins, type Coin, type SelectionRequest } from "../../src/bitcoin/coinselect.js";
import type { AddressType } from "../../src/bitcoin/address.js";
import { INPUT_WEIGHT, OUTPUT_WEIGHT, feeFor, overheadWeight, txFeeFor, txWeight, VSIZE_ROUNDING_WEIGHT, type InputType } from "../../src/bitcoin/sizes.js";
import { CONFIG_DEFAULTS } from "../../src/bitcoin/config.js";
import { feeRateFromSatPerVb } from "../../src/bitcoin/sizes.js";
import { ALL_TYPES } from "./helpers.js";

const coin = (id: string, value: bigint, inputType: InputType = "p2wpkh"): Coin => ({ id, value, inputType });

function request(coins: Coin[], payouts: bigint[], over: Partial<SelectionRequest<Coin>> = {}): SelectionRequest<Coin> {
  return {
    coins,
    payoutOutputs: payouts.map(() => "p2wpkh" as AddressType),
    payoutTotal: payouts.reduce((a, b) => a + b, 0n),
    changeType: "p2wpkh",
    feeRate: 20_000n,
    longTermFeeRate: 10_000n,
    ...over,
  };
}

/** The target BnB aims at: payouts plus the fee of everything but the inputs. */
function bnbTarget(req: SelectionRequest<Coin>): bigint {
  const w = overheadWeight(1, req.payoutOutputs.length) + req.payoutOutputs.reduce((s, t) => s + OUTPUT_WEIGHT[t], 0);
  return req.payoutTotal + feeFor(w + VSIZE_ROUNDING_WEIGHT, req.feeRate);
}
const inputFee = (t: InputType, rate: bigint) => feeFor(INPUT_WEIGHT[t], rate);

describe("selectCoins", () => {
  it("finds a changeless exact match with Branch-and-Bound", () => {
    const req0 = request([], [50_000n]);
    const t = bnbTarget(req0);
    const fee = inputFee("p2wpkh", 20_000n);
    // Two coins that together match the target exactly, among decoys.
    const coins = [coin("a", 1_000_000n), coin("b", t - 20_000n + fee), coin("c", 20_000n + fee), coin("d", 33_333n), coin("e", 7_777n)];
    const r = selectCoins({ ...req0, coins });
    if (!r.ok) throw new Error(r.reason);
    expect(r.selection.algorithm).toBe("bnb");
    expect(r.selection.change).toBe(0n);
    expect(r.selection.inputs.map((c) => c.id).sort()).toEqual(["b", "c"]);
  });

  it("at the default long-term rate, spends one coin rather than two that overshoot a little less (issue 3)", () => {
    const rate = 10_000n;
    const req0 = request([], [180_000n], { feeRate: rate, longTermFeeRate: feeRateFromSatPerVb(CONFIG_DEFAULTS.longTermFeeSatVb) });
    const t = bnbTarget(req0);
    const f = inputFee("p2wpkh", rate);
    const coins = [coin("one", t + f + 72n), coin("b", 100_000n + f), coin("c", t - 100_000n + f + 4n)];
    const r = selectCoins({ ...req0, coins });
    if (!r.ok) throw new Error(r.reason);
    expect(r.selection.inputs.map((c) => c.id)).toEqual(["one"]);
    expect(r.selection.change).toBe(0n);
    // With Core's consolidatefeerate (10 sat/vB) as the long-term rate, the second input costs no
    // waste at 10 sat/vB, so 4 sats of overshoot beat 72: 68 vB more now.
    const core = selectCoins({ ...req0, coins, longTermFeeRate: 10_000n });
    if (!core.ok) throw new Error(core.reason);
    expect(core.selection.inputs.map((c) => c.id).sort()).toEqual(["b", "c"]);
  });

  it("creates change when no changeless set exists, and the books balance", () => {
    const r = selectCoins(request([coin("big", 1_000_000n)], [50_000n, 60_000n]));
    if (!r.ok) throw new Error(r.reason);
    const s = r.selection;
    expect(s.change).toBeGreaterThan(0n);
    expect(s.inputs[0]!.value).toBe(s.change + s.fee + 110_000n);
    expect(s.weight).toBe(txWeight(["p2wpkh"], ["p2wpkh", "p2wpkh", "p2wpkh"]));
    expect(s.fee).toBe(txFeeFor(s.weight, 20_000n));
  });

  it("gives a leftover too small for change to the fee instead of making dust", () => {
    const req0 = request([], [50_000n]);
    // 400 sats over what a changeless spend needs: less than change would cost.
    const value = bnbTarget(req0) + inputFee("p2wpkh", 20_000n) + 400n;
    const r = selectCoins({ ...req0, coins: [coin("x", value)] });
    if (!r.ok) throw new Error(r.reason);
    expect(r.selection.change).toBe(0n);
    expect(r.selection.fee).toBe(value - 50_000n);
  });

  it("refuses when the coins cannot pay, saying how much is missing", () => {
    const r = selectCoins(request([coin("a", 30_000n), coin("b", 10_000n)], [45_000n]));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/needs 45000 sats for payouts.*worth \d+ sats/);
  });

  it("ignores coins worth less than the fee to spend them", () => {
    const r = selectCoins(request([coin("dust", 1_000n), coin("ok", 100_000n)], [10_000n], { feeRate: 50_000n }));
    if (!r.ok) throw new Error(r.reason);
    expect(r.selection.inputs.map((c) => c.id)).toEqual(["ok"]);
  });

  it("is deterministic whatever the order of the coins", () => {
    const coins = Array.from({ length: 200 }, (_, i) => coin(`c${i}`, 5_000n + BigInt((i * 7919) % 90_000)));
    const a = selectCoins(request(coins, [123_456n, 55_000n]));
    const b = selectCoins(request([...coins].reverse(), [123_456n, 55_000n]));
    expect(a).toEqual(b);
  });

  it("stays bounded on 2,000 coins with no exact match", () => {
    const coins = Array.from({ length: 2000 }, (_, i) => coin(`c${i}`, 10_000n * BigInt(1 + (i % 50))));
    const r = selectCoins(request(coins, [3_333_333n], { maxTries: 100_000 }));
    expect(r.ok).toBe(true);
  });

  it("respects the maximum weight", () => {
    const coins = Array.from({ length: 100 }, (_, i) => coin(`c${i}`, 10_000n));
    const r = selectCoins(request(coins, [500_000n], { maxWeight: 10_000 }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/maximum transaction weight/);
  });
});

describe("selectCoins properties", () => {
  const arbCoins = fc.array(
    fc.record({ value: fc.bigInt({ min: 500n, max: 2_000_000n }), inputType: fc.constantFrom<InputType>("p2wpkh", "p2tr") }),
    { minLength: 1, maxLength: 40 },
  );
  const arbPayouts = fc.array(fc.record({ sats: fc.bigInt({ min: 546n, max: 500_000n }), type: fc.constantFrom(...ALL_TYPES) }), {
    minLength: 1,
    maxLength: 20,
  });

  it("balances, pays at least the fee rate on the exact weight, and never makes dust change", () => {
    fc.assert(
      fc.property(arbCoins, arbPayouts, fc.bigInt({ min: 1000n, max: 100_000n }), fc.constantFrom<InputType>("p2wpkh", "p2tr"), (cs, ps, rate, changeType) => {
        const coins = cs.map((c, i) => coin(`c${i}`, c.value, c.inputType));
        const req: SelectionRequest<Coin> = {
          coins,
          payoutOutputs: ps.map((p) => p.type),
          payoutTotal: ps.reduce((s, p) => s + p.sats, 0n),
          changeType,
          feeRate: rate,
          longTermFeeRate: 10_000n,
        };
        const r = selectCoins(req);
        if (!r.ok) {
          // Only allowed when the coins really cannot cover payouts and the fee of a minimal transaction.
          const eff = coins.reduce((s, c) => s + (c.value - inputFee(c.inputType, rate) > 0n ? c.value - inputFee(c.inputType, rate) : 0n), 0n);
          return eff < req.payoutTotal + txFeeFor(txWeight([], req.payoutOutputs), rate);
        }
        const s = r.selection;
        const inSum = s.inputs.reduce((a, c) => a + c.value, 0n);
        const outTypes = s.change > 0n ? [...req.payoutOutputs, changeType] : req.payoutOutputs;
        const weight = txWeight(s.inputs.map((c) => c.inputType), outTypes);
        return (
          inSum === req.payoutTotal + s.fee + s.change &&
          s.weight === weight &&
          s.fee >= txFeeFor(weight, rate) &&
          (s.change === 0n || s.change >= (changeType === "p2tr" ? 330n : 294n)) &&
          new Set(s.inputs.map((c) => c.id)).size === s.inputs.length
        );
      }),
      { numRuns: 300 },
    );
  });

  it("finds the least-waste changeless set when one exists (brute force on small pools)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1_000n, max: 200_000n }), { minLength: 1, maxLength: 11 }),
        fc.bigInt({ min: 1_000n, max: 400_000n }),
        fc.bigInt({ min: 1000n, max: 40_000n }),
        (values, payout, rate) => {
          const coins = values.map((v, i) => coin(`c${i}`, v));
          const req = request(coins, [payout], { feeRate: rate });
          const target = bnbTarget(req);
          const costOfChange = feeFor(OUTPUT_WEIGHT.p2wpkh, rate) + feeFor(INPUT_WEIGHT.p2wpkh, 10_000n);
          const f = inputFee("p2wpkh", rate);
          const lt = inputFee("p2wpkh", 10_000n);
          let best: bigint | undefined;
          for (let mask = 1; mask < 1 << coins.length; mask++) {
            let eff = 0n;
            let n = 0n;
            let usable = true;
            for (let i = 0; i < coins.length; i++)
              if (mask & (1 << i)) {
                if (coins[i]!.value - f <= 0n) usable = false;
                eff += coins[i]!.value - f;
                n++;
              }
            if (!usable || eff < target || eff > target + costOfChange) continue;
            const waste = n * (f - lt) + (eff - target);
            if (best === undefined || waste < best) best = waste;
          }
          const r = selectCoins(req);
          if (best === undefined) return true;
          return r.ok && r.selection.waste <= best;
        },
      ),
      { numRuns: 200 },
    );
  });
});
