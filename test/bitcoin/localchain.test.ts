import * as bitcoin from "bitcoinjs-lib";
import { parseAddress } from "../../src/bitcoin/address.js";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { TxRejectedError } from "../../src/bitcoin/backend.js";
import { WalletKeys, type KeyRef, type WalletScript } from "../../src/bitcoin/keys.js";
import { LocalChain } from "../../dev/localchain/chain.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { LEGAL, randomAddress } from "./helpers.js";

const script = (a: string) => {
  const p = parseAddress(a, "regtest");
  if (!p.ok) throw new Error(p.reason);
  return p.script;
};

interface Spend {
  keys: WalletKeys;
  inputs: Array<{ ref: KeyRef; txid: string; vout: number; value: bigint }>;
  outputs: Array<{ address?: string; script?: Uint8Array; sats: bigint }>;
  locktime?: number;
  /** nSequence of every input, or of each in turn; 0xfffffffd (signals RBF) by default. */
  sequence?: number | number[];
  /** Change the transaction after signing (to break a signature). */
  tamper?: (tx: bitcoin.Transaction) => void;
}

function build(s: Spend): bitcoin.Transaction {
  const tx = new bitcoin.Transaction();
  tx.version = 2;
  tx.locktime = s.locktime ?? 0;
  s.inputs.forEach((i, n) => {
    const sequence = typeof s.sequence === "number" ? s.sequence : (s.sequence?.[n] ?? 0xfffffffd);
    tx.addInput(Uint8Array.from(Buffer.from(i.txid, "hex")).reverse(), i.vout, sequence);
  });
  for (const o of s.outputs) tx.addOutput(o.script ?? script(o.address!), o.sats);
  const scripts = s.inputs.map((i) => s.keys.outputScript(i.ref));
  const values = s.inputs.map((i) => i.value);
  s.inputs.forEach((input, n) => {
    const h =
      s.keys.script === "p2wpkh"
        ? tx.hashForWitnessV0(n, Uint8Array.from([0x76, 0xa9, 0x14, ...scripts[n]!.subarray(2), 0x88, 0xac]), input.value, 1)
        : tx.hashForWitnessV1(n, scripts, values, 0);
    tx.setWitness(n, s.keys.witness(input.ref, h));
  });
  s.tamper?.(tx);
  return tx;
}

const reject = (chain: LocalChain, tx: bitcoin.Transaction) => {
  try {
    chain.submit(tx.toHex());
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the chain to reject the transaction");
};

describe.each(["p2wpkh", "p2tr"] as WalletScript[])("LocalChain validation (%s inputs)", (walletScript) => {
  const keys = WalletKeys.fromMnemonic(LEGAL, { network: "regtest", script: walletScript });
  const ref0: KeyRef = { chain: 0, index: 0 };
  const ref1: KeyRef = { chain: 0, index: 1 };
  let chain: LocalChain;
  let coin: { txid: string; vout: number; value: bigint; ref: KeyRef };

  beforeEach(() => {
    chain = new LocalChain("regtest");
    const o = chain.fund(keys.address(ref0), 100_000n);
    chain.mine(1);
    coin = { ...o, value: 100_000n, ref: ref0 };
  });

  it("accepts a correctly signed spend and tracks it to a block", () => {
    const tx = build({ keys, inputs: [coin], outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }] });
    expect(chain.submit(tx.toHex())).toBe(tx.getId());
    expect(reject(chain, tx)).toBe("txn-already-in-mempool");
    expect(chain.outspend(coin.txid, coin.vout)).toMatchObject({ txid: tx.getId(), vin: 0 });
    expect(chain.txCounts(keys.outputScript(ref0))).toEqual({ chain: 1, mempool: 1 });
    chain.mine(1);
    expect(chain.tx(tx.getId())?.height).toBe(2);
    expect(reject(chain, tx)).toMatch(/already in block chain/);
  });

  it("evicts a mempool transaction with its descendants: unknown again, its coin unspent, a conflicting spend can confirm", () => {
    const mid = keys.address(ref1);
    const parent = build({ keys, inputs: [coin], outputs: [{ address: mid, sats: 99_000n }] });
    chain.submit(parent.toHex());
    const child = build({ keys, inputs: [{ txid: parent.getId(), vout: 0, value: 99_000n, ref: ref1 }], outputs: [{ address: randomAddress("p2tr"), sats: 98_000n }] });
    chain.submit(child.toHex());
    const before = chain.txCounts(keys.outputScript(ref0));

    expect(chain.evict(parent.getId())).toEqual([child.getId(), parent.getId()]);
    expect(chain.tx(parent.getId())).toBeUndefined();
    expect(chain.tx(child.getId())).toBeUndefined();
    expect(chain.mempoolTxids).toEqual([]);
    expect(chain.outspend(coin.txid, coin.vout)).toBeUndefined();
    expect(chain.utxosOf(keys.outputScript(ref0))).toEqual([{ txid: coin.txid, vout: coin.vout, value: 100_000n, height: 1 }]);
    expect(chain.utxosOf(keys.outputScript(ref1))).toEqual([]);
    expect(chain.txCounts(keys.outputScript(ref0))).toEqual({ chain: before.chain, mempool: 0 });
    expect(chain.txCounts(keys.outputScript(ref1))).toEqual({ chain: 0, mempool: 0 });

    // Someone with the key spends the coin elsewhere, and that spend is mined.
    const conflict = build({ keys, inputs: [coin], outputs: [{ address: randomAddress("p2wpkh"), sats: 95_000n }] });
    chain.submit(conflict.toHex());
    chain.mine(1);
    expect(chain.outspend(coin.txid, coin.vout)).toMatchObject({ txid: conflict.getId(), height: 2 });
    // The evicted transaction is now invalid for good; validation is unchanged.
    expect(reject(chain, parent)).toMatch(/bad-txns-inputs-missingorspent/);
    expect(() => chain.evict(conflict.getId())).toThrow(/not in the mempool/);
    expect(() => chain.evict("ab".repeat(32))).toThrow(/not in the mempool/);
  });

  it("accepts unconfirmed parents (a chain of spends)", () => {
    const parent = build({ keys, inputs: [coin], outputs: [{ address: keys.address(ref1), sats: 99_000n }] });
    chain.submit(parent.toHex());
    const child = build({
      keys,
      inputs: [{ txid: parent.getId(), vout: 0, value: 99_000n, ref: ref1 }],
      outputs: [{ address: randomAddress("p2tr"), sats: 98_000n }],
    });
    expect(chain.submit(child.toHex())).toBe(child.getId());
  });

  it("rejects a signature over different outputs", () => {
    const tx = build({
      keys,
      inputs: [coin],
      outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }],
      tamper: (t) => {
        t.outs[0]!.value = 95_000n;
      },
    });
    expect(reject(chain, tx)).toMatch(/mandatory-script-verify-flag-failed/);
  });

  it("rejects a signature by another key", () => {
    // Sign as if coin belonged to index 1.
    const tx = build({ keys, inputs: [{ ...coin, ref: ref1 }], outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }] });
    expect(reject(chain, tx)).toMatch(walletScript === "p2wpkh" ? /pubkey does not match/ : /Invalid Schnorr signature/);
  });

  it("rejects a corrupted signature and an empty witness", () => {
    const bad = build({
      keys,
      inputs: [coin],
      outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }],
      tamper: (t) => {
        const w = t.ins[0]!.witness.map((x) => Uint8Array.from(x));
        w[0]![10] ^= 1;
        t.setWitness(0, w);
      },
    });
    expect(reject(chain, bad)).toMatch(/mandatory-script-verify-flag-failed/);
    const empty = build({ keys, inputs: [coin], outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }], tamper: (t) => t.setWitness(0, []) });
    expect(reject(chain, empty)).toMatch(/mandatory-script-verify-flag-failed/);
  });

  it("rejects double spends, spent and missing inputs, and duplicate inputs", () => {
    // Not signalling replaceability: the second spend, paying more, still cannot replace it.
    const first = build({ keys, inputs: [coin], sequence: 0xfffffffe, outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }] });
    const second = build({ keys, inputs: [coin], outputs: [{ address: randomAddress("p2wpkh"), sats: 80_000n }] });
    chain.submit(first.toHex());
    expect(reject(chain, second)).toMatch(/txn-mempool-conflict/);
    chain.mine(1);
    expect(reject(chain, second)).toMatch(/bad-txns-inputs-missingorspent/);
    const missing = build({ keys, inputs: [{ ...coin, txid: "ab".repeat(32) }], outputs: [{ address: randomAddress("p2wpkh"), sats: 1_000n }] });
    expect(reject(chain, missing)).toMatch(/bad-txns-inputs-missingorspent/);
    const fresh = chain.fund(keys.address(ref0), 50_000n);
    const dup = build({
      keys,
      inputs: [
        { ...fresh, value: 50_000n, ref: ref0 },
        { ...fresh, value: 50_000n, ref: ref0 },
      ],
      outputs: [{ address: randomAddress("p2wpkh"), sats: 1_000n }],
    });
    expect(reject(chain, dup)).toMatch(/bad-txns-inputs-duplicate/);
  });

  it("rejects dust, non-standard outputs, overspending and fees below 1 sat/vB", () => {
    const out = (sats: bigint, type: "p2pkh" | "p2tr" = "p2pkh") => build({ keys, inputs: [coin], outputs: [{ address: randomAddress(type), sats }] });
    expect(reject(chain, out(545n))).toMatch(/dust \(output 0: 545 sats < 546\)/);
    expect(reject(chain, out(329n, "p2tr"))).toMatch(/dust/);
    expect(reject(chain, out(100_001n))).toMatch(/bad-txns-in-belowout/);
    const tx = out(99_950n); // 50 sats of fee on ~110 vB
    expect(reject(chain, tx)).toMatch(/min relay fee not met, 50 < \d+/);
    const weird = build({ keys, inputs: [coin], outputs: [{ script: Uint8Array.from([0x51]), sats: 90_000n }] });
    expect(reject(chain, weird)).toMatch(/scriptpubkey/);
    // Exactly 1 sat/vB is enough.
    const probe = out(90_000n);
    const fee = BigInt(probe.virtualSize());
    expect(chain.submit(out(100_000n - fee).toHex())).toBeDefined();
  });

  it("rejects transactions that are not final yet", () => {
    const early = build({ keys, inputs: [coin], locktime: chain.tipHeight + 1, outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }] });
    expect(reject(chain, early)).toMatch(/non-final/);
    const now = build({ keys, inputs: [coin], locktime: chain.tipHeight, outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }] });
    expect(chain.submit(now.toHex())).toBe(now.getId());
  });

  it("rejects garbage", () => {
    expect(() => chain.submit("zz")).toThrow(/TX decode failed/);
    expect(() => chain.submit("0200000001")).toThrow(/TX decode failed/);
  });
});

describe.each(["p2wpkh", "p2tr"] as WalletScript[])("LocalChain replacement, BIP125 as Core 24–27 with mempoolfullrbf off (%s inputs)", (walletScript) => {
  const keys = WalletKeys.fromMnemonic(LEGAL, { network: "regtest", script: walletScript });
  const ref0: KeyRef = { chain: 0, index: 0 };
  const ref1: KeyRef = { chain: 0, index: 1 };
  const ref2: KeyRef = { chain: 0, index: 2 };
  type Input = Spend["inputs"][number];
  let chain: LocalChain;
  let coin: Input;

  beforeEach(() => {
    chain = new LocalChain("regtest");
    const o = chain.fund(keys.address(ref0), 100_000n);
    chain.mine(1);
    coin = { ...o, value: 100_000n, ref: ref0 };
  });

  /** Spends `inputs` to `to` (default: a stranger) and `extra`, with a fee of exactly fee(its own signed vsize). */
  function paying(
    inputs: Input[],
    fee: (vsize: number) => bigint,
    opts: { to?: string; extra?: Spend["outputs"]; sequence?: Spend["sequence"] } = {},
  ): bitcoin.Transaction {
    const inValue = inputs.reduce((s, i) => s + i.value, 0n);
    const extra = opts.extra ?? [];
    const rest = inValue - extra.reduce((s, o) => s + o.sats, 0n);
    let want = fee(150);
    // An ECDSA signature is a byte shorter now and then, and the fee changes what is signed: settle on
    // a fee that matches the signed size, varying the locktime and recipient to leave a cycle.
    for (let i = 0; i < 8; i++) {
      const to = opts.to ?? randomAddress("p2wpkh");
      const locktime = i % 2 === 0 ? 0 : chain.tipHeight;
      const tx = build({ keys, inputs, locktime, sequence: opts.sequence, outputs: [{ address: to, sats: rest - want }, ...extra] });
      const exact = fee(tx.virtualSize());
      if (exact === want) return tx;
      want = exact;
    }
    throw new Error("the fee did not settle");
  }
  const feeOf = (tx: bitcoin.Transaction) => chain.tx(tx.getId())!.fee;
  const outputOf = (tx: bitcoin.Transaction, vout: number, ref: KeyRef): Input => ({ txid: tx.getId(), vout, value: tx.outs[vout]!.value, ref });

  it("accepts a replacement paying the old fee + 1 sat/vB of its own size: the old one is gone with its outputs, the replacement confirms", () => {
    const old = paying([coin], () => 10_000n, { to: keys.address(ref1) });
    chain.submit(old.toHex());
    const replacement = paying([coin], (v) => 10_000n + BigInt(v));
    expect(chain.submit(replacement.toHex())).toBe(replacement.getId());
    expect(chain.tx(old.getId())).toBeUndefined();
    expect(chain.mempoolTxids).toEqual([replacement.getId()]);
    expect(chain.outspend(coin.txid, coin.vout)).toMatchObject({ txid: replacement.getId(), vin: 0 });
    expect(chain.utxosOf(keys.outputScript(ref1))).toEqual([]);
    expect(chain.txCounts(keys.outputScript(ref1))).toEqual({ chain: 0, mempool: 0 });
    expect(chain.txCounts(keys.outputScript(ref0))).toEqual({ chain: 1, mempool: 1 });
    chain.mine(1);
    expect(chain.tx(replacement.getId())?.height).toBe(2);
    // Once the replacement is mined, the old one conflicts with a confirmed spend: no replacement of that.
    expect(reject(chain, old)).toMatch(/^bad-txns-inputs-missingorspent/);
  });

  it("refuses to replace a transaction that does not signal, whatever the replacement pays; one signalling input is enough", () => {
    for (const sequence of [0xfffffffe, 0xffffffff]) {
      const old = paying([coin], () => 1_000n, { sequence });
      chain.submit(old.toHex());
      expect(reject(chain, paying([coin], () => 50_000n))).toBe(
        `txn-mempool-conflict (input ${coin.txid}:${coin.vout} already spent by ${old.getId()})`,
      );
      expect(chain.mempoolTxids).toEqual([old.getId()]);
      chain.evict(old.getId());
    }
    const o = chain.fund(keys.address(ref1), 30_000n);
    chain.mine(1);
    const both: Input[] = [coin, { ...o, value: 30_000n, ref: ref1 }];
    const mixed = paying(both, () => 1_000n, { sequence: [0xffffffff, 0xfffffffd] });
    chain.submit(mixed.toHex());
    const replacement = paying(both, (v) => 1_000n + BigInt(v));
    expect(chain.submit(replacement.toHex())).toBe(replacement.getId());
    expect(chain.tx(mixed.getId())).toBeUndefined();
  });

  it("refuses a replacement paying less than the old fee, less than 1 sat/vB more, or at a fee rate not above the old one's", () => {
    // Core checks the fee rate first: the replacements here are smaller than the old one, at higher rates.
    const old = paying([coin], () => 10_000n, { extra: [{ address: randomAddress("p2wsh"), sats: 1_000n }] });
    chain.submit(old.toHex());
    const less = paying([coin], () => 9_000n);
    expect(reject(chain, less)).toBe(`insufficient fee, rejecting replacement ${less.getId()}, less fees than conflicting txs; 0.00009 < 0.0001`);
    const almost = paying([coin], (v) => 10_000n + BigInt(v) - 1n);
    const m = new RegExp(`^insufficient fee, rejecting replacement ${almost.getId()}, not enough additional fees to relay; (0\\.\\d+) < (0\\.\\d+)$`).exec(
      reject(chain, almost),
    );
    const sats = (btc: string) => Math.round(Number(btc) * 1e8);
    expect([sats(m![1]!), sats(m![2]!)]).toEqual([almost.virtualSize() - 1, almost.virtualSize()]);
    expect(chain.mempoolTxids).toEqual([old.getId()]);

    // More sats in all, but spread over a much larger transaction: a lower rate.
    chain.evict(old.getId());
    const cheap = paying([coin], (size) => BigInt(size) * 3n);
    chain.submit(cheap.toHex());
    const extra = Array.from({ length: 10 }, () => ({ address: randomAddress("p2wsh"), sats: 1_000n }));
    const wide = paying([coin], (size) => feeOf(cheap) + BigInt(size) + 10n, { extra });
    expect(feeOf(cheap) * 1000n / BigInt(cheap.virtualSize())).toBe(3000n);
    expect(reject(chain, wide)).toMatch(
      new RegExp(`^insufficient fee, rejecting replacement ${wide.getId()}; new feerate 0\\.0000[12]\\d{3} BTC/kvB <= old feerate 0\\.00003000 BTC/kvB$`),
    );
    expect(chain.mempoolTxids).toEqual([cheap.getId()]);
    expect(chain.outspend(coin.txid, coin.vout)?.txid).toBe(cheap.getId());
  });

  it("evicts the descendants with their parent, and makes the replacement pay for all of them", () => {
    const parent = paying([coin], () => 1_000n, { to: keys.address(ref1) });
    chain.submit(parent.toHex());
    const child = paying([outputOf(parent, 0, ref1)], () => 2_000n, { to: keys.address(ref2) });
    chain.submit(child.toHex());
    const grandchild = paying([outputOf(child, 0, ref2)], () => 1_500n);
    chain.submit(grandchild.toHex());
    const unrelated = chain.fund(randomAddress("p2tr"), 5_000n);

    // Beats the parent alone, not the family: 4 500 sats are at stake.
    const poor = paying([coin], (v) => 1_000n + BigInt(v) * 2n);
    expect(reject(chain, poor)).toMatch(
      new RegExp(`^insufficient fee, rejecting replacement ${poor.getId()}, less fees than conflicting txs; 0\\.0000\\d+ < 0\\.000045$`),
    );
    const almost = paying([coin], (v) => 4_500n + BigInt(v) - 1n);
    expect(reject(chain, almost)).toMatch(/not enough additional fees to relay/);
    expect(chain.mempoolTxids).toEqual([parent.getId(), child.getId(), grandchild.getId(), unrelated.txid]);

    const enough = paying([coin], (v) => 4_500n + BigInt(v));
    expect(chain.submit(enough.toHex())).toBe(enough.getId());
    expect(chain.mempoolTxids).toEqual([unrelated.txid, enough.getId()]);
    for (const gone of [parent, child, grandchild]) expect(chain.tx(gone.getId())).toBeUndefined();
    expect(chain.utxosOf(keys.outputScript(ref1))).toEqual([]);
    expect(chain.utxosOf(keys.outputScript(ref2))).toEqual([]);
    expect(chain.txCounts(keys.outputScript(ref1))).toEqual({ chain: 0, mempool: 0 });
    expect(chain.txCounts(keys.outputScript(ref2))).toEqual({ chain: 0, mempool: 0 });
    chain.mine(1);
    expect(chain.outspend(coin.txid, coin.vout)).toMatchObject({ txid: enough.getId(), height: 2 });
  });

  it("replaces several transactions at once only if each signals, paying for them all", () => {
    const o = chain.fund(keys.address(ref1), 50_000n);
    chain.mine(1);
    const other: Input = { ...o, value: 50_000n, ref: ref1 };
    const a = paying([coin], () => 1_000n);
    const b = paying([other], () => 2_000n, { sequence: 0xfffffffe });
    chain.submit(a.toHex());
    chain.submit(b.toHex());
    const both = paying([coin, other], (v) => 3_000n + BigInt(v));
    expect(reject(chain, both)).toMatch(/^txn-mempool-conflict/);
    chain.evict(b.getId());
    const b2 = paying([other], () => 1_500n);
    chain.submit(b2.toHex());
    const short = paying([coin, other], (v) => 2_500n + BigInt(v) - 1n);
    expect(reject(chain, short)).toMatch(/not enough additional fees to relay/);
    const full = paying([coin, other], (v) => 2_500n + BigInt(v));
    expect(chain.submit(full.toHex())).toBe(full.getId());
    expect(chain.mempoolTxids).toEqual([full.getId()]);
  });

  it("refuses a replacement that spends what it replaces, or adds an unconfirmed input (rule 2)", () => {
    const old = paying([coin], () => 1_000n, { to: keys.address(ref1) });
    chain.submit(old.toHex());
    const circular = paying([coin, outputOf(old, 0, ref1)], () => 20_000n);
    expect(reject(chain, circular)).toBe(`bad-txns-spends-conflicting-tx, ${circular.getId()} spends conflicting transaction ${old.getId()}`);
    const pending = chain.fund(keys.address(ref2), 40_000n);
    const adds = paying([coin, { ...pending, value: 40_000n, ref: ref2 }], () => 20_000n);
    expect(reject(chain, adds)).toBe(`replacement-adds-unconfirmed, replacement ${adds.getId()} adds unconfirmed input, idx 1`);
    chain.mine(1); // the new input is confirmed now, the old transaction too: nothing left to replace
    expect(reject(chain, adds)).toMatch(/^bad-txns-inputs-missingorspent/);
  });

  it("refuses to evict more than 100 transactions (rule 5)", () => {
    let last = paying([coin], () => 500n, { to: keys.address(ref1) });
    chain.submit(last.toHex());
    for (let i = 0; i < 100; i++) {
      last = paying([outputOf(last, 0, ref1)], () => 200n, { to: keys.address(ref1) });
      chain.submit(last.toHex());
    }
    expect(chain.mempoolTxids).toHaveLength(101);
    const big = paying([coin], () => 60_000n);
    expect(reject(chain, big)).toBe(
      `too many potential replacements, rejecting replacement ${big.getId()}; too many potential replacements (101 > 100)`,
    );
    // One fewer in the family and it goes through.
    chain.evict(last.getId());
    expect(chain.submit(big.toHex())).toBe(big.getId());
    expect(chain.mempoolTxids).toEqual([big.getId()]);
  });
});

describe("Local chain over HTTP", () => {
  let node: LocalChainServer;
  beforeAll(async () => {
    node = await startLocalChain();
  });
  afterAll(async () => {
    await node.close();
  });

  it("speaks the Esplora endpoints and the dev endpoints", async () => {
    const keys = WalletKeys.fromMnemonic(LEGAL, { network: "regtest", script: "p2tr" });
    const address = keys.address({ chain: 0, index: 3 });
    const post = (path: string, body: unknown) =>
      fetch(node.url + path, { method: "POST", body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));

    const funded = await post("/regtest/fund", { address, sats: "250000" });
    expect(funded.status).toBe(200);
    const outpoint = JSON.parse(funded.text) as { txid: string; vout: number };
    expect(JSON.parse((await post("/regtest/mine", { blocks: 2 })).text)).toEqual({ height: 2 });
    expect((await post("/regtest/fund", { address: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", sats: 1 })).text).toMatch(/mainnet/);
    expect((await post("/regtest/fee-estimates", { "6": 4.2 })).status).toBe(204);

    const b = new EsploraBackend({ url: node.url, retries: 0 });
    expect(await b.getTipHeight()).toBe(2);
    expect(await b.getFeeEstimates()).toEqual({ "6": 4.2 });
    expect(await b.getUtxos(address)).toEqual([{ txid: outpoint.txid, vout: 0, value: 250_000n, confirmed: true, blockHeight: 1 }]);
    expect(await b.getAddressTxCount(address)).toBe(1);
    expect(await b.getTxStatus(outpoint.txid)).toMatchObject({ confirmed: true, blockHeight: 1 });
    expect(await b.getTxStatus("cd".repeat(32))).toBeUndefined();

    const tx = build({
      keys,
      inputs: [{ ...outpoint, value: 250_000n, ref: { chain: 0, index: 3 } }],
      outputs: [{ address: randomAddress("p2sh"), sats: 200_000n }],
    });
    expect(await b.getOutspend(outpoint.txid, 0)).toEqual({ spent: false });
    expect(await b.broadcast(tx.toHex())).toBe(tx.getId());
    expect(await b.getOutspend(outpoint.txid, 0)).toEqual({ spent: true, txid: tx.getId(), vin: 0, confirmed: false });
    expect(await b.getUtxos(address)).toEqual([]);
    expect(await b.getAddressTxCount(address)).toBe(2);

    // A conflicting spend paying less than the one in the mempool (50 000 sats, 500 sat/vB) is no replacement.
    const again = build({
      keys,
      inputs: [{ ...outpoint, value: 250_000n, ref: { chain: 0, index: 3 } }],
      outputs: [{ address: randomAddress("p2sh"), sats: 210_000n }],
    });
    const err = await b.broadcast(again.toHex()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxRejectedError);
    expect((err as TxRejectedError).reason).toBe(
      `insufficient fee, rejecting replacement ${again.getId()}; new feerate 0.00400000 BTC/kvB <= old feerate 0.00500000 BTC/kvB`,
    );

    // Sending the same transaction again: refused the way Esplora passes on Core's answer.
    const raw = (hex: string) => fetch(`${node.url}/tx`, { method: "POST", body: hex }).then(async (r) => ({ status: r.status, text: await r.text() }));
    expect(await raw(tx.toHex())).toEqual({ status: 400, text: 'sendrawtransaction RPC error: {"code":-26,"message":"txn-already-in-mempool"}' });
    expect(((await b.broadcast(tx.toHex()).catch((e: unknown) => e)) as TxRejectedError).reason).toBe("txn-already-in-mempool");
    await post("/regtest/mine", {});
    expect(await raw(tx.toHex())).toEqual({ status: 400, text: 'sendrawtransaction RPC error: {"code":-27,"message":"Transaction already in block chain"}' });
    expect((await raw("zz")).text).toBe('sendrawtransaction RPC error: {"code":-22,"message":"TX decode failed"}');

    // Evicting over HTTP: a mempool transaction becomes unknown; a mined one cannot be evicted.
    const next = await post("/regtest/fund", { address, sats: "40000" });
    const fundTxid = (JSON.parse(next.text) as { txid: string }).txid;
    expect(JSON.parse((await post(`/regtest/evict/${fundTxid}`, {})).text)).toEqual({ evicted: [fundTxid] });
    expect(await b.getTxStatus(fundTxid)).toBeUndefined();
    const mined = await post(`/regtest/evict/${tx.getId()}`, {});
    expect(mined.status).toBe(404);
    expect(mined.text).toMatch(/not in the mempool/);
  });
});

describe("Local chain: address history and reorganisations over HTTP", () => {
  let node: LocalChainServer;
  beforeEach(async () => {
    node = await startLocalChain();
  });
  afterEach(async () => {
    await node.close();
  });
  const keys = WalletKeys.fromMnemonic(LEGAL, { network: "regtest", script: "p2wpkh" });
  const reorg = (body: unknown) =>
    fetch(`${node.url}/regtest/reorg`, { method: "POST", body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));

  it("lists every transaction of an address in Esplora's pages: mempool first, then the chain newest first, 25 a page", async () => {
    const address = keys.address({ chain: 2, index: 0 });
    const paid: string[] = [];
    for (let i = 0; i < 30; i++) {
      paid.push(node.fund(address, BigInt(1000 + i)).txid);
      node.mine(1);
    }
    const waiting = node.fund(address, 5000n).txid;
    const first = (await (await fetch(`${node.url}/address/${address}/txs`)).json()) as Array<{ txid: string; vout: Array<{ scriptpubkey_address?: string }> }>;
    expect(first).toHaveLength(26);
    expect(first[0]!.txid).toBe(waiting);
    expect(first[1]!.txid).toBe(paid[29]);
    expect(first[0]!.vout[0]!.scriptpubkey_address).toBe(address);

    const b = new EsploraBackend({ url: node.url, retries: 0 });
    const all = await b.getAddressTxs(address);
    expect(all.map((t) => t.txid)).toEqual([waiting, ...[...paid].reverse()]);
    expect(all[0]).toEqual({ txid: waiting, confirmed: false, outputs: [{ vout: 0, address, value: 5000n }] });
    expect(all[1]).toMatchObject({ confirmed: true, blockHeight: 30 });
    expect(all.at(-1)).toMatchObject({ txid: paid[0], blockHeight: 1 });
  });

  it("disconnects blocks back to the mempool, and drops named transactions with their descendants", async () => {
    const address = keys.address({ chain: 0, index: 1 });
    const a = node.fund(address, 100_000n);
    const kept = node.fund(keys.address({ chain: 0, index: 2 }), 70_000n);
    node.mine(1);
    const child = build({ keys, inputs: [{ ...a, value: 100_000n, ref: { chain: 0, index: 1 } }], outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }] });
    node.chain.submit(child.toHex());
    node.mine(2);
    expect(node.chain.tipHeight).toBe(3);

    expect(await reorg({ blocks: 4 })).toMatchObject({ status: 400 });
    expect(await reorg({ blocks: 1, drop: ["zz"] })).toMatchObject({ status: 400 });
    // A transaction still confirmed below the disconnected blocks cannot be dropped.
    expect((await reorg({ blocks: 1, drop: [a.txid] })).status).toBe(400);

    // Refused without changing anything.
    expect(node.chain.tipHeight).toBe(3);

    const r = await reorg({ blocks: 3, drop: [a.txid] });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ height: 0, dropped: [child.getId(), a.txid] });
    const b = new EsploraBackend({ url: node.url, retries: 0 });
    expect(await b.getTxStatus(a.txid)).toBeUndefined();
    expect(await b.getTxStatus(child.getId())).toBeUndefined();
    expect(await b.getAddressTxs(address)).toEqual([]);
    expect(await b.getUtxos(address)).toEqual([]);
    expect(await b.getTxStatus(kept.txid)).toMatchObject({ confirmed: false });
    expect(await b.getTipHeight()).toBe(0);
  });

  it("puts disconnected transactions back in the mempool when nothing is dropped, to be mined again", async () => {
    const address = keys.address({ chain: 0, index: 4 });
    const a = node.fund(address, 50_000n);
    node.mine(2);
    expect(JSON.parse((await reorg({ blocks: 2 })).text)).toEqual({ height: 0, dropped: [] });
    const b = new EsploraBackend({ url: node.url, retries: 0 });
    expect(await b.getUtxos(address)).toEqual([{ txid: a.txid, vout: 0, value: 50_000n, confirmed: false }]);
    expect(node.chain.mempoolTxids).toEqual([a.txid]);
    node.mine(1);
    expect(await b.getTxStatus(a.txid)).toMatchObject({ confirmed: true, blockHeight: 1 });
  });
});
