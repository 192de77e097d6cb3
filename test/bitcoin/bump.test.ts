import * as bitcoin from "bitcoinjs-lib";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import pino from "pino";
import { parseAddress } from "../../src/bitcoin/address.js";
import { planBatch, signPlanned, validatePayouts, type WalletUtxo } from "../../src/bitcoin/batch.js";
import { minReplacementFee, planBump, type BumpSource } from "../../src/bitcoin/bump.js";
import type { WalletConfig } from "../../src/bitcoin/config.js";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { CHANGE, RECEIVE, WalletKeys, type WalletScript } from "../../src/bitcoin/keys.js";
import { LocalChain } from "../../dev/localchain/chain.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { MemorySpendLog, MemoryWalletState } from "../../src/bitcoin/state.js";
import { PayoutError, PayoutWallet, type Payout, type SignedBatchTx } from "../../src/bitcoin/wallet.js";
import { ALL_TYPES, randomAddress, testConfig } from "./helpers.js";

const silent = pino({ level: "silent" });
let node: LocalChainServer;

beforeAll(async () => {
  node = await startLocalChain({ network: "regtest" });
});
afterAll(async () => {
  await node.close();
});

async function openWallet(overrides: Partial<WalletConfig> = {}) {
  const config = testConfig({ esploraUrl: node.url, mnemonicText: generateMnemonic(wordlist), ...overrides });
  const spendLog = new MemorySpendLog();
  const wallet = await PayoutWallet.open({
    config,
    backend: new EsploraBackend({ url: node.url, retries: 1, backoffMs: 5 }),
    state: new MemoryWalletState(),
    spendLog,
    logger: silent,
  });
  return { wallet, spendLog };
}

/** What the payout run stores of a signed transaction, handed back to bump(). */
function sourceOf(t: SignedBatchTx): BumpSource {
  return { hex: t.hex, inputs: t.inputs, change: t.change ? { vout: t.change.vout, index: t.change.index } : null, outputs: t.outputs };
}

const decode = (hex: string) => bitcoin.Transaction.fromHex(hex);
const outpoints = (tx: bitcoin.Transaction) => tx.ins.map((i) => `${Buffer.from(i.hash).reverse().toString("hex")}:${i.index}`);
/** The outputs other than the change, as [script hex, sats], in order. */
function payoutOutputs(t: SignedBatchTx): Array<[string, bigint]> {
  return decode(t.hex)
    .outs.filter((_, vout) => vout !== t.change?.vout)
    .map((o) => [Buffer.from(o.script).toString("hex"), o.value]);
}
function scriptOf(address: string): Uint8Array {
  const p = parseAddress(address, "regtest");
  if (!p.ok) throw new Error(p.reason);
  return p.script;
}
const inMempool = (txid: string) => node.chain.mempoolTxids.includes(txid);
async function refusal(p: Promise<unknown>): Promise<PayoutError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PayoutError);
  return e as PayoutError;
}

describe.each(["p2wpkh", "p2tr"] as const)("PayoutWallet.bump (%s) against the local chain over HTTP", (script) => {
  it("bumps a stuck batch paying every address type from 2 to 10 sat/vB, then again to 20; recipients are paid exactly once", async () => {
    const { wallet, spendLog } = await openWallet({ script });
    node.fund(await wallet.receiveAddress(), 200_000n);
    node.mine(1);
    const payouts: Payout[] = ALL_TYPES.map((t, i) => ({ id: `pr-${t}`, address: randomAddress(t), sats: 10_000n + BigInt(i) * 1_111n }));
    const { plan, outcomes } = await wallet.payBatch(payouts, { feeRate: 2_000n });
    expect(outcomes[0]!.status).toBe("sent");
    const stuck = plan.transactions[0]!;
    expect(stuck.change).toBeDefined();
    expect(stuck.inputs.every((i) => i.chain === RECEIVE && Number.isInteger(i.index))).toBe(true);

    const bumped = await wallet.bump(sourceOf(stuck), 10_000n);
    const tx = decode(bumped.hex);
    // Signed, not sent yet: the original is still what the node has.
    expect(inMempool(stuck.txid)).toBe(true);
    expect(bumped.txid).not.toBe(stuck.txid);
    // Same coins, RBF sequence, same version and locktime.
    expect(outpoints(tx)).toEqual(outpoints(decode(stuck.hex)));
    expect(tx.ins.every((i) => i.sequence === 0xfffffffd)).toBe(true);
    expect(bumped.inputs).toEqual(stuck.inputs);
    expect([tx.version, tx.locktime]).toEqual([decode(stuck.hex).version, decode(stuck.hex).locktime]);
    // Every recipient gets exactly what was promised, at the same output.
    expect(payoutOutputs(bumped)).toEqual(payoutOutputs(stuck));
    expect(bumped.outputs).toEqual(stuck.outputs);
    for (const p of payouts) {
      const out = tx.outs[bumped.outputs.get(p.id)!]!;
      expect([Buffer.from(out.script).toString("hex"), out.value]).toEqual([Buffer.from(scriptOf(p.address)).toString("hex"), p.sats]);
    }
    // The change pays the difference, on the same change address.
    expect(bumped.change).toEqual({ ...stuck.change!, sats: stuck.change!.sats - (bumped.fee - stuck.fee) });
    expect(bumped.payoutSats).toBe(stuck.payoutSats);
    expect(bumped.spentSats).toBe(stuck.payoutSats + bumped.fee);
    // BIP125 against the original, and the rate asked for.
    expect(bumped.fee).toBeGreaterThanOrEqual(stuck.fee + BigInt(bumped.vsize));
    expect(bumped.fee * BigInt(stuck.vsize)).toBeGreaterThan(stuck.fee * BigInt(bumped.vsize));
    expect(bumped.fee * 1000n).toBeGreaterThanOrEqual(10_000n * BigInt(bumped.vsize));
    expect(bumped.feeRate).toBe(10_000n);
    const inSum = bumped.inputs.reduce((s, i) => s + i.sats, 0n);
    expect(inSum - tx.outs.reduce((s, o) => s + o.value, 0n)).toBe(bumped.fee);
    // Reserved against the daily cap under its own txid, next to the original.
    expect(spendLog.entries().map((e) => [e.txid, e.sats, [...e.payoutIds].sort()])).toEqual([
      [stuck.txid, stuck.spentSats, payouts.map((p) => p.id).sort()],
      [bumped.txid, bumped.spentSats, payouts.map((p) => p.id).sort()],
    ]);

    expect(await wallet.broadcast({ transactions: [bumped], feeRate: bumped.feeRate })).toEqual([{ txid: bumped.txid, status: "sent" }]);
    expect(node.chain.tx(stuck.txid)).toBeUndefined();
    expect(inMempool(bumped.txid)).toBe(true);
    const inputs = stuck.inputs.map((i) => `${i.txid}:${i.vout}`);
    expect(await wallet.inspect(stuck.txid, inputs)).toEqual({ state: "conflicted", by: bumped.txid, confirmed: false, confirmations: 0 });

    // Bumping the replaced original again is refused: the bump is the one to bump.
    const stale = await refusal(wallet.bump(sourceOf(stuck), 20_000n));
    expect(stale.code).toBe("cannot-bump");
    expect(stale.message).toMatch(new RegExp(`${bumped.txid} already spends its coins; bump that one instead`));

    const twice = await wallet.bump(sourceOf(bumped), 20_000n);
    expect(twice.fee).toBeGreaterThanOrEqual(bumped.fee + BigInt(twice.vsize));
    expect(payoutOutputs(twice)).toEqual(payoutOutputs(stuck));
    expect(twice.change!.sats).toBe(stuck.change!.sats - (twice.fee - stuck.fee));
    expect((await wallet.broadcast({ transactions: [twice], feeRate: twice.feeRate }))[0]!.status).toBe("sent");
    expect(node.chain.tx(bumped.txid)).toBeUndefined();
    expect(node.chain.mempoolTxids.filter((id) => [stuck.txid, bumped.txid, twice.txid].includes(id))).toEqual([twice.txid]);

    node.mine(1);
    for (const p of payouts) {
      const utxos = node.chain.utxosOf(scriptOf(p.address));
      expect(utxos).toEqual([{ txid: twice.txid, vout: twice.outputs.get(p.id)!, value: p.sats, height: node.chain.tipHeight }]);
      expect(node.chain.txCounts(scriptOf(p.address))).toEqual({ chain: 1, mempool: 0 });
    }
    expect(await wallet.balance()).toEqual({ confirmedSats: 200_000n - twice.spentSats, unconfirmedSats: 0n });
    const mined = await refusal(wallet.bump(sourceOf(twice), 30_000n));
    expect(mined.message).toMatch(/already confirmed \(1 confirmation/);
    expect(spendLog.entries()).toHaveLength(3);
  });
});

describe("PayoutWallet.bump: what it refuses, signing nothing", () => {
  /** A wallet with one confirmed coin and a stuck 2 sat/vB batch paying `payouts` from it. */
  async function stuckBatch(opts: { fund?: bigint; payouts?: Payout[]; config?: Partial<WalletConfig> } = {}) {
    const { wallet, spendLog } = await openWallet(opts.config);
    node.fund(await wallet.receiveAddress(), opts.fund ?? 100_000n);
    node.mine(1);
    const payouts = opts.payouts ?? [
      { id: "a", address: randomAddress("p2wpkh"), sats: 20_000n },
      { id: "b", address: randomAddress("p2tr"), sats: 15_000n },
    ];
    const { plan, outcomes } = await wallet.payBatch(payouts, { feeRate: 2_000n });
    expect(outcomes[0]!.status).toBe("sent");
    const t = plan.transactions[0]!;
    const before = { log: spendLog.entries(), mempool: [...node.chain.mempoolTxids] };
    /** Nothing was signed: no new reservation, nothing sent, the original untouched. */
    const unchanged = () => {
      expect(spendLog.entries()).toEqual(before.log);
      expect(node.chain.mempoolTxids).toEqual(before.mempool);
    };
    return { wallet, spendLog, t, unchanged };
  }

  it("a transaction without change", async () => {
    // 30 000 sats pay 29 700 and a 1-in-1-out fee at 2 sat/vB; the ~80 sats left over go to fee.
    const { t, wallet, unchanged } = await stuckBatch({ fund: 30_000n, payouts: [{ id: "all", address: randomAddress("p2wpkh"), sats: 29_700n }] });
    expect(t.change).toBeUndefined();
    const e = await refusal(wallet.bump(sourceOf(t), 10_000n));
    expect(e.code).toBe("cannot-bump");
    expect(e.message).toBe(`Cannot fee-bump ${t.txid}: it has no change output to take a higher fee from. Nothing was signed.`);
    unchanged();
  });

  it("a rate not high enough: the same, or higher but short of the old fee + 1 sat/vB; the rate it names is enough", async () => {
    const { t, wallet, unchanged } = await stuckBatch();
    for (const rate of [2_000n, 1_000n, 2_500n]) {
      const e = await refusal(wallet.bump(sourceOf(t), rate));
      expect(e.code).toBe("cannot-bump");
      expect(e.message).toMatch(/a replacement must pay a higher fee rate and at least \d+ \+ \d+ sats \(BIP125/);
      unchanged();
    }
    const e = await refusal(wallet.bump(sourceOf(t), 2_500n));
    const least = /that is at least ([\d.]+) sat\/vB, but the fee rate is 2\.5 sat\/vB\. Nothing was signed\.$/.exec(e.message);
    expect(least).not.toBeNull();
    const rate = BigInt(Math.round(Number(least![1]) * 1000));
    // Exactly the least the node accepts: a thousandth of a sat/vB less is refused.
    await expect(wallet.bump(sourceOf(t), rate - 1n)).rejects.toMatchObject({ code: "cannot-bump" });
    const b = await wallet.bump(sourceOf(t), rate);
    expect(b.fee).toBe(minReplacementFee({ fee: t.fee, vsize: t.vsize }, b.estimatedVsize));
    expect((await wallet.broadcast({ transactions: [b], feeRate: b.feeRate }))[0]).toEqual({ txid: b.txid, status: "sent" });
    node.mine(1);
  });

  it("a rate clamped to FEE_MAX_SAT_VB that cannot beat the original", async () => {
    const { t, wallet, unchanged } = await stuckBatch({ config: { maxFeeRate: 2_900n } });
    const e = await refusal(wallet.bump(sourceOf(t), 50_000n));
    expect(e.code).toBe("cannot-bump");
    expect(e.message).toMatch(/but the fee rate is 2\.9 sat\/vB \(50 sat\/vB was asked for, clamped to FEE_MAX_SAT_VB\)\. Nothing was signed\.$/);
    unchanged();
  });

  it("over the daily cap: the replacement counts in full until the original's reservation is released", async () => {
    const { t, wallet, spendLog, unchanged } = await stuckBatch({ config: { dailyCapSats: 60_000n } });
    const e = await refusal(wallet.bump(sourceOf(t), 10_000n));
    expect(e.code).toBe("over-daily-cap");
    expect(e.message).toMatch(new RegExp(`^The fee bump of ${t.txid} would send \\d+ sats .* PAYOUT_DAILY_CAP_SATS.* Nothing was signed\\.$`));
    unchanged();
    // Once the caller releases the original (as it does when the replacement is on the network), it fits.
    await spendLog.release(t.txid);
    expect((await wallet.bump(sourceOf(t), 10_000n)).fee).toBeGreaterThan(t.fee);
  });

  it("over PAYOUT_MAX_TX_SATS", async () => {
    const { t, wallet, unchanged } = await stuckBatch({ config: { maxTxSats: 35_800n } });
    expect(t.spentSats).toBeLessThanOrEqual(35_800n);
    const e = await refusal(wallet.bump(sourceOf(t), 10_000n));
    expect(e.code).toBe("over-tx-cap");
    unchanged();
  });

  it("a change too small for the higher fee even when dropped; dropped when that still meets the rules", async () => {
    // 1 input, 2 payouts and change at 2 sat/vB: 172 vB, 344 sats of fee, 400 sats of change.
    const payouts = [
      { id: "x", address: randomAddress("p2wpkh"), sats: 10_000n },
      { id: "y", address: randomAddress("p2wpkh"), sats: 10_000n },
    ];
    const { t, wallet, spendLog, unchanged } = await stuckBatch({ fund: 20_744n, payouts });
    expect([t.fee, t.estimatedVsize, t.change?.sats]).toEqual([344n, 172, 400n]);
    const e = await refusal(wallet.bump(sourceOf(t), 10_000n));
    expect(e.code).toBe("cannot-bump");
    expect(e.message).toMatch(/its change of 400 sats cannot pay the higher fee: 10 sat\/vB needs 1720 sats with the change output .* or 1410 sats without it, and only 744 sats are not paid out/);
    unchanged();

    // At 3 sat/vB the change would be 228 sats, below dust: it goes to fee, 744 sats on 141 vB.
    const b = await wallet.bump(sourceOf(t), 3_000n);
    const tx = decode(b.hex);
    expect(b.change).toBeUndefined();
    expect([b.fee, b.estimatedVsize, tx.outs.length]).toEqual([744n, 141, 2]);
    expect(payoutOutputs(b)).toEqual(payoutOutputs(t));
    for (const p of payouts) expect(tx.outs[b.outputs.get(p.id)!]!.value).toBe(p.sats);
    expect(spendLog.entries().find((x) => x.txid === b.txid)?.sats).toBe(20_744n);
    expect((await wallet.broadcast({ transactions: [b], feeRate: b.feeRate }))[0]!.status).toBe("sent");
    expect(node.chain.tx(t.txid)).toBeUndefined();
    node.mine(1);
  });

  it("a source that does not describe the transaction: change pointing at a recipient, inputs missing, not a transaction", async () => {
    const { t, wallet, unchanged } = await stuckBatch();
    const recipient = t.change!.vout === 0 ? 1 : 0;
    const cases: Array<[BumpSource, RegExp]> = [
      [{ ...sourceOf(t), change: { vout: recipient, index: t.change!.index } }, /output \d is not the wallet's change address 1\/\d+/],
      [{ ...sourceOf(t), change: { vout: t.change!.vout, index: t.change!.index + 1 } }, /is not the wallet's change address/],
      [{ ...sourceOf(t), inputs: [] }, /it has 1 input\(s\), but 0 input key\(s\) were given/],
      [{ ...sourceOf(t), inputs: [{ ...t.inputs[0]!, vout: t.inputs[0]!.vout + 1 }] }, /is not among the input keys given/],
      [{ ...sourceOf(t), outputs: new Map([["a", t.change!.vout]]) }, /payout a is said to be output \d, which is not one of its payout outputs/],
      [{ ...sourceOf(t), hex: "zz" }, /not a raw Bitcoin transaction/],
    ];
    for (const [source, why] of cases) {
      const e = await refusal(wallet.bump(source, 10_000n));
      expect(e.code).toBe("cannot-bump");
      expect(e.message).toMatch(why);
      expect(e.message).toMatch(/Nothing was signed\.$/);
    }
    unchanged();
  });

  it("bumps a transaction the node dropped; dropping the bump leaves the original's coins locked", async () => {
    const { t, wallet, spendLog } = await stuckBatch();
    node.chain.evict(t.txid);
    const b = await wallet.bump(sourceOf(t), 5_000n);
    await wallet.abandon({ transactions: [b], feeRate: b.feeRate });
    expect(spendLog.entries().map((e) => e.txid)).toEqual([t.txid]);
    // The coin looks unspent to the chain, but the original (stored, to be resent) still spends it.
    const e = await refusal(wallet.buildBatch([{ id: "c", address: randomAddress("p2wpkh"), sats: 1_000n }], { feeRate: 1_000n }));
    expect(e.code).toBe("insufficient-funds");
    expect((await wallet.rebroadcast(t.hex)).status).toBe("sent");
    node.mine(1);
  });

  it("a transaction whose change a later batch spends: a replacement would evict it", async () => {
    const { t, wallet, spendLog } = await stuckBatch();
    // The only coin left is the unconfirmed change; the next batch spends it.
    const { plan } = await wallet.payBatch([{ id: "next", address: randomAddress("p2pkh"), sats: 5_000n }], { feeRate: 2_000n });
    const next = plan.transactions[0]!;
    expect(next.inputs.map((i) => `${i.txid}:${i.vout}`)).toEqual([`${t.txid}:${t.change!.vout}`]);
    const e = await refusal(wallet.bump(sourceOf(t), 10_000n));
    expect(e.message).toBe(`Cannot fee-bump ${t.txid}: its change is spent by ${next.txid}, which a replacement would evict; bump that one instead. Nothing was signed.`);
    expect(spendLog.entries()).toHaveLength(2);
    // Bumping the later one works, and pulls the first along (its fee counts for both in a miner's eyes).
    const b = await wallet.bump(sourceOf(next), 10_000n);
    expect((await wallet.broadcast({ transactions: [b], feeRate: b.feeRate }))[0]!.status).toBe("sent");
    node.mine(1);
  });
});

describe("planBump", () => {
  const script: WalletScript = "p2wpkh";
  const keys = WalletKeys.fromMnemonic(generateMnemonic(wordlist), { network: "regtest", script });

  /** A signed batch with its change at `changeAt`, funded by a real coin on an in-process chain. */
  function signedBatch(chain: LocalChain, changeAt: number, fund: bigint) {
    const ref = { chain: RECEIVE, index: 0 };
    const o = chain.fund(keys.address(ref), fund);
    chain.mine(1);
    const coin: WalletUtxo = {
      id: `${o.txid}:${o.vout}`,
      txid: o.txid,
      vout: o.vout,
      value: fund,
      inputType: script,
      ref,
      address: keys.address(ref),
      confirmed: true,
    };
    const payouts = validatePayouts(
      ALL_TYPES.map((t, i) => ({ id: `p${i}`, address: randomAddress(t), sats: 5_000n })),
      "regtest",
    );
    const [planned] = planBatch(payouts, {
      keys,
      coins: [coin],
      feeRate: 2_000n,
      longTermFeeRate: 1_000n,
      maxOutputs: 100,
      maxTxSats: 10n ** 8n,
      nextChangeIndex: () => 7,
      tipHeight: chain.tipHeight,
      changePosition: () => changeAt,
    });
    const t = signPlanned(planned!, keys, 2_000n);
    chain.submit(t.hex);
    return t;
  }

  it("keeps the order when the change goes: the payouts after it move down by one, and the node accepts it", () => {
    const chain = new LocalChain("regtest");
    // 5 payouts at 2 sat/vB with change: 293 vB; about 1 000 sats of change will not survive 5 sat/vB.
    const t = signedBatch(chain, 1, 25_000n + 2n * 300n + 1_000n);
    expect(t.change?.vout).toBe(1);
    const p = planBump(sourceOf(t), { keys, feeRate: 5_000n, maxTxSats: 10n ** 8n });
    expect(p.changeDropped).toBe(true);
    expect(p.change).toBeUndefined();
    expect([...p.outputs]).toEqual([...t.outputs].map(([id, vout]) => [id, vout > 1 ? vout - 1 : vout]));
    expect(p.tx.outs.map((o) => o.value)).toEqual(decode(t.hex).outs.filter((_, v) => v !== 1).map((o) => o.value));
    const signed = signPlanned(p, keys, 5_000n);
    chain.submit(signed.hex);
    expect(chain.mempoolTxids).toEqual([signed.txid]);
    // Without the ids, the map is empty; nothing else changes.
    expect(planBump({ ...sourceOf(t), outputs: undefined }, { keys, feeRate: 5_000n, maxTxSats: 10n ** 8n }).outputs.size).toBe(0);
  });

  it("keeps the change where it is when it survives, and refuses a transaction that does not signal", () => {
    const chain = new LocalChain("regtest");
    const t = signedBatch(chain, 0, 100_000n);
    const p = planBump(sourceOf(t), { keys, feeRate: 5_000n, maxTxSats: 10n ** 8n });
    expect(p.change).toMatchObject({ vout: 0, index: 7, address: keys.address({ chain: CHANGE, index: 7 }) });
    expect([...p.outputs]).toEqual([...t.outputs]);
    expect(p.old).toEqual({ txid: t.txid, fee: t.fee, vsize: t.vsize });

    const final = decode(t.hex);
    for (const i of final.ins) i.sequence = 0xfffffffe;
    expect(() => planBump({ ...sourceOf(t), hex: final.toHex() }, { keys, feeRate: 5_000n, maxTxSats: 10n ** 8n })).toThrow(
      /does not signal replaceability \(BIP125\)/,
    );
  });

  it("minReplacementFee: the old fee + 1 sat/vB of the new size, and above the old rate in whole sat/kvB", () => {
    expect(minReplacementFee({ fee: 200n, vsize: 100 }, 100)).toBe(300n);
    expect(minReplacementFee({ fee: 20_000n, vsize: 100 }, 1)).toBe(20_001n);
    // Much larger than the old one: the rate rule decides (2.001 sat/vB on 300 vB; 3.331 for 3.33).
    expect(minReplacementFee({ fee: 200n, vsize: 100 }, 300)).toBe(601n);
    expect(minReplacementFee({ fee: 333n, vsize: 100 }, 300)).toBe(1_000n);
  });
});
