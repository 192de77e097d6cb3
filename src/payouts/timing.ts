import { INCREMENTAL_RELAY_FEE_RATE } from "../bitcoin/bump.js";
import type { FeeRate } from "../bitcoin/sizes.js";
import { formatFeeRate } from "../bitcoin/sizes.js";

/**
 * Deadline-driven fee timing (PAYOUT_MAX_DELAY): pure, no I/O. A due payout may wait until its
 * deadline (when it became due + PAYOUT_MAX_DELAY); a run sends the batch when fees are low, or at
 * once, at the rate a next block needs, when the oldest deadline is near. "Low" is judged against
 * the same hours a week earlier when the run has a week of timed observations (fees follow the
 * day and the week: a payout due on a Friday waits for the early hours of Saturday, not for Friday's low), else
 * against the recent history. A batch sent low bids below the estimate and waits in the mempool
 * for a block that cheap; it is fee-bumped (RBF) once its deadline comes near. While an earlier
 * batch is unconfirmed, new payouts wait for the next low instead of paying a small transaction's
 * overhead. Rates are sat/kvB (FeeRate), integers.
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
  /** The fee cycle the timed observations are read over: the same time this long ago forecasts now. */
  seasonMs: number;
  /** Without a run interval, how far ahead of now a batch sent now is judged. */
  forecastStepMs: number;
  /** Now is low when the rates a season ago over the next run interval were within this percentage of their least over the rest of the window. */
  forecastTolerancePercent: number;
  /** A batch sent low bids this percentage of the estimate (the estimate is the highest of recent blocks' minimums; blocks dip below it). */
  bidPercentOfEstimate: number;
}

export const TIMING_DEFAULTS: TimingOptions = {
  blockMs: 600_000,
  headroomBlocks: 9,
  lowPercentile: 10,
  bidPercentile: 1,
  minHistory: 12,
  economicalTarget: 6,
  runEveryMs: 0,
  seasonMs: 7 * 24 * 3_600_000,
  forecastStepMs: 60 * 60_000,
  forecastTolerancePercent: 115,
  bidPercentOfEstimate: 90,
};

/** Bitcoin Core's default minrelaytxfee (the wallet's least rate too): a bid below it would not relay. */
export const MIN_BID: FeeRate = 1000n;

/** A fee rate observed by a run, with when. */
export interface FeeObservation {
  at: number;
  rate: FeeRate;
}

export interface TimingInput {
  now: number;
  /** Deadlines (ms since the epoch) of the payouts that would go in the batch; at least one. */
  deadlines: readonly number[];
  /** The backend's estimates now: confirmation target in blocks → rate. At least one. */
  estimates: ReadonlyMap<number, FeeRate>;
  /** Observed rates of the recent past (any order). */
  history: readonly FeeRate[];
  /**
   * The observations kept (a week, FeeObservation with times), when the caller has them: "low" is
   * then judged against the same hours a season earlier. Without them, or without one near a
   * season ago, against `history`.
   */
  observations?: readonly FeeObservation[];
  /** Payout batches sent earlier and not confirmed yet: while there are any, new payouts wait unless their deadline is near. */
  unconfirmedBatches?: number;
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

/**
 * The forecast a season ago gives: `next`, the least rate over one run interval from then (the
 * blocks a batch sent now meets before the next run can act), and `least`, the least over the rest
 * of the window (up to the last time the batch may still be sent low; null when no run then
 * observed one). Null without an observation in that first interval.
 */
export function seasonalForecast(
  observations: readonly FeeObservation[],
  now: number,
  sendBy: number,
  o: Pick<TimingOptions, "seasonMs" | "runEveryMs" | "forecastStepMs">,
): { next: FeeRate; least: FeeRate | null } | null {
  const from = now - o.seasonMs;
  const step = from + (o.runEveryMs > 0 ? o.runEveryMs : o.forecastStepMs);
  let next: FeeRate | null = null;
  let least: FeeRate | null = null;
  for (const x of observations) {
    if (x.at > from && x.at <= step && (next === null || x.rate < next)) next = x.rate;
    if (x.at > step && x.at <= sendBy - o.seasonMs && (least === null || x.rate < least)) least = x.rate;
  }
  return next === null ? null : { next, least };
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
  const within = `within ${humanWithin(deadline - input.now)}, when fees are low`;
  const low = (rate: FeeRate, detail: string): TimingDecision =>
    (input.unconfirmedBatches ?? 0) > 0
      ? // A second transaction for the few payouts due since pays its own overhead and change; the next low batch takes them.
        { kind: "wait", lowRate: rate, deadline, reason: `${within} (with the next batch: the last one is not confirmed yet)` }
      : { kind: "send", rate, why: "low", detail };
  const forecast = input.observations ? seasonalForecast(input.observations, input.now, deadline - room * o.blockMs, o) : null;
  if (forecast) {
    const { next, least } = forecast;
    // The bid waits in the mempool for a block as cheap: below the estimate, and no more than the season's low of the window.
    const seasonLow = least !== null && least < next ? least : next;
    const below = (economical * BigInt(o.bidPercentOfEstimate)) / 100n;
    const capped = below < seasonLow ? below : seasonLow;
    const bid = capped > MIN_BID ? capped : economical < MIN_BID ? economical : MIN_BID;
    if (least === null) return low(bid, "the last run that may send it low");
    if (next * 100n <= least * BigInt(o.forecastTolerancePercent) || economical <= least) {
      return low(bid, `a week ago fees were lowest about now in this window (${formatFeeRate(next)} sat/vB; least later ${formatFeeRate(least)} sat/vB)`);
    }
    return {
      kind: "wait",
      lowRate: least,
      deadline,
      reason: `${within} (now ${formatFeeRate(economical)} sat/vB; a week ago they fell to ${formatFeeRate(least)} sat/vB later in this window)`,
    };
  }
  if (input.history.length < o.minHistory) {
    return { kind: "send", rate: economical, why: "no-history", detail: `only ${input.history.length} fee observations, fewer than ${o.minHistory}` };
  }
  const lowRate = percentile(input.history, o.lowPercentile);
  const bid = percentile(input.history, o.bidPercentile);
  if (economical <= lowRate) {
    return low(bid < economical ? bid : economical, `${formatFeeRate(economical)} sat/vB is at or below the recent low of ${formatFeeRate(lowRate)} sat/vB`);
  }
  return {
    kind: "wait",
    lowRate,
    deadline,
    reason: `${within} (now ${formatFeeRate(economical)} sat/vB, low is ${formatFeeRate(lowRate)} sat/vB)`,
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
 * headroom blocks are left, and only when its own rate is below the next-block rate: to that rate,
 * or to its own rate plus the incremental relay fee when that is more (BIP125: a replacement less
 * than that above it would not relay, and a batch bid just under the next-block rate would ride
 * past its deadline).
 */
export function bumpForDeadline(input: BumpInput): { bump: false } | { bump: true; rate: FeeRate } {
  const o = { ...TIMING_DEFAULTS, ...input.options };
  if (blocksLeft(input.now, input.deadline, o.blockMs) >= headroom(o)) return { bump: false };
  const rate = estimateAt(input.estimates, 1);
  if (rate <= input.txRate) return { bump: false };
  const least = input.txRate + INCREMENTAL_RELAY_FEE_RATE;
  return { bump: true, rate: rate > least ? rate : least };
}
