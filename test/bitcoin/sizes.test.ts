import { randomBytes } from "node:crypto";
import * as bitcoin from "bitcoinjs-lib";
import fc from "fast-check";
import { parseAddress, type AddressType } from "../../src/bitcoin/address.js";
import { WalletKeys, type WalletScript } from "../../src/bitcoin/keys.js";
import {
  INPUT_WEIGHT,
  OUTPUT_WEIGHT,
  overheadWeight,
  txWeight,
  varintSize,
  vsizeOf,
  feeFor,
  txFeeFor,
  feeRateFromSatPerVb,
  formatFeeRate,
} from "../../src/bitcoin/sizes.js";
import { ALL_TYPES, LEGAL, randomAddress } from "./helpers.js";

describe("size constants", () => {
  it("are the figures from the issue", () => {
    expect(overheadWeight(1, 1) / 4).toBe(10.5);
    expect(Object.fromEntries(Object.entries(OUTPUT_WEIGHT).map(([k, v]) => [k, v / 4]))).toEqual({
      p2pkh: 34,
      p2sh: 32,
      p2wpkh: 31,
      p2wsh: 43,
      p2tr: 43,
    });
    expect(INPUT_WEIGHT.p2wpkh / 4).toBe(68);
    expect(INPUT_WEIGHT.p2tr / 4).toBe(57.5);
    // One P2WPKH payment with change: about 141 vB.
    expect(vsizeOf(txWeight(["p2wpkh"], ["p2wpkh", "p2wpkh"]))).toBe(141);
  });

  it("grows the counts' varints past 252", () => {
    expect([varintSize(252), varintSize(253), varintSize(0xffff), varintSize(0x10000)]).toEqual([1, 3, 3, 5]);
    expect(overheadWeight(253, 1) - overheadWeight(252, 1)).toBe(8);
    expect(overheadWeight(1, 253) - overheadWeight(1, 252)).toBe(8);
  });

  it("rounds fees up and never below the rate on vsize", () => {
    expect(feeRateFromSatPerVb(1)).toBe(1000n);
    expect(feeRateFromSatPerVb(2.3)).toBe(2300n);
    expect(feeRateFromSatPerVb(1.0001)).toBe(1001n);
    expect(formatFeeRate(2300n)).toBe("2.3");
    expect(formatFeeRate(5000n)).toBe("5");
    expect(feeFor(230, 1000n)).toBe(58n);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400_000 }), fc.bigInt({ min: 1000n, max: 500_000n }), (w, rate) => {
        const fee = txFeeFor(w, rate);
        return fee * 1000n >= rate * BigInt(vsizeOf(w)) && (fee - 1n) * 1000n < rate * BigInt(vsizeOf(w));
      }),
    );
  });
});

/** Builds and signs a real transaction with the wallet's keys and returns it. */
function signedTx(keys: WalletKeys, inputs: number, outputs: AddressType[]): bitcoin.Transaction {
  const tx = new bitcoin.Transaction();
  tx.version = 2;
  tx.locktime = 100;
  const refs = Array.from({ length: inputs }, (_, i) => ({ chain: (i % 2) as 0 | 1, index: i % 7 }));
  const values = refs.map((_, i) => 100_000n + BigInt(i));
  for (let i = 0; i < inputs; i++) tx.addInput(randomBytes(32), i, 0xfffffffd);
  for (const t of outputs) {
    const p = parseAddress(randomAddress(t), "regtest");
    if (!p.ok) throw new Error(p.reason);
    tx.addOutput(p.script, 1000n);
  }
  const scripts = refs.map((r) => keys.outputScript(r));
  for (let i = 0; i < inputs; i++) {
    const h =
      keys.script === "p2wpkh"
        ? tx.hashForWitnessV0(i, Uint8Array.from([0x76, 0xa9, 0x14, ...scripts[i]!.subarray(2), 0x88, 0xac]), values[i]!, 1)
        : tx.hashForWitnessV1(i, scripts, values, 0);
    tx.setWitness(i, keys.witness(refs[i]!, h));
  }
  return tx;
}

describe.each(["p2wpkh", "p2tr"] as WalletScript[])("estimate vs signed virtualSize() (%s inputs)", (script) => {
  const keys = WalletKeys.fromMnemonic(LEGAL, { network: "regtest", script });

  it.each([
    [1, 1],
    [1, 2],
    [3, 10],
    [20, 100],
    [1, 253],
    [253, 2],
  ])("%i inputs, %i outputs: within 1 vB per input, never below", (nIn, nOut) => {
    const outs = Array.from({ length: nOut }, (_, i) => ALL_TYPES[i % ALL_TYPES.length]!);
    const tx = signedTx(keys, nIn, outs);
    const estimate = vsizeOf(txWeight(Array(nIn).fill(script), outs));
    const real = tx.virtualSize();
    expect(estimate).toBeGreaterThanOrEqual(real);
    expect(estimate - real).toBeLessThanOrEqual(nIn);
    if (script === "p2tr") expect(estimate).toBe(real); // Schnorr signatures have a fixed size
  });

  it("holds for random mixes of outputs", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.constantFrom(...ALL_TYPES), { minLength: 1, maxLength: 30 }), (nIn, outs) => {
        const tx = signedTx(keys, nIn, outs);
        const estimate = vsizeOf(txWeight(Array(nIn).fill(script), outs));
        return estimate >= tx.virtualSize() && estimate - tx.virtualSize() <= nIn;
      }),
      { numRuns: 40 },
    );
  });
});
