import * as bitcoin from "bitcoinjs-lib";
import { DUST_LIMIT, scriptType, type AddressType } from "./address.js";
import { PayoutError, RBF_SEQUENCE, type SignablePlan, type SignedInput, type WalletUtxo } from "./batch.js";
import { CHANGE, type KeyRef, type WalletKeys } from "./keys.js";
import { formatFeeRate, txFeeFor, txWeight, vsizeOf, type FeeRate } from "./sizes.js";

/**
 * Fee bumping (BIP125 replace-by-fee): plans a replacement of a batch the
 * wallet signed earlier that spends the same coins, pays every recipient the
 * same and takes the higher fee from the change. Pure, no I/O; the wallet
 * adds the chain, the caps and the signing around it.
 */

/** A transaction this wallet signed and broadcast earlier, as the caller stored it. */
export interface BumpSource {
  hex: string;
  /** Every input with the key that signed it (SignedBatchTx.inputs). */
  inputs: readonly SignedInput[];
  /** The wallet's change output, the only one whose value may change; null when it has none. */
  change: { vout: number; index: number } | null;
  /** Payout id → output index, carried over to the replacement (renumbered if the change output goes). */
  outputs?: ReadonlyMap<string, number>;
}

/** Bitcoin Core's default incrementalrelayfee: what a replacement pays on top for its own relay. */
export const INCREMENTAL_RELAY_FEE_RATE: FeeRate = 1000n;

/**
 * The least fee BIP125 lets a replacement of `old` with `vsize` vB pay
 * (rules 3, 4 and 6, without descendants): the old fee plus the incremental
 * relay fee for the new size, and a fee rate above the old one's. Core
 * compares rates in whole sat/kvB (CFeeRate truncates), so "above" means
 * above that truncated figure.
 */
export function minReplacementFee(old: { fee: bigint; vsize: number }, vsize: number): bigint {
  const v = BigInt(vsize);
  const relay = old.fee + (v * INCREMENTAL_RELAY_FEE_RATE + 999n) / 1000n;
  const oldRate = (old.fee * 1000n) / BigInt(old.vsize);
  const higherRate = ((oldRate + 1n) * v + 999n) / 1000n;
  return relay > higherRate ? relay : higherRate;
}

export interface BumpOptions {
  keys: WalletKeys;
  /** The fee rate to pay, already clamped to the wallet's bounds. */
  feeRate: FeeRate;
  /** The rate asked for before clamping, to say so when clamping made the bump impossible. */
  requestedFeeRate?: FeeRate;
  /** Per-transaction cap on payouts + fee (PAYOUT_MAX_TX_SATS). */
  maxTxSats: bigint;
}

export interface PlannedBump extends SignablePlan {
  /** The transaction being replaced. */
  old: { txid: string; fee: bigint; vsize: number };
  /** The change was too small to stay above dust after the higher fee: the replacement has none. */
  changeDropped: boolean;
}

/**
 * Plans the replacement of `source` at `feeRate`: same inputs in the same
 * order (RBF sequence), same version and locktime, every output other than
 * the change unchanged and in order. The change pays the difference; if it
 * would fall below dust it is dropped and all of it goes to fee, provided
 * that still meets BIP125. Throws PayoutError "cannot-bump" (or
 * "over-tx-cap") and plans nothing otherwise.
 *
 * The input amounts are taken from the source: the new signatures commit to
 * them, so wrong amounts make an invalid transaction, never a wrong fee.
 */
export function planBump(source: BumpSource, opts: BumpOptions): PlannedBump {
  const { keys, feeRate } = opts;
  const read = readSource(source, keys, "fee-bump", "it has no change output to take a higher fee from.");
  const { tx, inputs, payoutTypes, payoutSats, inValue, old, outputs } = read;
  const oldTxid = old.txid;
  const oldFee = old.fee;
  const changeVout = read.change!.vout;
  const changeRef = read.change!.ref;
  const changeScript = read.change!.script;
  const changeOut = tx.outs[changeVout]!;
  const refuse = (why: string) => new PayoutError("cannot-bump", `Cannot fee-bump ${oldTxid}: ${why} Nothing was signed.`);
  const oldRate = (oldFee * 1000n) / BigInt(old.vsize);

  const inputTypes = inputs.map((c) => c.inputType);
  const withChange = txWeight(inputTypes, [...payoutTypes, keys.script]);
  const fee = txFeeFor(withChange, feeRate);
  const least = minReplacementFee(old, vsizeOf(withChange));
  if (fee < least) {
    const vsize = vsizeOf(withChange);
    // The least rate whose fee, rounded up like txFeeFor, reaches `least`.
    const needed = ((least - 1n) * 1000n) / BigInt(vsize) + 1n;
    const clamped =
      opts.requestedFeeRate !== undefined && opts.requestedFeeRate > feeRate
        ? ` (${formatFeeRate(opts.requestedFeeRate)} sat/vB was asked for, clamped to FEE_MAX_SAT_VB)`
        : "";
    throw refuse(
      `it pays ${oldFee} sats (${formatFeeRate(oldRate)} sat/vB); a replacement must pay a higher fee rate and at least ` +
        `${oldFee} + ${vsize} sats (BIP125: the old fee plus 1 sat/vB for its own ${vsize} vB), that is at least ` +
        `${formatFeeRate(needed)} sat/vB, but the fee rate is ${formatFeeRate(feeRate)} sat/vB${clamped}.`,
    );
  }

  const change = inValue - payoutSats - fee;
  let plan: { fee: bigint; weight: number; change?: PlannedBump["change"] };
  if (change >= DUST_LIMIT[keys.script]) {
    plan = { fee, weight: withChange, change: { vout: changeVout, sats: change, address: keys.address(changeRef), index: changeRef.index } };
  } else {
    // Below dust the change cannot stay: all of it goes to fee, if that is enough.
    const weight = txWeight(inputTypes, payoutTypes);
    const all = inValue - payoutSats;
    const need = maxBig(txFeeFor(weight, feeRate), minReplacementFee(old, vsizeOf(weight)));
    if (payoutTypes.length === 0 || all < need) {
      throw refuse(
        `its change of ${changeOut.value} sats cannot pay the higher fee: ${formatFeeRate(feeRate)} sat/vB needs ` +
          `${fee} sats with the change output (leaving less than its dust limit of ${DUST_LIMIT[keys.script]}) ` +
          `or ${need} sats without it, and only ${all} sats are not paid out.`,
      );
    }
    plan = { fee: all, weight };
    // Outputs after the change move down by one.
    for (const [id, vout] of outputs) if (vout > changeVout) outputs.set(id, vout - 1);
  }
  if (payoutSats + plan.fee > opts.maxTxSats) {
    throw new PayoutError(
      "over-tx-cap",
      `The fee bump of ${oldTxid} would send ${payoutSats + plan.fee} sats (${payoutSats} in payouts + ${plan.fee} fee), over PAYOUT_MAX_TX_SATS of ${opts.maxTxSats}. Nothing was signed.`,
    );
  }

  const next = new bitcoin.Transaction();
  next.version = tx.version;
  // The old anti-fee-sniping locktime still holds: the tip has only moved on since.
  next.locktime = tx.locktime;
  for (const input of tx.ins) next.addInput(Uint8Array.from(input.hash), input.index, RBF_SEQUENCE);
  for (const [vout, out] of tx.outs.entries()) {
    if (vout !== changeVout) next.addOutput(Uint8Array.from(out.script), out.value);
    else if (plan.change) next.addOutput(changeScript, plan.change.sats);
  }
  return { inputs, fee: plan.fee, weight: plan.weight, payoutSats, tx: next, outputs, change: plan.change, old, changeDropped: !plan.change };
}

/** A transaction this wallet signed, read back and checked against the keys given: what a replacement builds on. */
export interface ReadSource {
  tx: bitcoin.Transaction;
  /** Its inputs in order, each with the key that spends it and its amount. */
  inputs: WalletUtxo[];
  /** Its change output, checked to pay the wallet's change key; null when it has none. */
  change: { vout: number; ref: KeyRef; script: Uint8Array; sats: bigint } | null;
  /** The types of its outputs other than the change, in order, and what they pay. */
  payoutTypes: AddressType[];
  payoutSats: bigint;
  inValue: bigint;
  old: { txid: string; fee: bigint; vsize: number };
  /** Payout id → output index, checked to be payout outputs. */
  outputs: Map<string, number>;
}

/**
 * Reads `source` for a replacement ("fee-bump", "add payouts to": how its refusals begin): a raw
 * transaction whose inputs are exactly the keys given, signed, signalling BIP125, with standard
 * payout outputs and the change (required when `needChange` says why) on the wallet's change key.
 * Throws PayoutError "cannot-bump" otherwise.
 */
export function readSource(source: BumpSource, keys: WalletKeys, verb: string, needChange?: string): ReadSource {
  let tx: bitcoin.Transaction;
  try {
    tx = bitcoin.Transaction.fromHex(source.hex.trim());
  } catch {
    throw new PayoutError("cannot-bump", `Cannot ${verb}: the transaction given is not a raw Bitcoin transaction in hex. Nothing was signed.`);
  }
  const oldTxid = tx.getId();
  const refuse = (why: string) => new PayoutError("cannot-bump", `Cannot ${verb} ${oldTxid}: ${why} Nothing was signed.`);

  // The inputs: exactly the old ones, each with the key that spends it.
  const given = new Map(source.inputs.map((i) => [`${i.txid}:${i.vout}`, i]));
  if (given.size !== source.inputs.length || given.size !== tx.ins.length) {
    throw refuse(`it has ${tx.ins.length} input(s), but ${source.inputs.length} input key(s) were given (each outpoint once).`);
  }
  const inputs = tx.ins.map<WalletUtxo>((input) => {
    const txid = Buffer.from(input.hash).reverse().toString("hex");
    const id = `${txid}:${input.index}`;
    const i = given.get(id);
    if (!i) throw refuse(`its input ${id} is not among the input keys given.`);
    if (input.witness.length === 0) throw refuse(`its input ${id} is not signed.`);
    if (typeof i.sats !== "bigint" || i.sats <= 0n) throw refuse(`the amount given for input ${id} is not a positive number of sats.`);
    const ref: KeyRef = { chain: i.chain, index: i.index };
    let address: string;
    try {
      address = keys.address(ref);
    } catch {
      throw refuse(`the key given for input ${id} (${i.chain}/${i.index}) is not a valid key reference.`);
    }
    return { id, txid, vout: input.index, value: i.sats, inputType: keys.script, ref, address, confirmed: false };
  });
  // With mempoolfullrbf off (Core before 28) a node replaces only transactions that signal.
  if (tx.ins.every((i) => i.sequence >= 0xfffffffe)) throw refuse("it does not signal replaceability (BIP125).");

  // The change: ours, and the only output that may change.
  let change: ReadSource["change"] = null;
  if (!source.change) {
    if (needChange !== undefined) throw refuse(needChange);
  } else {
    const changeRef: KeyRef = { chain: CHANGE, index: source.change.index };
    const changeOut = tx.outs[source.change.vout];
    let changeScript: Uint8Array;
    try {
      changeScript = keys.outputScript(changeRef);
    } catch {
      throw refuse(`the change index ${source.change.index} is not a valid key index.`);
    }
    if (!changeOut || !sameBytes(changeOut.script, changeScript)) {
      throw refuse(`output ${source.change.vout} is not the wallet's change address ${changeRef.chain}/${changeRef.index}.`);
    }
    change = { vout: source.change.vout, ref: changeRef, script: changeScript, sats: changeOut.value };
  }
  const changeVout = change?.vout ?? -1;

  const inValue = inputs.reduce((s, c) => s + c.value, 0n);
  let outValue = 0n;
  let payoutSats = 0n;
  const payoutTypes: AddressType[] = [];
  for (const [vout, out] of tx.outs.entries()) {
    outValue += out.value;
    if (vout === changeVout) continue;
    const type = scriptType(out.script);
    if (type === undefined) throw refuse(`output ${vout} is not a standard payout script.`);
    payoutTypes.push(type);
    payoutSats += out.value;
  }
  const oldFee = inValue - outValue;
  if (oldFee < 0n) throw refuse(`the input amounts given (${inValue} sats) do not cover its outputs (${outValue} sats).`);
  const old = { txid: oldTxid, fee: oldFee, vsize: tx.virtualSize() };

  const outputs = new Map(source.outputs ?? []);
  for (const [id, vout] of outputs) {
    if (!Number.isInteger(vout) || vout < 0 || vout >= tx.outs.length || vout === changeVout) {
      throw refuse(`payout ${id} is said to be output ${vout}, which is not one of its payout outputs.`);
    }
  }
  return { tx, inputs, change, payoutTypes, payoutSats, inValue, old, outputs };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
