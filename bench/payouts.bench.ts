/**
 * Payout engine benchmarks (issue #3): fee efficiency of batching and the
 * speed of select + build + sign. Run with `npm run bench -- payouts`.
 *
 * Everything is deterministic (seeded) except signature nonces and the change
 * position. Every batch transaction is also submitted to an in-process local
 * chain, which verifies its signatures, fee rate and dust rules for real.
 */
import { DUST_LIMIT, type AddressType } from "../src/bitcoin/address.js";
import { planBatch, signPlanned, validatePayouts, type Payout, type WalletUtxo } from "../src/bitcoin/batch.js";
import { INPUT_WEIGHT, OUTPUT_WEIGHT, feeFor, overheadWeight, vsizeOf, formatFeeRate, type FeeRate, VSIZE_ROUNDING_WEIGHT } from "../src/bitcoin/sizes.js";
import { WalletKeys, RECEIVE } from "../src/bitcoin/keys.js";
import { LocalChain } from "../src/bitcoin/localchain/chain.js";
import { networkFor } from "../src/bitcoin/network.js";
import * as bitcoin from "bitcoinjs-lib";
import * as ecc from "tiny-secp256k1";

bitcoin.initEccLib(ecc);

const MNEMONIC = "humor cement object similar used rich clinic fever huge ribbon catch hour";
const FEE_RATES_SAT_VB = [2, 10, 25, 60];
const LONG_TERM: FeeRate = 10_000n;
const BATCH_SIZES = [1, 10, 100, 500];
const GOAL_RATIO = 1.05;
const UTXO_COUNT = 2000;

/** Small, fast, seeded PRNG (mulberry32) so every run sees the same wallet and payouts. */
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
const logUniform = (r: () => number, lo: number, hi: number) => BigInt(Math.round(Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo)))));

/** A realistic payout wallet: many small deposits (5k–300k sats) and a few large ones (0.01–0.5 BTC). */
function walletCoinValues(): bigint[] {
  const r = rng(84);
  return Array.from({ length: UTXO_COUNT }, (_, i) => (i % 33 === 0 ? logUniform(r, 1_000_000, 50_000_000) : logUniform(r, 5_000, 300_000)));
}

/** Payouts of $1–$100 at $100k/BTC (1,000–100,000 sats) to a mix of address types. */
function payoutList(n: number): Payout[] {
  const r = rng(3);
  const mix: AddressType[] = ["p2wpkh", "p2wpkh", "p2wpkh", "p2wpkh", "p2tr", "p2tr", "p2sh", "p2sh", "p2pkh", "p2wsh"];
  const net = networkFor("regtest");
  return Array.from({ length: n }, (_, i) => {
    const type = mix[Math.floor(r() * mix.length)]!;
    const h = Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
    // Random hashes make valid P2PKH/P2SH/P2WPKH/P2WSH programs; P2TR needs a real x-only key (TAPROOT_KEYS).
    const address =
      type === "p2pkh"
        ? bitcoin.address.toBase58Check(h.subarray(0, 20), net.pubKeyHash)
        : type === "p2sh"
          ? bitcoin.address.toBase58Check(h.subarray(0, 20), net.scriptHash)
          : type === "p2wpkh"
            ? bitcoin.address.toBech32(h.subarray(0, 20), 0, net.bech32)
            : type === "p2wsh"
              ? bitcoin.address.toBech32(h, 0, net.bech32)
              : TAPROOT_KEYS[i % TAPROOT_KEYS.length]!;
    const sats = logUniform(r, 1_000, 100_000);
    return { id: `payout-${i}`, address, sats: sats < DUST_LIMIT[type] ? DUST_LIMIT[type] : sats };
  });
}

// Taproot outputs need valid x-only keys; derive a few from a throwaway account.
let TAPROOT_KEYS: string[] = [];

interface Fixture {
  keys: WalletKeys;
  chain: LocalChain;
  coins: WalletUtxo[];
}

/** Funds the wallet's receive addresses on a fresh local chain (100 addresses, 20 coins each). */
function fixture(keys: WalletKeys, values: bigint[]): Fixture {
  const chain = new LocalChain("regtest");
  const refs = values.map((_, i) => ({ chain: RECEIVE, index: i % 100 }));
  const outpoints = chain.fundMany(values.map((sats, i) => ({ address: keys.address(refs[i]!), sats })));
  chain.mine(1);
  const coins = outpoints.map<WalletUtxo>((o, i) => ({
    id: `${o.txid}:${o.vout}`,
    txid: o.txid,
    vout: o.vout,
    value: values[i]!,
    inputType: keys.script,
    ref: refs[i]!,
    address: keys.address(refs[i]!),
    confirmed: true,
  }));
  return { keys, chain, coins };
}

/**
 * The smallest transaction an ideal wallet could make from these coins:
 * overhead + the payouts' outputs + the fewest inputs that fund them, plus a
 * change output unless some set of that many coins lands within the cost of
 * change of the target (checked exactly for 1 and 2 inputs; assumed possible
 * beyond, which only lowers the bound).
 */
function lowerBoundVsize(coins: WalletUtxo[], payouts: Array<{ sats: bigint; type: AddressType }>, rate: FeeRate, changeType: "p2wpkh" | "p2tr"): { vsize: number; inputs: number; withChange: boolean; strict: number } {
  const nOut = payouts.length;
  const outW = payouts.reduce((s, p) => s + OUTPUT_WEIGHT[p.type], 0);
  const total = payouts.reduce((s, p) => s + p.sats, 0n);
  const inW = INPUT_WEIGHT[changeType];
  const inFee = feeFor(inW, rate);
  const effs = coins.map((c) => c.value - inFee).filter((e) => e > 0n).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  const target = total + feeFor(overheadWeight(1, nOut) + outW + VSIZE_ROUNDING_WEIGHT, rate);
  const changeOutFee = feeFor(OUTPUT_WEIGHT[changeType], rate);
  const costOfChange = changeOutFee + feeFor(inW, LONG_TERM);
  const minChange = DUST_LIMIT[changeType] > feeFor(inW, LONG_TERM) + 1n ? DUST_LIMIT[changeType] : feeFor(inW, LONG_TERM) + 1n;
  let k = 0;
  let sum = 0n;
  while (sum < target) sum += effs[k++]!;
  const strict = vsizeOf(overheadWeight(k, nOut) + outW + k * inW);
  let changeless = k >= 3;
  if (k === 1) changeless = effs.some((e) => e >= target && e <= target + costOfChange);
  if (k === 2) {
    const asc = [...effs].reverse();
    for (let i = 0, j = asc.length - 1; i < j && !changeless; ) {
      const s2 = asc[i]! + asc[j]!;
      if (s2 < target) i++;
      else if (s2 > target + costOfChange) j--;
      else changeless = true;
    }
  }
  if (changeless) return { vsize: strict, inputs: k, withChange: false, strict };
  let kc = 0;
  let sc = 0n;
  while (sc < target + changeOutFee + minChange) sc += effs[kc++]!;
  return { vsize: vsizeOf(overheadWeight(kc, nOut + 1) + outW + OUTPUT_WEIGHT[changeType] + kc * inW), inputs: kc, withChange: true, strict };
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

export async function run(): Promise<void> {
  const keys = WalletKeys.fromMnemonic(MNEMONIC, { network: "regtest", script: "p2wpkh" });
  const other = WalletKeys.fromMnemonic(MNEMONIC, { network: "regtest", script: "p2tr", passphrase: "payees" });
  TAPROOT_KEYS = Array.from({ length: 16 }, (_, i) => other.address({ chain: 0, index: i }));
  const values = walletCoinValues();
  const allPayouts = validatePayouts(payoutList(500), "regtest");
  const totalFunds = values.reduce((a, b) => a + b, 0n);
  console.log(
    `Wallet: ${UTXO_COUNT} P2WPKH coins, ${values.filter((v) => v >= 1_000_000n).length} of them 0.01–0.5 BTC, the rest 5k–300k sats (${totalFunds} sats in all).`,
  );
  const typeCounts = allPayouts.reduce<Record<string, number>>((m, p) => ((m[p.type] = (m[p.type] ?? 0) + 1), m), {});
  console.log(`Payouts: 1,000–100,000 sats each; types in the 500: ${JSON.stringify(typeCounts)}. Long-term fee rate 10 sat/vB.`);
  console.log(
    "Lower bound = overhead + payout outputs + fewest inputs that fund them (+ a change output only when no changeless set of that size exists); " +
      "'strict' never counts change.",
  );

  // Core's waste metric, which the engine follows, deliberately spends an extra
  // coin instead of making change when fees are at or below the long-term
  // rate: fewer vbytes over the coins' lifetime (no change to spend later, one
  // coin fewer left behind), more vbytes now. The goal is about vbytes now, so
  // it is checked where fees are above the long-term rate; rows below are
  // printed and flagged, not hidden.
  let goalMet = true;
  const flagged: string[] = [];
  for (const satVb of FEE_RATES_SAT_VB) {
    const rate = BigInt(satVb * 1000);
    console.log(`\nFee rate ${formatFeeRate(rate)} sat/vB`);
    console.log(" payouts | vB/payout batched | ratio to bound | ratio strict | inputs | change | vB/payout one tx each | ratio one tx each");

    // One transaction per payout, paid one after the other from the same wallet (each may spend earlier change).
    const singlesFx = fixture(keys, values);
    let singleCoins = singlesFx.coins;
    let nextChange = 0;
    const singleVsizes: number[] = [];
    for (const p of allPayouts) {
      const [planned] = planBatch([p], {
        keys,
        coins: singleCoins,
        feeRate: rate,
        longTermFeeRate: LONG_TERM,
        maxOutputs: 500,
        maxTxSats: 21_000_000n * 100_000_000n,
        nextChangeIndex: () => nextChange++,
        tipHeight: singlesFx.chain.tipHeight,
      });
      const signed = signPlanned(planned!, keys, rate);
      singleVsizes.push(signed.vsize);
      const spent = new Set(planned!.inputs.map((c) => c.id));
      singleCoins = singleCoins.filter((c) => !spent.has(c.id));
      if (signed.change) {
        singleCoins.push({
          id: `${signed.txid}:${signed.change.vout}`,
          txid: signed.txid,
          vout: signed.change.vout,
          value: signed.change.sats,
          inputType: keys.script,
          ref: { chain: 1, index: signed.change.index },
          address: signed.change.address,
          confirmed: false,
        });
      }
    }

    for (const n of BATCH_SIZES) {
      const payouts = allPayouts.slice(0, n);
      const fx = fixture(keys, values);
      let idx = 0;
      const planned = planBatch(payouts, {
        keys,
        coins: fx.coins,
        feeRate: rate,
        longTermFeeRate: LONG_TERM,
        maxOutputs: 500,
        maxTxSats: 21_000_000n * 100_000_000n,
        nextChangeIndex: () => idx++,
        tipHeight: fx.chain.tipHeight,
      });
      const signed = planned.map((p) => signPlanned(p, keys, rate));
      for (const t of signed) fx.chain.submit(t.hex); // real validation: signatures, dust, fee rate
      const vsize = signed.reduce((s, t) => s + t.vsize, 0);
      const inputs = signed.reduce((s, t) => s + t.inputs.length, 0);
      const bound = lowerBoundVsize(fx.coins, payouts, rate, keys.script);
      const ratio = vsize / bound.vsize;
      const strictRatio = vsize / bound.strict;
      const singles = singleVsizes.slice(0, n).reduce((a, b) => a + b, 0);
      if (n >= 10 && ratio > GOAL_RATIO) {
        if (rate > LONG_TERM) goalMet = false;
        else flagged.push(`${n} payouts at ${satVb} sat/vB: ${inputs} inputs and ${signed.some((t) => t.change) ? "change" : "no change"} vs a bound of ${bound.inputs} input(s)${bound.withChange ? " + change" : ""} (ratio ${ratio.toFixed(3)})`);
      }
      console.log(
        `${pad(n, 8)} | ${pad((vsize / n).toFixed(1), 17)} | ${pad(ratio.toFixed(3), 14)} | ${pad(strictRatio.toFixed(3), 12)} | ${pad(inputs, 6)} | ${pad(signed.some((t) => t.change) ? "yes" : "no", 6)} | ${pad((singles / n).toFixed(1), 21)} | ${pad((singles / bound.vsize).toFixed(2), 17)}`,
      );
    }
  }

  // Speed: select + build + sign a 500-output batch from 2,000 coins, at a
  // high fee rate (BnB prunes by waste) and a low one (it cannot: worst case).
  const fx = fixture(keys, values);
  const payouts = payoutList(500);
  let heapPeak = process.memoryUsage().heapUsed;
  const speed: string[] = [];
  let worstMedian = 0;
  for (const rate of [25_000n, 2_000n]) {
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      let idx = 0;
      const t0 = performance.now();
      const valid = validatePayouts(payouts, "regtest");
      const planned = planBatch(valid, {
        keys,
        coins: fx.coins,
        feeRate: rate,
        longTermFeeRate: LONG_TERM,
        maxOutputs: 500,
        maxTxSats: 21_000_000n * 100_000_000n,
        nextChangeIndex: () => idx++,
        tipHeight: fx.chain.tipHeight,
      });
      const signed = planned.map((p) => signPlanned(p, keys, rate));
      const ms = performance.now() - t0;
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      if (signed.length !== 1 || signed[0]!.outputs.size !== 500) throw new Error("expected one 500-output transaction");
      if (i > 0) times.push(ms); // the first run warms up the JIT and key caches
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    worstMedian = Math.max(worstMedian, median);
    speed.push(`${formatFeeRate(rate)} sat/vB: median ${median.toFixed(0)} ms, worst ${times[times.length - 1]!.toFixed(0)} ms`);
  }
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    `\nSpeed: validate + select + build + sign 500 outputs from ${UTXO_COUNT} coins (5 runs after a warm-up) at ${speed.join("; at ")} (goal < 1000 ms). ` +
      `Peak RSS ${maxRssMb.toFixed(0)} MB, peak heap ${(heapPeak / 1048576).toFixed(0)} MB (whole process, fixtures included).`,
  );
  if (worstMedian >= 1000) console.log("Speed goal missed on this machine.");
  console.log(
    `Fee-efficiency goal (ratio ≤ ${GOAL_RATIO} for every batch of 10 or more, at fee rates above the ${formatFeeRate(LONG_TERM)} sat/vB long-term rate): ${goalMet ? "met" : "MISSED"}.`,
  );
  for (const f of flagged) console.log(`  Over ${GOAL_RATIO} by design (consolidating at a low fee rate): ${f}.`);
  if (!goalMet) throw new Error("Fee-efficiency goal missed");
}
