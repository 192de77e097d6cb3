import type { FeeRate } from "../bitcoin/sizes.js";
import { formatFeeRate } from "../bitcoin/sizes.js";

/**
 * Deadline-driven fee timing (PAYOUT_MAX_DELAY): pure, no I/O. A due payout may wait until its
 * deadline (when it became due + PAYOUT_MAX_DELAY); a run sends the batch when the fee estimate is
 * low against the recent history of rates, or at once, at the rate a next block needs, when the
 * oldest deadline is near. A batch sent low is fee-bumped (RBF) once its deadline comes near.
 * Rates are sat/kvB (FeeRate), integers.
 */

export interface TimingOptions {
  /** Expected time between blocks. */
  blockMs: number;
  /** Blocks of headroom kept before a deadline: with fewer left, the batch goes (or is bumped) at the next-block rate. */
  headroomBlocks: number;
  /** "Low" is at or below this percentile (0–100) of the history. */
  lowPercentile: number;
  /**
   * When low, the batch bids at this lower percentile of the history (if below the estimate): it
   * waits in the mempool for a block that cheap, and is bumped if its deadline comes first.
   */
  bidPercentile: number;
  /** With fewer observations than this there is no "low" to wait for: the batch goes now. */
  minHistory: number;
  /** The longest confirmation target the economical estimate is read at. */
  economicalTarget: number;
  /** Time between runs (PAYOUT_INTERVAL): the next run may come this late, so it counts as headroom too. */
  runEveryMs: number;
}

export const TIMING_DEFAULTS: TimingOptions = { blockMs: 600_000, headroomBlocks: 3, lowPercentile: 10, bidPercentile: 1, minHistory: 12, economicalTarget: 6, runEveryMs: 0 };

export interface TimingInput {
  now: number;
  /** Deadlines (ms since the epoch) of the payouts that would go in the batch; at least one. */
  deadlines: readonly number[];
  /** The backend's estimates now: confirmation target in blocks → rate. At least one. */
  estimates: ReadonlyMap<number, FeeRate>;
  /** Observed rates of the recent past (any order). */
  history: readonly FeeRate[];
  options?: Partial<TimingOptions>;
}

export type TimingDecision =
  | { kind: "send"; rate: FeeRate; why: "deadline" | "low" | "no-history"; detail: string }
  | { kind: "wait"; reason: string; lowRate: FeeRate; deadline: number };

/** Blocks of headroom: the fixed ones and the blocks expected before the next run. */
function headroom(o: TimingOptions): number {
  return o.headroomBlocks + Math.ceil(o.runEveryMs / o.blockMs);
}

/** Whole blocks expected before `deadline` (negative once past). */
export function blocksLeft(now: number, deadline: number, blockMs: number): number {
  return Math.floor((deadline - now) / blockMs);
}

/** The estimate for `target` blocks: the longest known target not above it, else the shortest known one. */
export function estimateAt(estimates: ReadonlyMap<number, FeeRate>, target: number): FeeRate {
  const targets = [...estimates.keys()].sort((a, b) => a - b);
  if (targets.length === 0) throw new RangeError("no fee estimates");
  let best = targets[0]!;
  for (const t of targets) if (t <= target) best = t;
  return estimates.get(best)!;
}

/** The p-th percentile (nearest rank) of the rates. */
export function percentile(rates: readonly FeeRate[], p: number): FeeRate {
  if (rates.length === 0) throw new RangeError("no rates");
  const sorted = [...rates].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** "24 h", "45 min": how long until the deadline (minutes rounded up, hours to the nearest), for a person to read. */
export function humanWithin(ms: number): string {
  if (ms <= 0) return "now";
  const min = Math.ceil(ms / 60_000);
  if (min < 120) return `${min} min`;
  return `${Math.round(min / 60)} h`;
}

/** Send the batch now (at `rate`) or wait for lower fees (with the reason payouts show). */
export function decideTiming(input: TimingInput): TimingDecision {
  const o = { ...TIMING_DEFAULTS, ...input.options };
  if (input.deadlines.length === 0) throw new RangeError("no deadlines");
  const deadline = Math.min(...input.deadlines);
  const left = blocksLeft(input.now, deadline, o.blockMs);
  const nextBlock = estimateAt(input.estimates, 1);
  const room = headroom(o);
  if (left < room) {
    return { kind: "send", rate: nextBlock, why: "deadline", detail: `the oldest payout's deadline is ${Math.max(left, 0)} blocks away` };
  }
  const economical = estimateAt(input.estimates, Math.min(o.economicalTarget, left - room));
  if (input.history.length < o.minHistory) {
    return { kind: "send", rate: economical, why: "no-history", detail: `only ${input.history.length} fee observations, fewer than ${o.minHistory}` };
  }
  const low = percentile(input.history, o.lowPercentile);
  const bid = percentile(input.history, o.bidPercentile);
  if (economical <= low) {
    return { kind: "send", rate: bid < economical ? bid : economical, why: "low", detail: `${formatFeeRate(economical)} sat/vB is at or below the recent low of ${formatFeeRate(low)} sat/vB` };
  }
  return {
    kind: "wait",
    lowRate: low,
    deadline,
    reason: `within ${humanWithin(deadline - input.now)}, when fees are low (now ${formatFeeRate(economical)} sat/vB, low is ${formatFeeRate(low)} sat/vB)`,
  };
}

export interface BumpInput {
  now: number;
  /** The oldest deadline of the payouts the unconfirmed transaction pays. */
  deadline: number;
  /** Its fee rate. */
  txRate: FeeRate;
  estimates: ReadonlyMap<number, FeeRate>;
  options?: Partial<TimingOptions>;
}

/**
 * Whether an unconfirmed batch must be fee-bumped to make its deadline: only once fewer than the
 * headroom blocks are left, and only to the next-block rate when its own rate is below it.
 */
export function bumpForDeadline(input: BumpInput): { bump: false } | { bump: true; rate: FeeRate } {
  const o = { ...TIMING_DEFAULTS, ...input.options };
  if (blocksLeft(input.now, input.deadline, o.blockMs) >= headroom(o)) return { bump: false };
  const rate = estimateAt(input.estimates, 1);
  return rate > input.txRate ? { bump: true, rate } : { bump: false };
}
