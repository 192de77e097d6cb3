/**
 * Deadline-driven fee timing (issue #14): a simulated week. Run with `npm run bench -- timing`.
 *
 * A fee-rate trace with daily and weekly cycles and bursts (seeded), payouts arriving at random,
 * blocks every ten minutes on average (exponential gaps), and a transaction included in the first
 * block whose minimum rate is at or below its own. Three strategies pay the same payouts:
 *  (a) today: a run every PAYOUT_INTERVAL sends every due payout at the next-block estimate
 *      (bumped like PAYOUT_BUMP_AFTER does when the estimate rose);
 *  (b) the timing policy of src/payouts/timing.ts, PAYOUT_MAX_DELAY = 24 h, same runs, bumped as deadlines approach;
 *  (c) the offline optimum: each payout in the cheapest block before its deadline, payouts sharing a block batched.
 * Goals: (b) ≤ 1.25 × (c), (b) ≤ 0.5 × (a), every payout of (b) confirmed by its deadline. A MISS fails the run.
 */
import { INCREMENTAL_RELAY_FEE_RATE } from "../src/bitcoin/bump.js";
import { formatFeeRate, txFeeFor, txWeight, vsizeOf, type FeeRate } from "../src/bitcoin/sizes.js";
import { bumpForDeadline, decideTiming, TIMING_DEFAULTS } from "../src/payouts/timing.js";

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

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Block {
  at: number;
  /** The lowest rate a transaction in it paid (sat/kvB). */
  minRate: FeeRate;
}

interface Trace {
  blocks: Block[];
  bursts: Array<{ at: number; hours: number; factor: number }>;
}

const BASE_SAT_VB = 12;

/**
 * The chain from `start` (a Monday 00:00 UTC, a week of history before the measured week) to `end`:
 * base 12 sat/vB × daily cycle (×0.35 at 03:00 UTC … ×1.65 at 15:00) × weekly cycle (weekdays ×1,
 * Saturday ×0.55, Sunday ×0.45) × bursts (about one a day, 1–4 h, ×2–5) × noise (±25%, log-uniform); at least 1 sat/vB.
 */
function trace(r: () => number, start: number, end: number): Trace {
  const bursts: Trace["bursts"] = [];
  for (let t = start; t < end; t += -Math.log(1 - r()) * DAY) bursts.push({ at: t, hours: 1 + r() * 3, factor: 2 + r() * 3 });
  const blocks: Block[] = [];
  for (let t = start - Math.log(1 - r()) * BLOCK_MS; t < end; t += -Math.log(1 - r()) * BLOCK_MS) {
    const hour = ((t - start) % DAY) / HOUR;
    const weekday = Math.floor(((t - start) % WEEK) / DAY);
    const daily = 1 - 0.65 * Math.cos(((hour - 3) / 24) * 2 * Math.PI);
    const weekly = weekday === 5 ? 0.55 : weekday === 6 ? 0.45 : 1;
    const burst = bursts.filter((b) => t >= b.at && t < b.at + b.hours * HOUR).reduce((f, b) => Math.max(f, b.factor), 1);
    const noise = Math.exp((r() * 2 - 1) * Math.log(1.25));
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

interface PayoutSim {
  id: number;
  due: number;
  deadline: number;
  confirmedAt?: number;
}

interface TxSim {
  payouts: PayoutSim[];
  rate: FeeRate;
  fee: bigint;
  sentAt: number;
  /** Index of the first block it may be in. */
  from: number;
}

interface Outcome {
  fees: bigint;
  vbytes: number;
  txs: number;
  bumps: number;
  onTime: number;
  late: number;
  worstLateMs: number;
}

type Policy = (ctx: { now: number; pending: PayoutSim[]; estimate: FeeRate; history: FeeRate[] }) => FeeRate | null;
type Bumper = (ctx: { now: number; tx: TxSim; estimate: FeeRate }) => FeeRate | null;

/** Runs every INTERVAL from `weekStart`; settles transactions block by block between runs. */
function simulate(t: Trace, payouts: readonly PayoutSim[], weekStart: number, end: number, policy: Policy, bumper: Bumper): Outcome {
  const ps = payouts.map((p) => ({ ...p }));
  const out: Outcome = { fees: 0n, vbytes: 0, txs: 0, bumps: 0, onTime: 0, late: 0, worstLateMs: 0 };
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
        for (const p of tx.payouts) p.confirmedAt = b.at;
        return false;
      });
    }
    const estimate = estimateAt(t.blocks, now);
    history.push({ at: now, rate: estimate });
    const recent = history.filter((x) => x.at > now - MAX_DELAY).map((x) => x.rate);
    for (const tx of live) {
      const rate = bumper({ now, tx, estimate });
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
    const rate = policy({ now, pending, estimate, history: recent });
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

/** (c): each payout in the cheapest block within [due, deadline]; those sharing a block are one batch at its minimum. */
function optimum(t: Trace, payouts: readonly PayoutSim[]): Outcome {
  const byBlock = new Map<number, number>();
  for (const p of payouts) {
    let best = -1;
    for (let i = lastBlockBefore(t.blocks, p.due) + 1; i < t.blocks.length && t.blocks[i]!.at <= p.deadline; i++) {
      if (best < 0 || t.blocks[i]!.minRate < t.blocks[best]!.minRate) best = i;
    }
    byBlock.set(best, (byBlock.get(best) ?? 0) + 1);
  }
  const out: Outcome = { fees: 0n, vbytes: 0, txs: 0, bumps: 0, onTime: payouts.length, late: 0, worstLateMs: 0 };
  for (const [i, n] of byBlock) {
    out.fees += txFeeFor(batchWeight(n), t.blocks[i]!.minRate);
    out.vbytes += vsizeOf(batchWeight(n));
    out.txs++;
  }
  return out;
}

export async function run(): Promise<void> {
  const r = rng(SEED);
  const weekStart = Date.UTC(2026, 10, 9); // a Monday, 00:00 UTC
  const weekEnd = weekStart + WEEK;
  const end = weekEnd + MAX_DELAY + DAY;
  const t = trace(r, weekStart - WEEK, end);
  const payouts: PayoutSim[] = Array.from({ length: PAYOUTS }, () => weekStart + r() * WEEK)
    .sort((a, b) => a - b)
    .map((due, id) => ({ id, due, deadline: due + MAX_DELAY }));
  const week = t.blocks.filter((b) => b.at >= weekStart && b.at < weekEnd).map((b) => Number(b.minRate) / 1000);
  console.log(
    `Seed ${SEED}. Fee trace: ${BASE_SAT_VB} sat/vB × daily cycle (×0.35 at 03:00 UTC … ×1.65 at 15:00) × weekly cycle (weekdays ×1, Sat ×0.55, Sun ×0.45)` +
      ` × bursts (about one a day, 1–4 h, ×2–5; ${t.bursts.filter((b) => b.at >= weekStart && b.at < weekEnd).length} in the week) × noise ±25%; at least 1 sat/vB.`,
  );
  console.log(
    `Measured week: ${week.length} blocks (exponential gaps, mean 10 min); block minimum ${Math.min(...week).toFixed(1)}–${Math.max(...week).toFixed(1)} sat/vB. ` +
      `${PAYOUTS} payouts due at uniform random times; deadline = due + ${MAX_DELAY / HOUR} h; runs every ${INTERVAL / MIN} min; the week before is the history.`,
  );
  console.log(
    `Estimate = highest minimum of the last 3 blocks; batch size = overhead + one P2WPKH coin per ${OUTPUTS_PER_INPUT} payouts + P2WPKH outputs and change (src/bitcoin/sizes.ts).`,
  );
  const fixed = simulate(t, payouts, weekStart, end, ({ estimate }) => estimate, ({ now, tx, estimate }) =>
    now - tx.sentAt >= BUMP_AFTER && estimate * 4n >= tx.rate * 5n ? estimate : null,
  );
  const opts = { ...TIMING_DEFAULTS, headroomBlocks: TIMING_DEFAULTS.headroomBlocks, runEveryMs: INTERVAL };
  const estimates = (e: FeeRate) => new Map([[1, e]]);
  const timed = simulate(
    t,
    payouts,
    weekStart,
    end,
    ({ now, pending, estimate, history }) => {
      const d = decideTiming({ now, deadlines: pending.map((p) => p.deadline), estimates: estimates(estimate), history, options: opts });
      return d.kind === "send" ? d.rate : null;
    },
    ({ now, tx, estimate }) => {
      const d = bumpForDeadline({ now, deadline: Math.min(...tx.payouts.map((p) => p.deadline)), txRate: tx.rate, estimates: estimates(estimate), options: opts });
      return d.bump ? d.rate : null;
    },
  );
  const best = optimum(t, payouts);
  const row = (name: string, o: Outcome) =>
    console.log(
      `${name.padEnd(34)} fees ${o.fees.toString().padStart(9)} sats  ${String(o.txs).padStart(3)} txs  ${String(o.bumps).padStart(3)} bumps  ` +
        `${(o.fees * 1000n / BigInt(Math.max(o.vbytes, 1))).toString().padStart(6)} sat/kvB avg  by deadline ${((100 * o.onTime) / PAYOUTS).toFixed(1)}%` +
        (o.late ? ` (worst ${(o.worstLateMs / MIN).toFixed(0)} min late)` : ""),
    );
  row("(a) fixed runs, next-block rate", fixed);
  row("(b) deadline-driven timing", timed);
  row("(c) offline optimum", best);
  const ratio = (x: bigint, y: bigint) => Number((x * 10000n) / y) / 10000;
  const goals = [
    { name: "(b) ≤ 1.25 × (c)", value: ratio(timed.fees, best.fees), ok: timed.fees * 100n <= best.fees * 125n },
    { name: "(b) ≤ 0.5 × (a)", value: ratio(timed.fees, fixed.fees), ok: timed.fees * 2n <= fixed.fees },
    { name: "every payout of (b) by its deadline", value: timed.onTime / PAYOUTS, ok: timed.late === 0 },
  ];
  for (const g of goals) console.log(`${g.ok ? "PASS" : "MISS"}  ${g.name}: ${g.value.toFixed(4)}`);
  console.log(`Timing: headroom ${opts.headroomBlocks} blocks + one run interval; low = ${opts.lowPercentile}th percentile, bid = ${opts.bidPercentile}st percentile of the last ${MAX_DELAY / HOUR} h of estimates (recorded each run); next-block estimate at the low ${formatFeeRate(estimateAt(t.blocks, weekStart))} sat/vB at start.`);
  const missed = goals.filter((g) => !g.ok);
  if (missed.length) throw new Error(`timing goals missed: ${missed.map((g) => g.name).join("; ")}`);
}
