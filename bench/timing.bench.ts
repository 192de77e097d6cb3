/**
 * Deadline-driven fee timing (issue #14): a simulated week. Run with `npm run bench -- timing`.
 *
 * A fee-rate trace with daily and weekly cycles and bursts (seeded), payouts arriving at random,
 * blocks every ten minutes on average (exponential gaps), and a transaction included in the first
 * block whose minimum rate is at or below its own. Three strategies pay the same payouts:
 *  (a) today: a run every PAYOUT_INTERVAL sends every due payout at the next-block estimate
 *      (bumped like PAYOUT_BUMP_AFTER does when the estimate rose);
 *  (b) the timing policy of src/payouts/timing.ts, PAYOUT_MAX_DELAY = 24 h, same runs, bumped as deadlines
 *      approach; it sees only what a payout run has: the estimate now, the rates earlier runs recorded
 *      (with their times, the week kept) and how many of its batches are unconfirmed;
 *  (c) the offline optimum: the payouts split into batches, each in the cheapest block inside all of
 *      its payouts' windows, with the least total fee (exact; test/payouts/timing.bench.test.ts checks
 *      it against every schedule on small traces).
 * A bump pays its new rate on the whole transaction and must pay 1 sat/vB more than the one it
 * replaces (BIP125 rules 3 and 4 for a same-size replacement); only the transaction that confirms pays.
 * Goals: (b) ≤ 1.25 × (c), (b) ≤ 0.5 × (a), every payout of (b) confirmed by its deadline, on the
 * bench's seed and ten more. A MISS fails the run. Also printed: (c'), the optimum on the same trace
 * without the per-block noise (what knowing the cycles and bursts, not which block dips, is worth).
 */
import { INCREMENTAL_RELAY_FEE_RATE } from "../src/bitcoin/bump.js";
import { formatFeeRate, txFeeFor, txWeight, vsizeOf, type FeeRate } from "../src/bitcoin/sizes.js";
import { bumpForDeadline, decideTiming, TIMING_DEFAULTS, type TimingOptions } from "../src/payouts/timing.js";
import { rng } from "./support.js";

const SEED = 14;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const BLOCK_MS = 10 * MIN;
const INTERVAL = HOUR;
const MAX_DELAY = DAY;
const BUMP_AFTER = 2 * HOUR;
const PAYOUTS = 200;
/** Payouts per wallet input: a batch spends one coin per this many outputs (at least one). */
const OUTPUTS_PER_INPUT = 8;


export interface Block {
  at: number;
  /** The lowest rate a transaction in it paid (sat/kvB). */
  minRate: FeeRate;
}

export interface Trace {
  blocks: Block[];
  bursts: Array<{ at: number; hours: number; factor: number }>;
}

const BASE_SAT_VB = 12;

/**
 * The chain from `start` (a Monday 00:00 UTC, a week of history before the measured week) to `end`:
 * base 12 sat/vB × daily cycle (×0.35 at 03:00 UTC … ×1.65 at 15:00) × weekly cycle (weekdays ×1,
 * Saturday ×0.55, Sunday ×0.45) × bursts (about one a day, 1–4 h, ×2–5) × noise (±25%, log-uniform); at least 1 sat/vB.
 * Not `noisy`: the same draws (blocks, bursts, payouts), the noise left out.
 */
function trace(r: () => number, start: number, end: number, noisy = true): Trace {
  const bursts: Trace["bursts"] = [];
  for (let t = start; t < end; t += -Math.log(1 - r()) * DAY) bursts.push({ at: t, hours: 1 + r() * 3, factor: 2 + r() * 3 });
  const blocks: Block[] = [];
  for (let t = start - Math.log(1 - r()) * BLOCK_MS; t < end; t += -Math.log(1 - r()) * BLOCK_MS) {
    const hour = ((t - start) % DAY) / HOUR;
    const weekday = Math.floor(((t - start) % WEEK) / DAY);
    const daily = 1 - 0.65 * Math.cos(((hour - 3) / 24) * 2 * Math.PI);
    const weekly = weekday === 5 ? 0.55 : weekday === 6 ? 0.45 : 1;
    const burst = bursts.filter((b) => t >= b.at && t < b.at + b.hours * HOUR).reduce((f, b) => Math.max(f, b.factor), 1);
    const drawn = r();
    const noise = noisy ? Math.exp((drawn * 2 - 1) * Math.log(1.25)) : 1;
    const satVb = Math.max(1, BASE_SAT_VB * daily * weekly * burst * noise);
    blocks.push({ at: t, minRate: BigInt(Math.round(satVb * 1000)) });
  }
  return { blocks, bursts };
}

/** The backend's next-block estimate at `t`: the highest minimum of the last three blocks (what a cautious estimator answers). */
function estimateAt(blocks: readonly Block[], t: number): FeeRate {
  let i = lastBlockBefore(blocks, t);
  let best = 1000n;
  for (let k = 0; k < 3 && i >= 0; k++, i--) if (blocks[i]!.minRate > best) best = blocks[i]!.minRate;
  return best;
}

function lastBlockBefore(blocks: readonly Block[], t: number): number {
  let lo = 0;
  let hi = blocks.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (blocks[mid]!.at <= t) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** Fee of a batch paying `outputs` P2WPKH outputs plus change, from one P2WPKH coin per OUTPUTS_PER_INPUT payouts (src/bitcoin/sizes.ts). */
function batchWeight(outputs: number): number {
  const inputs = Math.max(1, Math.ceil(outputs / OUTPUTS_PER_INPUT));
  return txWeight(Array(inputs).fill("p2wpkh"), Array(outputs + 1).fill("p2wpkh"));
}

export interface PayoutSim {
  id: number;
  due: number;
  deadline: number;
  confirmedAt?: number;
}

export interface TxSim {
  payouts: PayoutSim[];
  rate: FeeRate;
  fee: bigint;
  sentAt: number;
  /** Index of the first block it may be in. */
  from: number;
}

export interface Outcome {
  fees: bigint;
  vbytes: number;
  txs: number;
  bumps: number;
  onTime: number;
  late: number;
  worstLateMs: number;
  /** Each confirmed batch: its block's time, its payouts' count and its rate. */
  batches: Array<{ at: number; payouts: number; rate: FeeRate }>;
}

/** What a run sees: the estimate now, the last MAX_DELAY of recorded estimates, and all it keeps (a week, with times). */
export interface RunView {
  now: number;
  estimate: FeeRate;
  history: FeeRate[];
  observations: Array<{ at: number; rate: FeeRate }>;
  /** Batches sent and not confirmed yet. */
  unconfirmed: number;
}
export type Policy = (ctx: RunView & { pending: PayoutSim[] }) => FeeRate | null;
export type Bumper = (ctx: RunView & { tx: TxSim }) => FeeRate | null;

/** Runs every INTERVAL from `weekStart`; settles transactions block by block between runs. */
export function simulate(t: Trace, payouts: readonly PayoutSim[], weekStart: number, end: number, policy: Policy, bumper: Bumper): Outcome {
  const ps = payouts.map((p) => ({ ...p }));
  const out: Outcome = { fees: 0n, vbytes: 0, txs: 0, bumps: 0, onTime: 0, late: 0, worstLateMs: 0, batches: [] };
  const history: Array<{ at: number; rate: FeeRate }> = [];
  for (let h = weekStart - WEEK; h < weekStart; h += INTERVAL) history.push({ at: h, rate: estimateAt(t.blocks, h) });
  let live: TxSim[] = [];
  let queuedFrom = 0;
  let bi = lastBlockBefore(t.blocks, weekStart) + 1;
  for (let now = weekStart; now < end; now += INTERVAL) {
    // Blocks since the last run confirm what they can.
    for (; bi < t.blocks.length && t.blocks[bi]!.at <= now; bi++) {
      const b = t.blocks[bi]!;
      live = live.filter((tx) => {
        if (tx.from > bi || tx.rate < b.minRate) return true;
        out.fees += tx.fee;
        out.vbytes += vsizeOf(batchWeight(tx.payouts.length));
        out.txs++;
        out.batches.push({ at: b.at, payouts: tx.payouts.length, rate: tx.rate });
        for (const p of tx.payouts) p.confirmedAt = b.at;
        return false;
      });
    }
    const estimate = estimateAt(t.blocks, now);
    history.push({ at: now, rate: estimate });
    // Kept a week and a run longer than a week, so that the run a week ago is still there (src/store/feeHistory.ts keepMs).
    const kept = history.filter((x) => x.at > now - WEEK - INTERVAL);
    const view: RunView = { now, estimate, history: kept.filter((x) => x.at > now - MAX_DELAY).map((x) => x.rate), observations: kept, unconfirmed: live.length };
    for (const tx of live) {
      const rate = bumper({ ...view, tx });
      if (rate !== null && rate >= tx.rate + INCREMENTAL_RELAY_FEE_RATE) {
        tx.rate = rate;
        tx.fee = txFeeFor(batchWeight(tx.payouts.length), rate);
        tx.sentAt = now;
        tx.from = bi;
        out.bumps++;
      }
    }
    const pending = ps.slice(queuedFrom).filter((p) => p.due <= now && p.confirmedAt === undefined && !live.some((tx) => tx.payouts.includes(p)));
    if (pending.length === 0) continue;
    const rate = policy({ ...view, pending });
    if (rate === null) continue;
    live.push({ payouts: pending, rate, fee: txFeeFor(batchWeight(pending.length), rate), sentAt: now, from: bi });
    while (queuedFrom < ps.length && ps[queuedFrom]!.due <= now) queuedFrom++;
  }
  for (const p of ps) {
    if (p.confirmedAt !== undefined && p.confirmedAt <= p.deadline) out.onTime++;
    else {
      out.late++;
      out.worstLateMs = Math.max(out.worstLateMs, (p.confirmedAt ?? end) - p.deadline);
    }
  }
  return out;
}

/** Fee of a batch of `outputs` payouts at `rate`. */
export function batchFee(outputs: number, rate: FeeRate): bigint {
  return txFeeFor(batchWeight(outputs), rate);
}

/**
 * (c), the offline optimum: the payouts split into batches, each confirmed in one block inside every
 * one of its payouts' windows (after it became due, by its deadline) at that block's minimum rate,
 * with the least total fee. Every window is as long (due + MAX_DELAY), so some optimum confirms the
 * payouts in order of their due times (two payouts confirmed out of order can swap blocks: both stay
 * inside their windows, the batch sizes do not change); its batches are runs of consecutive payouts,
 * found exactly by dynamic programming over where each batch ends. Cheapest-block-per-payout is not
 * optimal: two payouts whose cheapest blocks differ by a little pay less sharing one batch.
 */
export function optimum(blocks: readonly Block[], payouts: readonly PayoutSim[]): Outcome {
  const ps = [...payouts].sort((a, b) => a.due - b.due);
  for (let i = 1; i < ps.length; i++) if (ps[i]!.deadline < ps[i - 1]!.deadline) throw new RangeError("optimum: windows must end in the order they start");
  const n = ps.length;
  const cost: Array<bigint | null> = [0n, ...Array<null>(n).fill(null)];
  const choice: Array<{ from: number; block: number }> = [];
  for (let j = 1; j <= n; j++) {
    // The batch ps[i..j-1] may confirm in a block after ps[j-1] became due and by ps[i]'s deadline.
    const lo = lastBlockBefore(blocks, ps[j - 1]!.due) + 1;
    const cheapest: number[] = [];
    for (let k = lo; k < blocks.length && blocks[k]!.at <= ps[j - 1]!.deadline; k++) {
      const prev = cheapest.at(-1);
      cheapest.push(prev === undefined || blocks[k]!.minRate < blocks[prev]!.minRate ? k : prev);
    }
    for (let i = j - 1; i >= 0; i--) {
      const hi = lastBlockBefore(blocks, ps[i]!.deadline) - lo;
      if (hi < 0) break;
      const before = cost[i];
      if (before === null || before === undefined) continue;
      const block = cheapest[Math.min(hi, cheapest.length - 1)]!;
      const c = before + batchFee(j - i, blocks[block]!.minRate);
      if (cost[j] === null || c < cost[j]!) {
        cost[j] = c;
        choice[j] = { from: i, block };
      }
    }
    if (cost[j] === null) throw new RangeError(`optimum: no block inside payout ${ps[j - 1]!.id}'s window`);
  }
  const out: Outcome = { fees: 0n, vbytes: 0, txs: 0, bumps: 0, onTime: n, late: 0, worstLateMs: 0, batches: [] };
  for (let j = n; j > 0; j = choice[j]!.from) {
    const { from, block } = choice[j]!;
    out.fees += batchFee(j - from, blocks[block]!.minRate);
    out.vbytes += vsizeOf(batchWeight(j - from));
    out.txs++;
    out.batches.push({ at: blocks[block]!.at, payouts: j - from, rate: blocks[block]!.minRate });
  }
  out.batches.reverse();
  return out;
}

/** The optimum this bench printed before: each payout in its own cheapest block, those sharing one batched (an upper bound on (c)). */
export function cheapestBlockEach(blocks: readonly Block[], payouts: readonly PayoutSim[]): bigint {
  const byBlock = new Map<number, number>();
  for (const p of payouts) {
    let best = -1;
    for (let i = lastBlockBefore(blocks, p.due) + 1; i < blocks.length && blocks[i]!.at <= p.deadline; i++) if (best < 0 || blocks[i]!.minRate < blocks[best]!.minRate) best = i;
    if (best < 0) throw new RangeError(`no block inside payout ${p.id}'s window`);
    byBlock.set(best, (byBlock.get(best) ?? 0) + 1);
  }
  let fees = 0n;
  for (const [i, n] of byBlock) fees += batchFee(n, blocks[i]!.minRate);
  return fees;
}

export interface Scenario {
  seed: number;
  weekStart: number;
  weekEnd: number;
  end: number;
  trace: Trace;
  payouts: PayoutSim[];
}

/** The seeded week: its chain (with the week before as history) and its payouts; `noisy` false keeps the same blocks, bursts and payouts without the per-block noise. */
export function scenario(seed: number, noisy = true): Scenario {
  const r = rng(seed);
  const weekStart = Date.UTC(2026, 10, 9); // a Monday, 00:00 UTC
  const weekEnd = weekStart + WEEK;
  const end = weekEnd + MAX_DELAY + DAY;
  const t = trace(r, weekStart - WEEK, end, noisy);
  const payouts: PayoutSim[] = Array.from({ length: PAYOUTS }, () => weekStart + r() * WEEK)
    .sort((a, b) => a - b)
    .map((due, id) => ({ id, due, deadline: due + MAX_DELAY }));
  return { seed, weekStart, weekEnd, end, trace: t, payouts };
}

/** (a): every run sends what is due at the next-block estimate, bumped like PAYOUT_BUMP_AFTER. */
export function fixedRuns(s: Scenario): Outcome {
  return simulate(s.trace, s.payouts, s.weekStart, s.end, ({ estimate }) => estimate, ({ now, tx, estimate }) =>
    now - tx.sentAt >= BUMP_AFTER && estimate * 4n >= tx.rate * 5n ? estimate : null,
  );
}

const TIMED_OPTIONS: Partial<TimingOptions> = { runEveryMs: INTERVAL };

/**
 * (b): the timing policy, fed only what a payout run has: the estimate, the rates its runs recorded
 * (the last MAX_DELAY, and the week kept with their times: `observations`) and its unconfirmed
 * batches (`unconfirmedBatches`; src/payouts/run.ts is still to pass these two).
 */
export function timedRuns(s: Scenario, options: Partial<TimingOptions> = {}): Outcome {
  const opts = { ...TIMED_OPTIONS, ...options };
  const estimates = (e: FeeRate) => new Map([[1, e]]);
  return simulate(
    s.trace,
    s.payouts,
    s.weekStart,
    s.end,
    ({ now, pending, estimate, history, observations, unconfirmed }) => {
      const d = decideTiming({ now, deadlines: pending.map((p) => p.deadline), estimates: estimates(estimate), history, observations, unconfirmedBatches: unconfirmed, options: opts });
      return d.kind === "send" ? d.rate : null;
    },
    ({ now, tx, estimate }) => {
      const d = bumpForDeadline({ now, deadline: Math.min(...tx.payouts.map((p) => p.deadline)), txRate: tx.rate, estimates: estimates(estimate), options: opts });
      return d.bump ? d.rate : null;
    },
  );
}

export function compare(seed: number, options: Partial<TimingOptions> = {}): { s: Scenario; fixed: Outcome; timed: Outcome; best: Outcome } {
  const s = scenario(seed);
  return { s, fixed: fixedRuns(s), timed: timedRuns(s, options), best: optimum(s.trace.blocks, s.payouts) };
}

const SEEDS = [SEED, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

export async function run(): Promise<void> {
  const { s, fixed, timed, best } = compare(SEED);
  const t = s.trace;
  const { weekStart, weekEnd } = s;
  const week = t.blocks.filter((b) => b.at >= weekStart && b.at < weekEnd).map((b) => Number(b.minRate) / 1000);
  console.log(
    `Seed ${SEED}. Fee trace: ${BASE_SAT_VB} sat/vB × daily cycle (×0.35 at 03:00 UTC … ×1.65 at 15:00) × weekly cycle (weekdays ×1, Sat ×0.55, Sun ×0.45)` +
      ` × bursts (about one a day, 1–4 h, ×2–5; ${t.bursts.filter((b) => b.at >= weekStart && b.at < weekEnd).length} in the week) × noise ±25% per block; at least 1 sat/vB.`,
  );
  console.log(
    `Measured week: ${week.length} blocks (exponential gaps, mean 10 min); block minimum ${Math.min(...week).toFixed(1)}–${Math.max(...week).toFixed(1)} sat/vB. ` +
      `${PAYOUTS} payouts due at uniform random times; deadline = due + ${MAX_DELAY / HOUR} h; runs every ${INTERVAL / MIN} min; the week before is the history.`,
  );
  console.log(
    `Estimate = highest minimum of the last 3 blocks; batch size = overhead + one P2WPKH coin per ${OUTPUTS_PER_INPUT} payouts + P2WPKH outputs and change (src/bitcoin/sizes.ts); ` +
      `a bump pays its new rate on the whole transaction and needs ${formatFeeRate(INCREMENTAL_RELAY_FEE_RATE)} sat/vB more than the one it replaces (BIP125 incremental relay fee).`,
  );
  const row = (name: string, o: Outcome) =>
    console.log(
      `${name.padEnd(34)} fees ${o.fees.toString().padStart(9)} sats  ${String(o.txs).padStart(3)} txs  ${String(o.bumps).padStart(3)} bumps  ` +
        `${(o.fees * 1000n / BigInt(Math.max(o.vbytes, 1))).toString().padStart(6)} sat/kvB avg  by deadline ${((100 * o.onTime) / PAYOUTS).toFixed(1)}%` +
        (o.late ? ` (worst ${(o.worstLateMs / MIN).toFixed(0)} min late)` : ""),
    );
  row("(a) fixed runs, next-block rate", fixed);
  row("(b) deadline-driven timing", timed);
  row("(c) offline optimum", best);
  console.log(`    (c) is exact (batches split where cheapest); each payout in its own cheapest block, as printed before, is ${cheapestBlockEach(t.blocks, s.payouts)} sats.`);
  const ratio = (x: bigint, y: bigint) => Number((x * 10000n) / y) / 10000;
  const goalsOf = (f: Outcome, b: Outcome, c: Outcome) => [
    { name: "(b) ≤ 1.25 × (c)", value: ratio(b.fees, c.fees), ok: b.fees * 100n <= c.fees * 125n },
    { name: "(b) ≤ 0.5 × (a)", value: ratio(b.fees, f.fees), ok: b.fees * 2n <= f.fees },
    { name: "every payout of (b) by its deadline", value: b.onTime / PAYOUTS, ok: b.late === 0 },
  ];
  const goals = goalsOf(fixed, timed, best);
  for (const g of goals) console.log(`${g.ok ? "PASS" : "MISS"}  ${g.name}: ${g.value.toFixed(4)}`);
  const levelBest = (seed: number) => {
    const q = scenario(seed, false);
    return optimum(q.trace.blocks, q.payouts);
  };
  console.log(
    `(c') the optimum on the same trace without the per-block noise (it knows the daily and weekly cycle and the bursts, not which block dips): ` +
      `${levelBest(SEED).fees} sats; (b)/(c') ${ratio(timed.fees, levelBest(SEED).fees).toFixed(4)}.`,
  );
  console.log("Seeds (same model):  seed  (b)/(c)  (b)/(a)  by deadline  (b)/(c')");
  const missedSeeds: number[] = [];
  const ratios: number[] = [];
  const levelRatios: number[] = [];
  for (const seed of SEEDS) {
    const o = seed === SEED ? { fixed, timed, best } : compare(seed);
    const g = goalsOf(o.fixed, o.timed, o.best);
    const level = ratio(o.timed.fees, levelBest(seed).fees);
    ratios.push(g[0]!.value);
    levelRatios.push(level);
    if (seed !== SEED && g.some((x) => !x.ok)) missedSeeds.push(seed);
    console.log(
      `${" ".repeat(20)}${String(seed).padStart(5)}  ${g[0]!.value.toFixed(3).padStart(7)}${g[0]!.ok ? " " : "*"} ${g[1]!.value.toFixed(3).padStart(7)}${g[1]!.ok ? " " : "*"} ` +
        `${(100 * g[2]!.value).toFixed(1).padStart(10)}%${g[2]!.ok ? " " : "*"} ${level.toFixed(3).padStart(9)}`,
    );
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`${" ".repeat(20)} mean  ${mean(ratios).toFixed(3).padStart(7)}  ${" ".repeat(31)}${mean(levelRatios).toFixed(3).padStart(9)}   (* = a goal missed)`);
  console.log(`${missedSeeds.length ? "MISS" : "PASS"}  every goal on seeds ${SEEDS.filter((x) => x !== SEED).join(", ")}${missedSeeds.length ? ` (missed on ${missedSeeds.join(", ")})` : ""}`);
  const o = { ...TIMING_DEFAULTS, ...TIMED_OPTIONS };
  console.log(
    `Timing: a batch goes when, a week earlier, fees over the next run interval were within ${o.forecastTolerancePercent - 100}% of their least over the rest of its window (or the estimate is already below that), ` +
      `bidding ${o.bidPercentOfEstimate}% of the estimate and at most that week-ago low, and waits while an earlier batch is unconfirmed; ` +
      `with ${o.headroomBlocks} blocks + one run interval left it goes (or is bumped) at the next-block estimate (a bump at least ${formatFeeRate(INCREMENTAL_RELAY_FEE_RATE)} sat/vB up).`,
  );
  const missed = goals.filter((g) => !g.ok);
  if (missed.length || missedSeeds.length) throw new Error(`timing goals missed: ${[...missed.map((g) => g.name), ...(missedSeeds.length ? [`seeds ${missedSeeds.join(", ")}`] : [])].join("; ")}`);
}
