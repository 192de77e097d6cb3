import * as bitcoin from "bitcoinjs-lib";
import { parseAddress } from "../../src/bitcoin/address.js";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { TxRejectedError } from "../../src/bitcoin/backend.js";
import { WalletKeys, type KeyRef, type WalletScript } from "../../src/bitcoin/keys.js";
import { LocalChain } from "../../src/bitcoin/localchain/chain.js";
import { startLocalChain, type LocalChainServer } from "../../src/bitcoin/localchain/server.js";
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
  sequence?: number;
  /** Change the transaction after signing (to break a signature). */
  tamper?: (tx: bitcoin.Transaction) => void;
}

function build(s: Spend): bitcoin.Transaction {
  const tx = new bitcoin.Transaction();
  tx.version = 2;
  tx.locktime = s.locktime ?? 0;
  for (const i of s.inputs) tx.addInput(Uint8Array.from(Buffer.from(i.txid, "hex")).reverse(), i.vout, s.sequence ?? 0xfffffffd);
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
    const first = build({ keys, inputs: [coin], outputs: [{ address: randomAddress("p2wpkh"), sats: 90_000n }] });
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

    const again = build({
      keys,
      inputs: [{ ...outpoint, value: 250_000n, ref: { chain: 0, index: 3 } }],
      outputs: [{ address: randomAddress("p2sh"), sats: 100_000n }],
    });
    const err = await b.broadcast(again.toHex()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxRejectedError);
    expect((err as TxRejectedError).reason).toMatch(/txn-mempool-conflict/);

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
