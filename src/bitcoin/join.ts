import { randomInt } from "node:crypto";
import * as bitcoin from "bitcoinjs-lib";
import { DUST_LIMIT, parseAddress } from "./address.js";
import { PayoutError, RBF_SEQUENCE, type SignablePlan, type ValidPayout, type WalletUtxo } from "./batch.js";
import { minReplacementFee, readSource, type BumpSource } from "./bump.js";
import { MAX_STANDARD_WEIGHT } from "./coinselect.js";
import { CHANGE, type KeyRef, type WalletKeys } from "./keys.js";
import type { NetworkName } from "./network.js";
import { feeFor, formatFeeRate, INPUT_WEIGHT, txFeeFor, txWeight, vsizeOf, type FeeRate } from "./sizes.js";

/**
 * Joining payouts to a batch still in the mempool (BIP125 replace-by-fee adding outputs): a
 * replacement that spends every coin the batch spends, pays each of its outputs the same amount to
 * the same script, and pays the new payouts too, from the batch's change and, as needed, more
 * confirmed coins. Because it spends the same coins, at most one of the two can ever confirm.
 * Pure, no I/O; the wallet adds the chain, the caps and the signing around it.
 */

export interface JoinOptions {
  keys: WalletKeys;
  /** The rate the new payouts are sent at, already clamped; the replacement pays at least this and what BIP125 asks. */
  feeRate: FeeRate;
  /** The rate later spends of change are expected at: change worth less than spending it goes to fee. */
  longTermFeeRate: FeeRate;
  /** Coins that may be added: confirmed (BIP125 rule 2: no new unconfirmed inputs) and not spent by anything live. */
  coins: readonly WalletUtxo[];
  /** Per-transaction cap on payouts + fee (PAYOUT_MAX_TX_SATS) and PAYOUT_MAX_OUTPUTS. */
  maxTxSats: bigint;
  maxOutputs: number;
  /** A change index, when the batch had no change and the replacement needs some. */
  nextChangeIndex: () => number;
  /** Where a new change output goes among the outputs; random by default. */
  changePosition?: (outputCount: number) => number;
}

export interface PlannedJoin extends SignablePlan {
  /** The transaction being replaced. */
  old: { txid: string; fee: bigint; vsize: number };
  /** What the replacement pays in fees beyond the old one: what joining costs. */
  extraFee: bigint;
  /** The coins added to the old inputs. */
  added: WalletUtxo[];
}

/**
 * Plans the replacement of `source` that also pays `payouts`: the old inputs first, in order, then
 * the fewest confirmed coins (largest first) that fund the new payouts and the fee; the old
 * outputs in their order (the change, if it stays, where it was), the new payouts after them. The
 * fee is the larger of `feeRate` on its size and BIP125's least (the old fee plus 1 sat/vB of its
 * own size, at a higher rate). Throws PayoutError and plans nothing when it cannot be built.
 */
export function planJoin(source: BumpSource, payouts: readonly ValidPayout[], opts: JoinOptions): PlannedJoin {
  const { keys, feeRate } = opts;
  const read = readSource(source, keys, "add payouts to");
  const { tx, old } = read;
  const refuse = (code: "cannot-bump" | "insufficient-funds" | "too-large" | "over-tx-cap", why: string) =>
    new PayoutError(code, `Cannot add payouts to ${old.txid}: ${why} Nothing was signed.`);
  if (payouts.length === 0) throw refuse("cannot-bump", "no payouts were given to add.");
  for (const p of payouts) if (read.outputs.has(p.id)) throw refuse("cannot-bump", `payout ${p.id} is already one of its outputs.`);
  const outputCount = read.payoutTypes.length + payouts.length;
  if (outputCount > opts.maxOutputs) throw refuse("too-large", `it would pay ${outputCount} outputs, over PAYOUT_MAX_OUTPUTS of ${opts.maxOutputs}.`);

  const payoutTypes = [...read.payoutTypes, ...payouts.map((p) => p.type)];
  const payoutSats = read.payoutSats + payouts.reduce((s, p) => s + p.sats, 0n);
  const spent = new Set(read.inputs.map((c) => c.id));
  const inputCost = feeFor(INPUT_WEIGHT[keys.script], feeRate);
  const pool = opts.coins
    .filter((c) => c.confirmed && !spent.has(c.id) && c.value > inputCost)
    .sort((a, b) => (a.value !== b.value ? (a.value > b.value ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Change smaller than this costs more to spend later than it is worth: it goes to fee (as coinselect.ts has it).
  const minChange = maxBig(DUST_LIMIT[keys.script], feeFor(INPUT_WEIGHT[keys.script], opts.longTermFeeRate) + 1n);
  const feeAt = (weight: number) => maxBig(txFeeFor(weight, feeRate), minReplacementFee(old, vsizeOf(weight)));

  let shape: { added: WalletUtxo[]; fee: bigint; weight: number; change: bigint } | undefined;
  for (let k = 0; k <= pool.length && !shape; k++) {
    const added = pool.slice(0, k);
    const inputs = [...read.inputs, ...added];
    const inValue = inputs.reduce((s, c) => s + c.value, 0n);
    const inputTypes = inputs.map((c) => c.inputType);
    const withChange = txWeight(inputTypes, [...payoutTypes, keys.script]);
    const feeWith = feeAt(withChange);
    if (inValue - payoutSats - feeWith >= minChange) {
      shape = { added, fee: feeWith, weight: withChange, change: inValue - payoutSats - feeWith };
      break;
    }
    // Too little for a change output: the rest goes to fee, if it is enough (the excess is less than a change output would cost).
    const without = txWeight(inputTypes, payoutTypes);
    if (inValue - payoutSats >= feeAt(without)) shape = { added, fee: inValue - payoutSats, weight: without, change: 0n };
  }
  if (!shape) {
    throw refuse(
      "insufficient-funds",
      `the wallet's confirmed coins (${pool.length} that may be added) cannot fund ${payouts.length} more payout(s) of ` +
        `${payoutSats - read.payoutSats} sats at ${formatFeeRate(feeRate)} sat/vB.`,
    );
  }
  if (shape.weight > MAX_STANDARD_WEIGHT) throw refuse("too-large", `it would weigh ${shape.weight} WU, over the standard ${MAX_STANDARD_WEIGHT}.`);
  if (payoutSats + shape.fee > opts.maxTxSats) {
    throw refuse(
      "over-tx-cap",
      `it would send ${payoutSats + shape.fee} sats (${payoutSats} in payouts + ${shape.fee} fee), over PAYOUT_MAX_TX_SATS of ${opts.maxTxSats}.`,
    );
  }

  // The outputs: the old payout outputs in order, then the new ones; the change where it was, or anywhere when it is new.
  type Out = { script: Uint8Array; value: bigint; oldVout?: number; id?: string };
  const outs: Out[] = [];
  for (const [vout, out] of tx.outs.entries()) if (vout !== read.change?.vout) outs.push({ script: Uint8Array.from(out.script), value: out.value, oldVout: vout });
  for (const p of payouts) outs.push({ script: p.script, value: p.sats, id: p.id });
  let change: PlannedJoin["change"];
  if (shape.change > 0n) {
    const ref: KeyRef = read.change ? read.change.ref : { chain: CHANGE, index: opts.nextChangeIndex() };
    const at = read.change ? Math.min(read.change.vout, outs.length) : (opts.changePosition ?? randomInt)(outs.length + 1);
    outs.splice(at, 0, { script: keys.outputScript(ref), value: shape.change });
    change = { vout: at, sats: shape.change, address: keys.address(ref), index: ref.index };
  }

  const next = new bitcoin.Transaction();
  next.version = tx.version;
  // The old anti-fee-sniping locktime still holds: the tip has only moved on since.
  next.locktime = tx.locktime;
  for (const input of tx.ins) next.addInput(Uint8Array.from(input.hash), input.index, RBF_SEQUENCE);
  for (const c of shape.added) next.addInput(Uint8Array.from(Buffer.from(c.txid, "hex")).reverse(), c.vout, RBF_SEQUENCE);
  const newVout = new Map<number, number>();
  const outputs = new Map<string, number>();
  for (const [vout, o] of outs.entries()) {
    next.addOutput(o.script, o.value);
    if (o.oldVout !== undefined) newVout.set(o.oldVout, vout);
    if (o.id !== undefined) outputs.set(o.id, vout);
  }
  for (const [id, vout] of read.outputs) outputs.set(id, newVout.get(vout)!);
  return {
    inputs: [...read.inputs, ...shape.added],
    fee: shape.fee,
    weight: shape.weight,
    payoutSats,
    tx: next,
    outputs,
    change,
    old,
    extraFee: shape.fee - old.fee,
    added: shape.added,
  };
}

/** An output a replacement must pay: to this address, exactly these sats, at this index. */
export interface ExpectedOutput {
  payoutId: string;
  vout: number;
  address: string;
  sats: bigint;
}

/**
 * What is wrong with a signed replacement `nextHex` of `oldHex` that must pay `expected`: every
 * coin the old one spends must be spent again (so the two conflict, and only one can confirm), and
 * each expected output must pay its address exactly its sats at its index. Empty when all holds.
 * Read from the signed bytes, independently of how the replacement was planned.
 */
export function replacementProblems(oldHex: string, nextHex: string, expected: readonly ExpectedOutput[], network: NetworkName): string[] {
  const problems: string[] = [];
  let prev: bitcoin.Transaction;
  let next: bitcoin.Transaction;
  try {
    prev = bitcoin.Transaction.fromHex(oldHex.trim());
    next = bitcoin.Transaction.fromHex(nextHex.trim());
  } catch {
    return ["a transaction given is not a raw Bitcoin transaction in hex"];
  }
  const outpoint = (i: bitcoin.Transaction["ins"][number]) => `${Buffer.from(i.hash).reverse().toString("hex")}:${i.index}`;
  const spends = new Set(next.ins.map(outpoint));
  for (const i of prev.ins) if (!spends.has(outpoint(i))) problems.push(`it does not spend ${outpoint(i)}, which ${prev.getId()} spends`);
  const seen = new Set<number>();
  for (const e of expected) {
    const parsed = parseAddress(e.address, network);
    const out = next.outs[e.vout];
    if (seen.has(e.vout)) problems.push(`payout ${e.payoutId}: output ${e.vout} is named twice`);
    seen.add(e.vout);
    if (!parsed.ok) problems.push(`payout ${e.payoutId}: ${parsed.reason}`);
    else if (!out) problems.push(`payout ${e.payoutId}: it has no output ${e.vout}`);
    else if (!sameBytes(out.script, parsed.script) || out.value !== e.sats) {
      problems.push(`payout ${e.payoutId}: output ${e.vout} does not pay ${e.sats} sats to ${e.address}`);
    }
  }
  return problems;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
