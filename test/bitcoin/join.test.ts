import * as bitcoin from "bitcoinjs-lib";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { planBatch, signPlanned, validatePayouts, type SignedBatchTx, type WalletUtxo } from "../../src/bitcoin/batch.js";
import { minReplacementFee, type BumpSource } from "../../src/bitcoin/bump.js";
import { planJoin, replacementProblems, type ExpectedOutput, type JoinOptions } from "../../src/bitcoin/join.js";
import { RECEIVE, WalletKeys } from "../../src/bitcoin/keys.js";
import { LocalChain } from "../../dev/localchain/chain.js";
import { randomAddress } from "./helpers.js";

/** Joining payouts to a batch in the mempool (planJoin) and the check of a signed replacement (replacementProblems). */

const keys = WalletKeys.fromMnemonic(generateMnemonic(wordlist), { network: "regtest", script: "p2wpkh" });
let receiveIndex = 0;

/** A confirmed coin of the wallet on `chain`. */
function coin(chain: LocalChain, sats: bigint): WalletUtxo {
  const ref = { chain: RECEIVE, index: receiveIndex++ };
  const o = chain.fund(keys.address(ref), sats);
  chain.mine(1);
  return { id: `${o.txid}:${o.vout}`, txid: o.txid, vout: o.vout, value: sats, inputType: "p2wpkh", ref, address: keys.address(ref), confirmed: true };
}

/** A batch of `n` payouts of 5,000 sats at `rate`, signed and in the chain's mempool. */
function batch(chain: LocalChain, funding: WalletUtxo, n: number, rate: bigint, changeAt = 0): SignedBatchTx {
  const payouts = validatePayouts(Array.from({ length: n }, (_, i) => ({ id: `old${i}`, address: randomAddress(i % 2 ? "p2tr" : "p2wpkh"), sats: 5_000n })), "regtest");
  const [planned] = planBatch(payouts, {
    keys,
    coins: [funding],
    feeRate: rate,
    longTermFeeRate: 1_000n,
    maxOutputs: 100,
    maxTxSats: 10n ** 8n,
    nextChangeIndex: () => 3,
    tipHeight: chain.tipHeight,
    changePosition: () => changeAt,
  });
  const t = signPlanned(planned!, keys, rate);
  chain.submit(t.hex);
  return t;
}

const sourceOf = (t: SignedBatchTx): BumpSource => ({ hex: t.hex, inputs: t.inputs, change: t.change ? { vout: t.change.vout, index: t.change.index } : null, outputs: t.outputs });
const fresh = (n: number, sats = 7_000n) => validatePayouts(Array.from({ length: n }, (_, i) => ({ id: `new${i}`, address: randomAddress("p2wpkh"), sats })), "regtest");
const options = (over: Partial<JoinOptions> = {}): JoinOptions => ({
  keys,
  feeRate: 2_000n,
  longTermFeeRate: 1_000n,
  coins: [],
  maxTxSats: 10n ** 8n,
  maxOutputs: 100,
  nextChangeIndex: () => 9,
  ...over,
});
const decode = (hex: string) => bitcoin.Transaction.fromHex(hex);
const outpoints = (tx: bitcoin.Transaction) => tx.ins.map((i) => `${Buffer.from(i.hash).reverse().toString("hex")}:${i.index}`);

/** What the replacement must pay: the old payouts where planJoin put them, and the new ones. */
function expectedOf(old: SignedBatchTx, added: ReturnType<typeof fresh>, outputs: ReadonlyMap<string, number>): ExpectedOutput[] {
  const tx = decode(old.hex);
  return [
    ...[...old.outputs].map(([id, vout]) => {
      const o = tx.outs[vout]!;
      return { payoutId: id, vout: outputs.get(id)!, address: bitcoin.address.fromOutputScript(o.script, bitcoin.networks.regtest), sats: o.value };
    }),
    ...added.map((p) => ({ payoutId: p.id, vout: outputs.get(p.id)!, address: p.address, sats: p.sats })),
  ];
}

describe("planJoin", () => {
  test("from the change alone: the old inputs and outputs unchanged and in order, the new payouts after them, BIP125's fee; the node accepts it", () => {
    const chain = new LocalChain("regtest");
    const old = batch(chain, coin(chain, 100_000n), 3, 2_000n, 1);
    const added = fresh(2);
    const p = planJoin(sourceOf(old), added, options());
    expect(p.added).toEqual([]);
    expect(outpoints(p.tx)).toEqual(outpoints(decode(old.hex)));
    // The change stays where it was, on the same key; the old payouts keep their indexes; the new ones follow.
    expect(p.change).toMatchObject({ vout: 1, index: 3 });
    expect([...p.outputs].filter(([id]) => id.startsWith("old"))).toEqual([...old.outputs]);
    expect([p.outputs.get("new0"), p.outputs.get("new1")]).toEqual([4, 5]);
    expect(p.fee).toBe(minReplacementFee({ fee: old.fee, vsize: old.vsize }, Math.ceil(p.weight / 4)));
    expect(p.extraFee).toBe(p.fee - old.fee);
    const signed = signPlanned(p, keys, 2_000n);
    expect(replacementProblems(old.hex, signed.hex, expectedOf(old, added, p.outputs), "regtest")).toEqual([]);
    chain.submit(signed.hex);
    expect(chain.mempoolTxids).toEqual([signed.txid]);
  });

  test("change too small: a confirmed coin is added (never an unconfirmed one), and a batch with no change gets a new one", () => {
    const chain = new LocalChain("regtest");
    // Coins first: funding one mines a block.
    const unconfirmed = { ...coin(chain, 50_000n), confirmed: false };
    const extra = coin(chain, 40_000n);
    const more = coin(chain, 60_000n);
    const tightCoin = coin(chain, 10_000n + 2n * 200n);
    const old = batch(chain, coin(chain, 16_000n), 2, 2_000n);
    const added = fresh(1, 20_000n);
    expect(() => planJoin(sourceOf(old), added, options({ coins: [unconfirmed] }))).toThrow(/cannot fund 1 more payout/);
    const p = planJoin(sourceOf(old), added, options({ coins: [unconfirmed, extra] }));
    expect(p.added.map((c) => c.id)).toEqual([extra.id]);
    expect(outpoints(p.tx)).toEqual([...outpoints(decode(old.hex)), extra.id]);
    const signed = signPlanned(p, keys, 2_000n);
    expect(replacementProblems(old.hex, signed.hex, expectedOf(old, added, p.outputs), "regtest")).toEqual([]);
    chain.submit(signed.hex);
    expect(chain.mempoolTxids).toEqual([signed.txid]);

    // A changeless batch (the whole of its coin paid out and to fee): the replacement makes change on a new key.
    const tight = batch(chain, tightCoin, 2, 2_000n);
    expect(tight.change).toBeUndefined();
    const q = planJoin(sourceOf(tight), fresh(1), options({ coins: [more], changePosition: () => 0 }));
    expect(q.change).toMatchObject({ vout: 0, index: 9 });
    expect([...q.outputs].filter(([id]) => id.startsWith("old"))).toEqual([...tight.outputs].map(([id, v]) => [id, v + 1]));
    chain.submit(signPlanned(q, keys, 2_000n).hex);
  });

  test("a high-rate batch: the replacement pays above its rate, so joining costs more than the change in size alone", () => {
    const chain = new LocalChain("regtest");
    const old = batch(chain, coin(chain, 200_000n), 2, 30_000n);
    const p = planJoin(sourceOf(old), fresh(1), options({ feeRate: 2_000n }));
    const vsize = BigInt(Math.ceil(p.weight / 4));
    // Above 30 sat/vB on its whole size: far more than 2 sat/vB on a transaction of its own.
    expect(p.fee * 1000n).toBeGreaterThan(30_000n * vsize);
    expect(p.extraFee).toBeGreaterThan(2n * 141n);
  });

  test("refuses what it cannot build: no payouts, one already paid by the batch, over the caps", () => {
    const chain = new LocalChain("regtest");
    const old = batch(chain, coin(chain, 100_000n), 2, 2_000n);
    expect(() => planJoin(sourceOf(old), [], options())).toThrow(/no payouts were given/);
    const again = validatePayouts([{ id: "old0", address: randomAddress("p2wpkh"), sats: 6_000n }], "regtest");
    expect(() => planJoin(sourceOf(old), again, options())).toThrow(/payout old0 is already one of its outputs/);
    expect(() => planJoin(sourceOf(old), fresh(1), options({ maxOutputs: 2 }))).toThrow(/over PAYOUT_MAX_OUTPUTS/);
    expect(() => planJoin(sourceOf(old), fresh(1), options({ maxTxSats: 15_000n }))).toThrow(/over PAYOUT_MAX_TX_SATS/);
  });
});

describe("replacementProblems", () => {
  test("names a replacement that drops a coin of the original, or pays a payout another amount, address or index", () => {
    const chain = new LocalChain("regtest");
    const old = batch(chain, coin(chain, 100_000n), 2, 2_000n, 2);
    const added = fresh(1);
    const p = planJoin(sourceOf(old), added, options());
    const expected = expectedOf(old, added, p.outputs);
    const good = signPlanned(p, keys, 2_000n).hex;
    expect(replacementProblems(old.hex, good, expected, "regtest")).toEqual([]);

    const lessToOld = decode(good);
    lessToOld.outs[expected[0]!.vout]!.value -= 1n;
    expect(replacementProblems(old.hex, lessToOld.toHex(), expected, "regtest")).toEqual([`payout old0: output ${expected[0]!.vout} does not pay 5000 sats to ${expected[0]!.address}`]);
    const moved = expected.map((e) => (e.payoutId === "new0" ? { ...e, vout: expected[0]!.vout } : e));
    expect(replacementProblems(old.hex, good, moved, "regtest").join("; ")).toMatch(/named twice/);
    const otherCoins = decode(good);
    otherCoins.ins[0]!.index += 1;
    expect(replacementProblems(old.hex, otherCoins.toHex(), expected, "regtest")).toEqual([`it does not spend ${outpoints(decode(old.hex))[0]}, which ${old.txid} spends`]);
    expect(replacementProblems(old.hex, good, [...expected, { payoutId: "x", vout: 9, address: randomAddress("p2wpkh"), sats: 1n }], "regtest")).toEqual(["payout x: it has no output 9"]);
  });
});
