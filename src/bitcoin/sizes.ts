import type { AddressType } from "./address.js";

/**
 * Exact transaction size arithmetic, in weight units (WU; 4 WU = 1 vB) so that
 * half-vbyte sizes like the 10.5 vB overhead stay integers.
 */

/** The input types the wallet spends: its own BIP84 or BIP86 coins. */
export type InputType = "p2wpkh" | "p2tr";

/** Output sizes: 8-byte value + 1-byte script length + script, all non-witness. */
export const OUTPUT_WEIGHT: Record<AddressType, number> = {
  p2pkh: 34 * 4,
  p2sh: 32 * 4,
  p2wpkh: 31 * 4,
  p2wsh: 43 * 4,
  p2tr: 43 * 4,
};

/**
 * Input sizes: 41 non-witness bytes (outpoint 36, empty scriptSig length 1,
 * sequence 4) plus the witness. P2WPKH assumes the largest DER signature
 * (72 bytes with sighash flag) so the estimate never undershoots: 68 vB.
 * P2TR key path is one 64-byte Schnorr signature: 57.5 vB.
 */
export const INPUT_WEIGHT: Record<InputType, number> = {
  p2wpkh: 41 * 4 + (1 + 1 + 72 + 1 + 33),
  p2tr: 41 * 4 + (1 + 1 + 64),
};

/** Bytes of Bitcoin's CompactSize encoding of n. */
export function varintSize(n: number): number {
  if (n < 0xfd) return 1;
  if (n <= 0xffff) return 3;
  if (n <= 0xffffffff) return 5;
  return 9;
}

/**
 * Non-input, non-output weight: version and locktime (8 bytes), the two
 * counts, and the segwit marker and flag (2 WU). With small counts this is
 * the familiar 10.5 vB.
 */
export function overheadWeight(inputCount: number, outputCount: number): number {
  return (8 + varintSize(inputCount) + varintSize(outputCount)) * 4 + 2;
}

/** Weight of a segwit transaction with these inputs and outputs. */
export function txWeight(inputs: readonly InputType[], outputs: readonly AddressType[]): number {
  let w = overheadWeight(inputs.length, outputs.length);
  for (const i of inputs) w += INPUT_WEIGHT[i];
  for (const o of outputs) w += OUTPUT_WEIGHT[o];
  return w;
}

/** Virtual size as nodes count it: weight / 4, rounded up. */
export function vsizeOf(weight: number): number {
  return Math.ceil(weight / 4);
}

/**
 * A fee rate in sat per 1000 vB (Bitcoin Core's CFeeRate unit): integer, so
 * rates like 1.5 sat/vB need no floats.
 */
export type FeeRate = bigint;

/** Converts sat/vB (as the fee estimators report it) to a FeeRate, rounding up. */
export function feeRateFromSatPerVb(satPerVb: number): FeeRate {
  if (!Number.isFinite(satPerVb) || satPerVb < 0) throw new RangeError(`Invalid fee rate ${satPerVb} sat/vB`);
  // Round to 1/1000 sat/vB first so that 2.3 does not become 2301 through float noise.
  return BigInt(Math.ceil(Math.round(satPerVb * 1e6) / 1e3));
}

/** For display: sat/vB with up to 3 decimals. */
export function formatFeeRate(rate: FeeRate): string {
  const whole = rate / 1000n;
  const frac = rate % 1000n;
  return frac === 0n ? `${whole}` : `${whole}.${frac.toString().padStart(3, "0").replace(/0+$/, "")}`;
}

/** Fee for a part of a transaction (an input, an output) by weight, rounded up. */
export function feeFor(weight: number, rate: FeeRate): bigint {
  const num = BigInt(weight) * rate;
  return (num + 3999n) / 4000n;
}

/**
 * Fee for a whole transaction: nodes measure the rate against vsize (weight/4
 * rounded up), so this is what makes fee / vsize >= rate hold exactly.
 */
export function txFeeFor(weight: number, rate: FeeRate): bigint {
  return (BigInt(vsizeOf(weight)) * rate + 999n) / 1000n;
}

/** Weight that makes feeFor(parts) cover txFeeFor(total): the vsize round-up is at most 3 WU. */
export const VSIZE_ROUNDING_WEIGHT = 3;
