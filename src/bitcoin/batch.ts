import { randomInt } from "node:crypto";
import * as bitcoin from "bitcoinjs-lib";
import { DUST_LIMIT, parseAddress, type AddressType } from "./address.js";
import { selectCoins, MAX_STANDARD_WEIGHT, type Coin } from "./coinselect.js";
import { CHANGE, type KeyChain, type KeyRef, type WalletKeys } from "./keys.js";
import type { NetworkName } from "./network.js";
import { OUTPUT_WEIGHT, vsizeOf, type FeeRate } from "./sizes.js";

/**
 * Building batch transactions: validate payouts, split, select coins,
 * assemble and sign. Pure apart from the signing randomness; no I/O. The
 * wallet (wallet.ts) adds the chain, the caps and the bookkeeping around it.
 */

/** One contributor payment. `id` is the caller's payout id (e.g. the bounty row). */
export interface Payout {
  id: string;
  address: string;
  sats: bigint;
}

export interface ValidPayout extends Payout {
  type: AddressType;
  script: Uint8Array;
}

/** A coin the wallet owns, with the key that spends it. */
export interface WalletUtxo extends Coin {
  txid: string;
  vout: number;
  ref: KeyRef;
  address: string;
  confirmed: boolean;
}

/** An input of a signed transaction, with the key that signed it: enough to sign the same coin again. */
export interface SignedInput {
  txid: string;
  vout: number;
  sats: bigint;
  chain: KeyChain;
  index: number;
}

export interface SignedBatchTx {
  txid: string;
  hex: string;
  fee: bigint;
  vsize: number;
  /** The engine's pre-signing estimate; never below vsize. */
  estimatedVsize: number;
  feeRate: FeeRate;
  /** Payout id → output index in this transaction. */
  outputs: Map<string, number>;
  change?: { vout: number; sats: bigint; address: string; index: number };
  inputs: SignedInput[];
  /** What leaves the wallet: payouts + fee. */
  spentSats: bigint;
  payoutSats: bigint;
}

export type PayoutErrorCode =
  | "invalid-payout"
  | "over-tx-cap"
  | "over-daily-cap"
  | "insufficient-funds"
  | "too-large"
  | "not-allowed"
  | "cannot-bump";

/** Why a batch was refused. Nothing was signed when this is thrown. */
export class PayoutError extends Error {
  constructor(
    readonly code: PayoutErrorCode,
    message: string,
    readonly problems: Array<{ payoutId: string; reason: string }> = [],
  ) {
    super(message);
    this.name = "PayoutError";
  }
}

/** A batch asked about before it is built: what it would send (payouts + fees), or why it cannot be built. */
export type BatchCheck = { ok: true; spentSats: bigint } | { ok: false; error: PayoutError };

/** Checks ids, amounts, addresses (for this network) and dust; lists every problem at once. */
export function validatePayouts(payouts: readonly Payout[], network: NetworkName): ValidPayout[] {
  if (payouts.length === 0) throw new PayoutError("invalid-payout", "The batch has no payouts.");
  const problems: Array<{ payoutId: string; reason: string }> = [];
  const out: ValidPayout[] = [];
  const ids = new Set<string>();
  for (const p of payouts) {
    const id = typeof p.id === "string" ? p.id : String(p.id);
    if (id === "") problems.push({ payoutId: id, reason: "The payout has no id." });
    else if (ids.has(id)) problems.push({ payoutId: id, reason: "The same payout id appears twice in the batch." });
    ids.add(id);
    if (typeof p.sats !== "bigint" || p.sats <= 0n) {
      problems.push({ payoutId: id, reason: "The amount must be a positive whole number of sats." });
      continue;
    }
    const parsed = parseAddress(String(p.address), network);
    if (!parsed.ok) {
      problems.push({ payoutId: id, reason: parsed.reason });
      continue;
    }
    if (p.sats < DUST_LIMIT[parsed.type]) {
      problems.push({
        payoutId: id,
        reason: `${p.sats} sats is below the dust limit of ${DUST_LIMIT[parsed.type]} sats for a ${parsed.type.toUpperCase()} address; the network would not relay it.`,
      });
      continue;
    }
    out.push({ id, address: parsed.address, sats: p.sats, type: parsed.type, script: parsed.script });
  }
  if (problems.length > 0) {
    throw new PayoutError(
      "invalid-payout",
      `${problems.length} payout(s) cannot be paid: ${problems.map((p) => `${p.payoutId}: ${p.reason}`).join("; ")}`,
      problems,
    );
  }
  return out;
}

/** nSequence 0xfffffffd: signals replace-by-fee (BIP125) so a stuck batch can be bumped. */
export const RBF_SEQUENCE = 0xfffffffd;

/** Keeps room for inputs when splitting by weight. */
const OUTPUT_WEIGHT_BUDGET = 300_000;

/** Splits only past maxOutputs payouts or the weight budget; order is kept. */
export function splitPayouts(payouts: readonly ValidPayout[], maxOutputs: number): ValidPayout[][] {
  const chunks: ValidPayout[][] = [];
  let current: ValidPayout[] = [];
  let weight = 0;
  for (const p of payouts) {
    const w = OUTPUT_WEIGHT[p.type];
    if (current.length > 0 && (current.length >= maxOutputs || weight + w > OUTPUT_WEIGHT_BUDGET)) {
      chunks.push(current);
      current = [];
      weight = 0;
    }
    current.push(p);
    weight += w;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** One planned, assembled but unsigned transaction. Its txid is already final (segwit). */
export interface PlannedTx {
  payouts: ValidPayout[];
  inputs: WalletUtxo[];
  fee: bigint;
  weight: number;
  payoutSats: bigint;
  tx: bitcoin.Transaction;
  outputs: Map<string, number>;
  change?: { vout: number; sats: bigint; address: string; index: number };
}

export interface PlanOptions {
  keys: WalletKeys;
  coins: readonly WalletUtxo[];
  feeRate: FeeRate;
  longTermFeeRate: FeeRate;
  maxOutputs: number;
  /** Per-transaction cap on payouts + fee (PAYOUT_MAX_TX_SATS). */
  maxTxSats: bigint;
  /**
   * Payout ids an operator approved above maxTxSats: each goes in a transaction of its own, to
   * which maxTxSats does not apply (the caller's daily cap still does). Nothing else is exempt.
   */
  alone?: ReadonlySet<string>;
  /** Hands out the change index for each transaction that needs change. */
  nextChangeIndex: () => number;
  /** Current tip height: the locktime, against fee sniping. */
  tipHeight: number;
  /** Where the change goes among the outputs; random by default so it cannot be spotted by position. */
  changePosition?: (outputCount: number) => number;
}

/**
 * Plans every transaction of a batch before any is signed, so a cap or
 * funding problem signs nothing. Later transactions of a split batch may
 * spend the change of earlier ones. Payouts in `opts.alone` come last, one
 * transaction each.
 */
export function planBatch(payouts: readonly ValidPayout[], opts: PlanOptions): PlannedTx[] {
  let coins = [...opts.coins];
  const planned: PlannedTx[] = [];
  const alone = opts.alone ?? new Set<string>();
  const groups = [
    ...splitPayouts(payouts.filter((p) => !alone.has(p.id)), opts.maxOutputs).map((chunk) => ({ chunk, capped: true })),
    ...payouts.filter((p) => alone.has(p.id)).map((p) => ({ chunk: [p], capped: false })),
  ];
  for (const { chunk, capped } of groups) {
    const payoutSats = chunk.reduce((s, p) => s + p.sats, 0n);
    const result = selectCoins({
      coins,
      payoutOutputs: chunk.map((p) => p.type),
      payoutTotal: payoutSats,
      changeType: opts.keys.script,
      feeRate: opts.feeRate,
      longTermFeeRate: opts.longTermFeeRate,
      maxWeight: MAX_STANDARD_WEIGHT,
    });
    if (!result.ok) throw new PayoutError(result.reason.includes("weight") ? "too-large" : "insufficient-funds", result.reason);
    const s = result.selection;
    if (capped && payoutSats + s.fee > opts.maxTxSats) {
      throw new PayoutError(
        "over-tx-cap",
        `This transaction would send ${payoutSats + s.fee} sats (${payoutSats} in payouts + ${s.fee} fee), over PAYOUT_MAX_TX_SATS of ${opts.maxTxSats}. Nothing was signed.`,
      );
    }
    const used = new Set(s.inputs.map((c) => c.id));
    coins = coins.filter((c) => !used.has(c.id));

    const tx = new bitcoin.Transaction();
    tx.version = 2;
    // Anti-fee-sniping like Bitcoin Core: only valid in the next block or later.
    tx.locktime = opts.tipHeight;
    for (const c of s.inputs) tx.addInput(Uint8Array.from(Buffer.from(c.txid, "hex")).reverse(), c.vout, RBF_SEQUENCE);
    const n = chunk.length + (s.change > 0n ? 1 : 0);
    const changeVout = s.change > 0n ? (opts.changePosition ?? randomInt)(n) : -1;
    const outputs = new Map<string, number>();
    let change: PlannedTx["change"];
    let next = 0;
    for (let vout = 0; vout < n; vout++) {
      if (vout === changeVout) {
        const index = opts.nextChangeIndex();
        const ref: KeyRef = { chain: CHANGE, index };
        tx.addOutput(opts.keys.outputScript(ref), s.change);
        change = { vout, sats: s.change, address: opts.keys.address(ref), index };
      } else {
        const p = chunk[next++]!;
        tx.addOutput(p.script, p.sats);
        outputs.set(p.id, vout);
      }
    }
    if (change) {
      const txid = tx.getId();
      coins.push({
        id: `${txid}:${change.vout}`,
        txid,
        vout: change.vout,
        value: change.sats,
        inputType: opts.keys.script,
        ref: { chain: CHANGE, index: change.index },
        address: change.address,
        confirmed: false,
      });
    }
    planned.push({ payouts: chunk, inputs: s.inputs, fee: s.fee, weight: s.weight, payoutSats, tx, outputs, change });
  }
  return planned;
}

/** What signing needs of a planned transaction: a batch (planBatch) or a fee bump (bump.ts). */
export type SignablePlan = Pick<PlannedTx, "inputs" | "fee" | "weight" | "payoutSats" | "tx" | "outputs" | "change">;

/** Signs a planned transaction in place with the wallet's keys. */
export function signPlanned(p: SignablePlan, keys: WalletKeys, feeRate: FeeRate): SignedBatchTx {
  const tx = p.tx;
  const scripts = p.inputs.map((c) => keys.outputScript(c.ref));
  const values = p.inputs.map((c) => c.value);
  for (let i = 0; i < p.inputs.length; i++) {
    const c = p.inputs[i]!;
    const sighash =
      c.inputType === "p2wpkh"
        ? tx.hashForWitnessV0(
            i,
            Uint8Array.from([0x76, 0xa9, 0x14, ...scripts[i]!.subarray(2), 0x88, 0xac]),
            c.value,
            bitcoin.Transaction.SIGHASH_ALL,
          )
        : tx.hashForWitnessV1(i, scripts, values, bitcoin.Transaction.SIGHASH_DEFAULT);
    tx.setWitness(i, keys.witness(c.ref, sighash));
  }
  const vsize = tx.virtualSize();
  const estimatedVsize = vsizeOf(p.weight);
  if (vsize > estimatedVsize) {
    // Would pay below the intended fee rate; never expected, never broadcast.
    throw new Error(`Internal error: signed size ${vsize} vB exceeds the estimate ${estimatedVsize} vB`);
  }
  return {
    txid: tx.getId(),
    hex: tx.toHex(),
    fee: p.fee,
    vsize,
    estimatedVsize,
    feeRate,
    outputs: p.outputs,
    change: p.change,
    inputs: p.inputs.map((c) => ({ txid: c.txid, vout: c.vout, sats: c.value, chain: c.ref.chain, index: c.ref.index })),
    spentSats: p.payoutSats + p.fee,
    payoutSats: p.payoutSats,
  };
}
