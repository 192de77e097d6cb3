import { batchFee, cheapestBlockEach, optimum, simulate, type Block, type PayoutSim } from "../../bench/timing.bench.js";
import { INCREMENTAL_RELAY_FEE_RATE } from "../../src/bitcoin/bump.js";
import { rng } from "../../bench/support.js";

// The timing bench's yardsticks: (c) must be the true offline optimum of its model, and its
// simulated bumps must cost what BIP125 makes a replacement cost.

const MIN = 60_000;
const HOUR = 60 * MIN;


/** Every way to put each payout in a block inside its window; batches are the payouts sharing a block. */
function bruteForce(blocks: readonly Block[], payouts: readonly PayoutSim[]): bigint {
  const choices = payouts.map((p) => blocks.map((_, i) => i).filter((i) => blocks[i]!.at > p.due && blocks[i]!.at <= p.deadline));
  let best: bigint | null = null;
  const pick: number[] = [];
  const walk = (k: number): void => {
    if (k === payouts.length) {
      const counts = new Map<number, number>();
      for (const b of pick) counts.set(b, (counts.get(b) ?? 0) + 1);
      let fee = 0n;
      for (const [b, n] of counts) fee += batchFee(n, blocks[b]!.minRate);
      if (best === null || fee < best) best = fee;
      return;
    }
    for (const b of choices[k]!) {
      pick[k] = b;
      walk(k + 1);
    }
  };
  walk(0);
  if (best === null) throw new Error("no schedule");
  return best;
}

test("(c) is the least total fee of every schedule, by brute force on small traces, and beats cheapest-block-per-payout", () => {
  const r = rng(7);
  let tried = 0;
  let greedyBeaten = 0;
  while (tried < 300) {
    const blocks: Block[] = Array.from({ length: 7 }, () => r() * 10 * HOUR)
      .sort((a, b) => a - b)
      .map((at) => ({ at, minRate: BigInt(1000 + Math.floor(r() * 4) * 250 + Math.floor(r() * 3)) }));
    const window = (2 + r() * 4) * HOUR;
    const payouts: PayoutSim[] = Array.from({ length: 2 + Math.floor(r() * 5) }, () => r() * 6 * HOUR)
      .sort((a, b) => a - b)
      .map((due, id) => ({ id, due, deadline: due + window }));
    if (payouts.some((p) => !blocks.some((b) => b.at > p.due && b.at <= p.deadline))) continue;
    tried++;
    const exact = bruteForce(blocks, payouts);
    const c = optimum(blocks, payouts);
    expect(c.fees).toBe(exact);
    expect(c.batches.reduce((n, b) => n + b.payouts, 0)).toBe(payouts.length);
    if (cheapestBlockEach(blocks, payouts) > exact) greedyBeaten++;
  }
  // The old yardstick was not the optimum: it was beaten on some of these traces.
  expect(greedyBeaten).toBeGreaterThan(0);
});

test("two payouts whose cheapest blocks differ a little pay less sharing the block both can use", () => {
  const blocks: Block[] = [
    { at: 1 * HOUR, minRate: 5_000n },
    { at: 2 * HOUR, minRate: 5_100n },
    { at: 3 * HOUR, minRate: 5_000n },
  ];
  const payouts: PayoutSim[] = [
    { id: 0, due: 0, deadline: 2.5 * HOUR },
    { id: 1, due: 1.5 * HOUR, deadline: 4 * HOUR },
  ];
  expect(cheapestBlockEach(blocks, payouts)).toBe(2n * batchFee(1, 5_000n));
  expect(optimum(blocks, payouts)).toMatchObject({ fees: batchFee(2, 5_100n), txs: 1, batches: [{ at: 2 * HOUR, payouts: 2, rate: 5_100n }] });
  expect(batchFee(2, 5_100n)).toBeLessThan(2n * batchFee(1, 5_000n));
});

test("the simulation's bumps: refused below +1 sat/vB (BIP125), the new rate paid on the whole transaction, only the confirmed one paid", () => {
  // Blocks every 10 minutes at 20 sat/vB, then at 3 sat/vB from hour 5.
  const start = 0;
  const blocks: Block[] = Array.from({ length: 60 }, (_, i) => ({ at: start + (i + 1) * 10 * MIN, minRate: i < 30 ? 20_000n : 3_000n }));
  const payouts: PayoutSim[] = [{ id: 0, due: start, deadline: start + 9 * HOUR }, { id: 1, due: start, deadline: start + 9 * HOUR }];
  const asked: bigint[] = [];
  const out = simulate(
    { blocks, bursts: [] },
    payouts,
    start,
    start + 10 * HOUR,
    ({ now }) => (now === start ? 2_000n : null),
    ({ now }) => {
      // At hour 1 a bump of +0.5 sat/vB (refused), at hour 2 one of exactly +1 sat/vB (taken).
      const rate = now === start + HOUR ? 2_500n : now === start + 2 * HOUR ? 2_000n + INCREMENTAL_RELAY_FEE_RATE : null;
      if (rate !== null) asked.push(rate);
      return rate;
    },
  );
  expect(asked).toEqual([2_500n, 3_000n]);
  expect(out).toMatchObject({ bumps: 1, txs: 1, onTime: 2, fees: batchFee(2, 3_000n) });
  expect(out.batches).toEqual([{ at: 310 * MIN, payouts: 2, rate: 3_000n }]);
});
