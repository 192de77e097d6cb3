import { DUST_LIMIT, type AddressType } from "./address.js";
import {
  INPUT_WEIGHT,
  OUTPUT_WEIGHT,
  overheadWeight,
  feeFor,
  txFeeFor,
  VSIZE_ROUNDING_WEIGHT,
  formatFeeRate,
  type FeeRate,
  type InputType,
} from "./sizes.js";

/**
 * Coin selection in Bitcoin Core's sense of "waste": pure, deterministic, no I/O.
 *
 * waste = Σ inputs (fee now − fee at the long-term rate) + (cost of change | excess given to fee)
 *
 * First a changeless Branch-and-Bound search (Core's BnB, bounded at 100k
 * steps), then accumulations that create change; the least waste wins.
 */

export interface Coin {
  /** Stable identity, e.g. "txid:vout"; used to break ties deterministically. */
  id: string;
  value: bigint;
  inputType: InputType;
}

export interface SelectionRequest<C extends Coin> {
  coins: readonly C[];
  /** Output types of the payouts, in order; their amounts sum to payoutTotal. */
  payoutOutputs: readonly AddressType[];
  payoutTotal: bigint;
  /** The wallet's own change output type. */
  changeType: InputType;
  feeRate: FeeRate;
  /**
   * Rate at which coins are expected to be spendable later. Above it an extra
   * input costs waste, below it an extra input saves waste (consolidation).
   * The wallet defaults to the 1 sat/vB floor (see CONFIG_DEFAULTS).
   */
  longTermFeeRate: FeeRate;
  /** Standardness ceiling for the whole transaction. */
  maxWeight?: number;
  /** Branch-and-Bound step budget. */
  maxTries?: number;
}

export interface Selection<C extends Coin> {
  inputs: C[];
  /** 0n when the transaction has no change output. */
  change: bigint;
  fee: bigint;
  /** Estimated weight of the signed transaction (never below the real one). */
  weight: number;
  waste: bigint;
  algorithm: "bnb" | "largest-first" | "single-coin";
}

export type SelectionResult<C extends Coin> =
  | { ok: true; selection: Selection<C> }
  | { ok: false; reason: string };

export const DEFAULT_MAX_TRIES = 100_000;
/** Bitcoin Core's MAX_STANDARD_TX_WEIGHT. */
export const MAX_STANDARD_WEIGHT = 400_000;

interface Pooled<C extends Coin> {
  coin: C;
  weight: number;
  fee: bigint;
  longTermFee: bigint;
  effective: bigint;
}

export function selectCoins<C extends Coin>(req: SelectionRequest<C>): SelectionResult<C> {
  const maxWeight = req.maxWeight ?? MAX_STANDARD_WEIGHT;
  const nPay = req.payoutOutputs.length;
  const payoutWeight = req.payoutOutputs.reduce((w, t) => w + OUTPUT_WEIGHT[t], 0);
  const changeOutWeight = OUTPUT_WEIGHT[req.changeType];
  const changeSpendWeight = INPUT_WEIGHT[req.changeType];

  // Fee of everything except the inputs, assuming fewer than 253 inputs
  // (finalize() re-checks the exact figure).
  const fixedFee = feeFor(overheadWeight(1, nPay) + payoutWeight + VSIZE_ROUNDING_WEIGHT, req.feeRate);
  const target = req.payoutTotal + fixedFee;
  const changeOutFee = feeFor(changeOutWeight, req.feeRate);
  const costOfChange = changeOutFee + feeFor(changeSpendWeight, req.longTermFeeRate);
  // Change smaller than this costs more to spend later than it is worth: it goes to fee.
  const minChange = maxBig(DUST_LIMIT[req.changeType], feeFor(changeSpendWeight, req.longTermFeeRate) + 1n);

  const pool: Pooled<C>[] = [];
  let totalValue = 0n;
  for (const coin of req.coins) {
    const weight = INPUT_WEIGHT[coin.inputType];
    const fee = feeFor(weight, req.feeRate);
    totalValue += coin.value;
    const effective = coin.value - fee;
    // A coin worth less than the fee to spend it only lowers the payout.
    if (effective <= 0n) continue;
    pool.push({ coin, weight, fee, longTermFee: feeFor(weight, req.longTermFeeRate), effective });
  }
  // Largest first, ties by id: the search order, hence the result, is deterministic.
  pool.sort((a, b) =>
    a.effective !== b.effective ? (a.effective > b.effective ? -1 : 1) : a.coin.id < b.coin.id ? -1 : a.coin.id > b.coin.id ? 1 : 0,
  );
  const available = pool.reduce((s, p) => s + p.effective, 0n);
  if (available < target) {
    return {
      ok: false,
      reason:
        `The wallet cannot fund this batch: it needs ${req.payoutTotal} sats for payouts plus about ${fixedFee} sats of fees ` +
        `at ${formatFeeRate(req.feeRate)} sat/vB, but its coins are worth ${available} sats after the fee to spend them ` +
        `(${totalValue} sats in ${req.coins.length} coins).`,
    };
  }

  // Turns a set of coins into a transaction shape: with change if the
  // leftover is worth a change output, else the leftover goes to fee. Waste is
  // scored on effective values like Core's, so every candidate compares alike.
  const finalize = (chosen: Pooled<C>[], algorithm: Selection<C>["algorithm"], allowChange = true): Selection<C> | undefined => {
    const nIn = chosen.length;
    let inValue = 0n;
    let inEffective = 0n;
    let inWeight = 0;
    let inputWaste = 0n;
    for (const p of chosen) {
      inValue += p.coin.value;
      inEffective += p.effective;
      inWeight += p.weight;
      inputWaste += p.fee - p.longTermFee;
    }
    const noChangeWeight = overheadWeight(nIn, nPay) + payoutWeight + inWeight;
    const noChangeFee = txFeeFor(noChangeWeight, req.feeRate);
    if (inValue - req.payoutTotal - noChangeFee < 0n || noChangeWeight > maxWeight) return undefined;
    const withChangeWeight = overheadWeight(nIn, nPay + 1) + payoutWeight + changeOutWeight + inWeight;
    const withChangeFee = txFeeFor(withChangeWeight, req.feeRate);
    const change = inValue - req.payoutTotal - withChangeFee;
    if (allowChange && change >= minChange && withChangeWeight <= maxWeight) {
      return {
        inputs: chosen.map((p) => p.coin),
        change,
        fee: withChangeFee,
        weight: withChangeWeight,
        waste: inputWaste + costOfChange,
        algorithm,
      };
    }
    return {
      inputs: chosen.map((p) => p.coin),
      change: 0n,
      fee: inValue - req.payoutTotal,
      weight: noChangeWeight,
      waste: inputWaste + (inEffective - target),
      algorithm,
    };
  };

  const candidates: Selection<C>[] = [];
  const bnb = branchAndBound(pool, target, costOfChange, req.feeRate > req.longTermFeeRate, req.maxTries ?? DEFAULT_MAX_TRIES);
  if (bnb) {
    // A BnB hit is within the cost of change of the target: changeless by design.
    const s = finalize(bnb, "bnb", false);
    if (s) candidates.push(s);
  }

  // Largest-first accumulation: the fewest inputs that fund the payouts and a
  // change output; the shorter prefix that only just funds the payouts is a
  // candidate too (its small excess goes to fee).
  {
    const chosen: Pooled<C>[] = [];
    let sum = 0n;
    let fundedPrefix = false;
    for (const p of pool) {
      chosen.push(p);
      sum += p.effective;
      if (!fundedPrefix && sum >= target) {
        fundedPrefix = true;
        const s = finalize(chosen.slice(), "largest-first");
        if (s) candidates.push(s);
      }
      if (sum >= target + changeOutFee + minChange) break;
    }
    const s = finalize(chosen, "largest-first");
    if (s) candidates.push(s);
  }

  // The smallest single coin that covers everything: same waste as above when
  // one coin is enough, but it leaves the big coins whole and the change small.
  for (let i = pool.length - 1; i >= 0; i--) {
    const p = pool[i]!;
    if (p.effective >= target + changeOutFee + minChange) {
      const s = finalize([p], "single-coin");
      if (s) candidates.push(s);
      break;
    }
  }

  if (candidates.length === 0) {
    return {
      ok: false,
      reason: `The batch would exceed the maximum transaction weight of ${maxWeight} WU; split it into smaller batches.`,
    };
  }
  candidates.sort(compareSelections);
  return { ok: true, selection: candidates[0]! };
}

/** Least waste, then lighter, then fewer sats locked up in inputs. */
function compareSelections<C extends Coin>(a: Selection<C>, b: Selection<C>): number {
  if (a.waste !== b.waste) return a.waste < b.waste ? -1 : 1;
  if (a.weight !== b.weight) return a.weight - b.weight;
  const va = a.inputs.reduce((s, c) => s + c.value, 0n);
  const vb = b.inputs.reduce((s, c) => s + c.value, 0n);
  return va === vb ? 0 : va < vb ? -1 : 1;
}

/**
 * Bitcoin Core's Branch-and-Bound (src/wallet/coinselection.cpp): depth-first
 * search over include/exclude decisions on coins sorted by effective value,
 * looking for a sum within [target, target + costOfChange] — close enough
 * that a change output is not worth creating. Returns the least-waste hit.
 */
function branchAndBound<C extends Coin>(
  pool: Pooled<C>[],
  target: bigint,
  costOfChange: bigint,
  feeRateIsHigh: boolean,
  maxTries: number,
): Pooled<C>[] | undefined {
  let currValue = 0n;
  let currWaste = 0n;
  let currWeight = 0;
  let available = pool.reduce((s, p) => s + p.effective, 0n);
  const selection: number[] = [];
  let best: number[] | undefined;
  let bestWaste = 0n;
  let bestWeight = 0;

  let index = 0;
  for (let tries = 0; tries < maxTries; tries++, index++) {
    let backtrack = false;
    if (
      currValue + available < target ||
      currValue > target + costOfChange ||
      (best !== undefined && currWaste > bestWaste && feeRateIsHigh)
    ) {
      backtrack = true;
    } else if (currValue >= target) {
      const waste = currWaste + (currValue - target);
      if (best === undefined || waste < bestWaste || (waste === bestWaste && currWeight < bestWeight)) {
        best = selection.slice();
        bestWaste = waste;
        bestWeight = currWeight;
      }
      backtrack = true;
    }

    if (backtrack) {
      if (selection.length === 0) break; // every branch explored
      const last = selection[selection.length - 1]!;
      // Give the coins skipped after the last included one back to the lookahead.
      for (index--; index > last; index--) available += pool[index]!.effective;
      const p = pool[index]!;
      currValue -= p.effective;
      currWaste -= p.fee - p.longTermFee;
      currWeight -= p.weight;
      selection.pop();
      // The loop's index++ moves on to the omission branch of this coin.
    } else {
      const p = pool[index]!;
      available -= p.effective;
      const prev = pool[index - 1];
      // Skip a coin identical to one just excluded: it would repeat that branch.
      if (
        selection.length === 0 ||
        index - 1 === selection[selection.length - 1] ||
        prev === undefined ||
        p.effective !== prev.effective ||
        p.fee !== prev.fee
      ) {
        selection.push(index);
        currValue += p.effective;
        currWaste += p.fee - p.longTermFee;
        currWeight += p.weight;
      }
    }
  }
  return best?.map((i) => pool[i]!);
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
