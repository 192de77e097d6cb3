import * as bitcoin from "bitcoinjs-lib";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { ChainUnavailableError, TxRejectedError, type ChainBackend } from "../../src/bitcoin/backend.js";
import { parseAddress } from "../../src/bitcoin/address.js";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { WalletKeys, RECEIVE, CHANGE } from "../../src/bitcoin/keys.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { MemorySpendLog, MemoryWalletState } from "../../src/bitcoin/state.js";
import { PayoutWallet, PayoutError, txidOf, type Payout } from "../../src/bitcoin/wallet.js";
import { ALL_TYPES, LEGAL, randomAddress, testConfig } from "./helpers.js";
import type { WalletConfig } from "../../src/bitcoin/config.js";
import pino from "pino";

const silent = pino({ level: "silent" });
let node: LocalChainServer;

beforeAll(async () => {
  node = await startLocalChain({ network: "regtest" });
});
afterAll(async () => {
  await node.close();
});

async function openWallet(overrides: Partial<WalletConfig> & { mnemonicText?: string } = {}) {
  const config = testConfig({ esploraUrl: node.url, ...overrides });
  const backend = new EsploraBackend({ url: node.url, retries: 1, backoffMs: 5 });
  const state = new MemoryWalletState();
  const spendLog = new MemorySpendLog();
  const wallet = await PayoutWallet.open({ config, backend, state, spendLog, logger: silent });
  return { wallet, state, spendLog, backend, config };
}

/** The backend's methods bound to it, so one can be swapped. */
function bind(b: EsploraBackend) {
  return {
    getUtxos: b.getUtxos.bind(b),
    getAddressTxCount: b.getAddressTxCount.bind(b),
    getAddressTxs: b.getAddressTxs.bind(b),
    getFeeEstimates: b.getFeeEstimates.bind(b),
    broadcast: b.broadcast.bind(b),
    getTxStatus: b.getTxStatus.bind(b),
    getOutspend: b.getOutspend.bind(b),
    getTipHeight: b.getTipHeight.bind(b),
  };
}

function scriptHex(address: string) {
  const p = parseAddress(address, "regtest");
  if (!p.ok) throw new Error(p.reason);
  return Buffer.from(p.script).toString("hex");
}

describe.each(["p2wpkh", "p2tr"] as const)("PayoutWallet (%s) against the local chain over HTTP", (script) => {
  // Each wallet type gets its own mnemonic-derived account; LEGAL keeps them apart from other suites.
  const mnemonicText = LEGAL;

  it("pays a batch to every address type, the chain accepts it and the change comes back", async () => {
    const { wallet, spendLog } = await openWallet({ script, mnemonicText });
    const funding = await wallet.receiveAddress();
    node.fund(funding, 300_000n);
    node.fund(await wallet.receiveAddress(), 150_000n);
    node.mine(1);

    const before = await wallet.sync();
    expect(before.confirmedSats).toBe(450_000n);

    const payouts: Payout[] = ALL_TYPES.flatMap((t, i) => [
      { id: `pr-${t}-a`, address: randomAddress(t), sats: 10_000n + BigInt(i) },
      { id: `pr-${t}-b`, address: randomAddress(t), sats: 20_000n + BigInt(i) },
    ]);
    const { plan, outcomes } = await wallet.payBatch(payouts, { feeRate: 5_000n });
    expect(outcomes).toEqual([{ txid: plan.transactions[0]!.txid, status: "sent" }]);
    expect(plan.transactions).toHaveLength(1);
    const t = plan.transactions[0]!;

    // The payout map points at the right outputs.
    const tx = bitcoin.Transaction.fromHex(t.hex);
    expect(tx.ins.every((i) => i.sequence === 0xfffffffd)).toBe(true); // RBF
    for (const p of payouts) {
      const vout = t.outputs.get(p.id)!;
      expect(BigInt(tx.outs[vout]!.value)).toBe(p.sats);
      expect(Buffer.from(tx.outs[vout]!.script).toString("hex")).toBe(scriptHex(p.address));
    }
    // Fee and size: the estimate holds and the rate is met.
    expect(t.vsize).toBeLessThanOrEqual(t.estimatedVsize);
    expect(t.estimatedVsize - t.vsize).toBeLessThanOrEqual(tx.ins.length);
    expect(t.fee * 1000n).toBeGreaterThanOrEqual(5_000n * BigInt(t.vsize));
    const inSum = t.inputs.reduce((s, i) => s + i.sats, 0n);
    const outSum = tx.outs.reduce((s, o) => s + BigInt(o.value), 0n);
    expect(inSum - outSum).toBe(t.fee);

    // The node has it; mining confirms it.
    expect(node.chain.mempoolTxids).toContain(t.txid);
    expect(await wallet.confirmations(t.txid)).toBe(0);
    node.mine(1);
    expect(await wallet.confirmations(t.txid)).toBe(1);
    expect(await wallet.confirmations("ef".repeat(32))).toBeUndefined();
    const status = await new EsploraBackend({ url: node.url }).getTxStatus(t.txid);
    expect(status?.confirmed).toBe(true);

    // The change is back in the wallet, on a fresh change address.
    expect(t.change).toBeDefined();
    const keys = WalletKeys.fromMnemonic(mnemonicText, { network: "regtest", script });
    expect(t.change!.address).toBe(keys.address({ chain: CHANGE, index: t.change!.index }));
    const after = await wallet.sync();
    const changeCoin = after.utxos.find((u) => u.txid === t.txid);
    expect(changeCoin?.value).toBe(t.change!.sats);
    expect(changeCoin?.ref).toEqual({ chain: CHANGE, index: t.change!.index });
    expect(after.confirmedSats).toBe(before.confirmedSats - t.spentSats);
    expect(await spendLog.spentOn(new Date().toISOString().slice(0, 10))).toBe(t.spentSats);

    // A second batch uses another fresh change address, spending the change if needed.
    const second = await wallet.payBatch(
      [{ id: "again", address: randomAddress("p2wpkh"), sats: 250_000n }],
      { feeRate: 2_000n },
    );
    expect(second.outcomes[0]!.status).toBe("sent");
    const c2 = second.plan.transactions[0]!.change;
    expect(c2).toBeDefined();
    expect(c2!.index).toBeGreaterThan(t.change!.index);
    node.mine(1);
  });
});

describe("PayoutWallet rules", () => {
  it("refuses invalid payouts and dust, with a reason per payout, and signs nothing", async () => {
    const { wallet } = await openWallet({ mnemonicText: "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong" });
    node.fund(await wallet.receiveAddress(), 100_000n);
    node.mine(1);
    const mempool = node.chain.mempoolTxids.length;
    const err = await wallet
      .buildBatch([
        { id: "ok", address: randomAddress("p2wpkh"), sats: 5_000n },
        { id: "mainnet", address: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", sats: 5_000n },
        { id: "dust", address: randomAddress("p2pkh"), sats: 545n },
        { id: "dust-tr", address: randomAddress("p2tr"), sats: 329n },
        { id: "ok", address: randomAddress("p2wpkh"), sats: 5_000n },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayoutError);
    const pe = err as PayoutError;
    expect(pe.code).toBe("invalid-payout");
    expect(pe.problems.map((p) => p.payoutId).sort()).toEqual(["dust", "dust-tr", "mainnet", "ok"]);
    expect(pe.problems.find((p) => p.payoutId === "dust")!.reason).toMatch(/below the dust limit of 546/);
    expect(pe.problems.find((p) => p.payoutId === "mainnet")!.reason).toMatch(/mainnet/);
    expect(node.chain.mempoolTxids.length).toBe(mempool);
  });

  it("accepts payouts exactly at the dust limit of each type", async () => {
    const { wallet } = await openWallet({ mnemonicText: "letter advice cage absurd amount doctor acoustic avoid letter advice cage above" });
    node.fund(await wallet.receiveAddress(), 100_000n);
    node.mine(1);
    const { outcomes } = await wallet.payBatch(
      [
        { id: "a", address: randomAddress("p2pkh"), sats: 546n },
        { id: "b", address: randomAddress("p2sh"), sats: 540n },
        { id: "c", address: randomAddress("p2wpkh"), sats: 294n },
        { id: "d", address: randomAddress("p2wsh"), sats: 330n },
        { id: "e", address: randomAddress("p2tr"), sats: 330n },
      ],
      { feeRate: 1_000n },
    );
    expect(outcomes[0]!.status).toBe("sent");
    node.mine(1);
  });

  it("enforces PAYOUT_MAX_TX_SATS and PAYOUT_DAILY_CAP_SATS inside the engine", async () => {
    const mnemonicText = "all hour make first leader extend hole alien behind guard gospel lava path output census museum junior mass reopen famous sing advance salt reform";
    const { wallet, spendLog } = await openWallet({ mnemonicText, maxTxSats: 60_000n, dailyCapSats: 100_000n });
    node.fund(await wallet.receiveAddress(), 500_000n);
    node.mine(1);
    const mempool = node.chain.mempoolTxids.length;

    const overTx = await wallet.buildBatch([{ id: "big", address: randomAddress("p2wpkh"), sats: 59_990n }], { feeRate: 2_000n }).catch((e: unknown) => e);
    expect(overTx).toBeInstanceOf(PayoutError);
    expect((overTx as PayoutError).code).toBe("over-tx-cap");
    expect((overTx as PayoutError).message).toMatch(/PAYOUT_MAX_TX_SATS of 60000.*Nothing was signed/);

    const first = await wallet.payBatch([{ id: "one", address: randomAddress("p2wpkh"), sats: 50_000n }], { feeRate: 2_000n });
    expect(first.outcomes[0]!.status).toBe("sent");
    const afterFirst = node.chain.mempoolTxids.length;
    expect(afterFirst).toBe(mempool + 1);

    const overDay = await wallet.buildBatch([{ id: "two", address: randomAddress("p2wpkh"), sats: 50_000n }], { feeRate: 2_000n }).catch((e: unknown) => e);
    expect(overDay).toBeInstanceOf(PayoutError);
    expect((overDay as PayoutError).code).toBe("over-daily-cap");
    expect((overDay as PayoutError).message).toMatch(/PAYOUT_DAILY_CAP_SATS/);
    expect(node.chain.mempoolTxids.length).toBe(afterFirst);
    expect((spendLog as MemorySpendLog).entries()).toHaveLength(1);
    node.mine(1);
  });

  it("sends a payout approved above PAYOUT_MAX_TX_SATS alone, for exactly the sats approved, still within PAYOUT_DAILY_CAP_SATS", async () => {
    const { wallet, spendLog } = await openWallet({ mnemonicText: generateMnemonic(wordlist), maxTxSats: 60_000n, dailyCapSats: 200_000n });
    node.fund(await wallet.receiveAddress(), 500_000n);
    node.mine(1);
    const [big, small] = [randomAddress("p2wpkh"), randomAddress("p2wpkh")];
    const batch: Payout[] = [
      { id: "big", address: big, sats: 90_000n },
      { id: "small", address: small, sats: 10_000n },
    ];
    const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as PayoutError);

    // Without an approval, or with one for another amount, nothing is signed.
    expect((await refusal(wallet.buildBatch(batch, { feeRate: 2_000n })))?.code).toBe("over-tx-cap");
    const wrong = await refusal(wallet.buildBatch(batch, { feeRate: 2_000n, overTxCap: new Map([["big", 80_000n]]) }));
    expect(wrong?.code).toBe("not-allowed");
    expect(wrong?.message).toMatch(/approved above PAYOUT_MAX_TX_SATS for 80000 sats, not 90000/);
    // Approved for one payout only: another over the cap beside it is still refused.
    const other = await refusal(
      wallet.buildBatch([...batch, { id: "big2", address: randomAddress("p2wpkh"), sats: 70_000n }], { feeRate: 2_000n, overTxCap: new Map([["big", 90_000n]]) }),
    );
    expect(other?.code).toBe("over-tx-cap");
    // Still within the daily cap.
    const overDay = await refusal(
      wallet.buildBatch([{ id: "huge", address: big, sats: 210_000n }], { feeRate: 2_000n, overTxCap: new Map([["huge", 210_000n]]) }),
    );
    expect(overDay?.code).toBe("over-daily-cap");
    expect(spendLog.entries()).toEqual([]);

    // The planner answers as buildBatch does, and reserves nothing.
    const planner = await wallet.planner();
    expect(planner.check(batch)).toMatchObject({ ok: false, error: { code: "over-tx-cap" } });
    expect(planner.check(batch, { overTxCap: new Map([["big", 90_000n]]) })).toMatchObject({ ok: true });
    expect(spendLog.entries()).toEqual([]);

    const { plan, outcomes } = await wallet.payBatch(batch, { feeRate: 2_000n, overTxCap: new Map([["big", 90_000n]]) });
    expect(outcomes.map((o) => o.status)).toEqual(["sent", "sent"]);
    const alone = plan.transactions.find((t) => t.outputs.has("big"))!;
    expect([...alone.outputs.keys()]).toEqual(["big"]);
    expect(alone.spentSats).toBeGreaterThan(60_000n);
    const rest = plan.transactions.find((t) => t.outputs.has("small"))!;
    expect([...rest.outputs.keys()]).toEqual(["small"]);
    expect(rest.spentSats).toBeLessThanOrEqual(60_000n);
    expect(spendLog.entries().map((e) => e.payoutIds)).toEqual(expect.arrayContaining([["big"], ["small"]]));
    node.mine(1);
  });

  it("splits a batch only past PAYOUT_MAX_OUTPUTS", async () => {
    const { wallet } = await openWallet({
      mnemonicText: "panda eyebrow bullet gorilla call smoke muffin taste mesh discover soft ostrich alcohol speed nation flash devote level hobby quick inner drive ghost inside",
      maxOutputs: 4,
    });
    node.fund(await wallet.receiveAddress(), 200_000n);
    node.fund(await wallet.receiveAddress(), 200_000n);
    node.mine(1);
    const payouts = Array.from({ length: 9 }, (_, i) => ({ id: `p${i}`, address: randomAddress(ALL_TYPES[i % 5]!), sats: 10_000n }));
    const { plan, outcomes } = await wallet.payBatch(payouts, { feeRate: 1_000n });
    expect(plan.transactions.map((t) => t.outputs.size)).toEqual([4, 4, 1]);
    expect(outcomes.every((o) => o.status === "sent")).toBe(true);
    const allIds = plan.transactions.flatMap((t) => [...t.outputs.keys()]);
    expect(allIds.sort()).toEqual(payouts.map((p) => p.id).sort());
    const changeIdx = plan.transactions.filter((t) => t.change).map((t) => t.change!.index);
    expect(new Set(changeIdx).size).toBe(changeIdx.length);
    node.mine(1);
  });

  it("releases the daily cap and the coins when the network rejects a batch, or when a plan is abandoned", async () => {
    const mnemonicText = "humor cement object similar used rich clinic fever huge ribbon catch hour";
    const { wallet, spendLog } = await openWallet({ mnemonicText, dailyCapSats: 100_000n });
    const keys = WalletKeys.fromMnemonic(mnemonicText, { network: "regtest", script: "p2wpkh" });
    const addr = await wallet.receiveAddress();
    const coin = node.fund(addr, 90_000n);
    node.mine(1);
    const log = spendLog as MemorySpendLog;

    // Abandon: the reservation goes, and the same coin can be planned again.
    const plan = await wallet.buildBatch([{ id: "a", address: randomAddress("p2wpkh"), sats: 80_000n }], { feeRate: 1_000n });
    expect(log.entries()).toHaveLength(1);
    await wallet.abandon(plan);
    expect(log.entries()).toHaveLength(0);
    const plan2 = await wallet.buildBatch([{ id: "a", address: randomAddress("p2wpkh"), sats: 80_000n }], { feeRate: 1_000n });
    expect(plan2.transactions[0]!.inputs).toEqual([{ txid: coin.txid, vout: coin.vout, sats: 90_000n, chain: RECEIVE, index: 0 }]);

    // Someone else spends the coin first (same key, as if the mnemonic were used elsewhere).
    const other = new bitcoin.Transaction();
    other.version = 2;
    other.addInput(Uint8Array.from(Buffer.from(coin.txid, "hex")).reverse(), coin.vout);
    other.addOutput(bitcoin.address.toOutputScript(randomAddress("p2wpkh"), bitcoin.networks.regtest), 89_000n);
    const ref = { chain: 0 as const, index: 0 };
    const program = keys.outputScript(ref).subarray(2);
    const h = other.hashForWitnessV0(0, Uint8Array.from([0x76, 0xa9, 0x14, ...program, 0x88, 0xac]), 90_000n, 1);
    other.setWitness(0, keys.witness(ref, h));
    node.chain.submit(other.toHex());

    const outcomes = await wallet.broadcast(plan2);
    expect(outcomes).toEqual([{ txid: plan2.transactions[0]!.txid, status: "rejected", reason: expect.stringMatching(/txn-mempool-conflict/) }]);
    expect(log.entries()).toHaveLength(0);
    node.mine(1);
  });

  it("reports an unreachable node as 'unknown' and keeps the cap reserved (the batch may have gone out)", async () => {
    const { wallet, spendLog, backend } = await openWallet({ mnemonicText: "kiwi acquire security left champion peasant royal sheriff absent calm alert letter" });
    node.fund(await wallet.receiveAddress(), 50_000n);
    node.mine(1);
    const plan = await wallet.buildBatch([{ id: "u", address: randomAddress("p2tr"), sats: 10_000n }], { feeRate: 1_000n });
    // Same engine, but the node goes away before the broadcast.
    const down = new EsploraBackend({ url: "http://127.0.0.1:1", retries: 1, backoffMs: 1 });
    const offline = await PayoutWallet.open({
      config: testConfig({ esploraUrl: node.url, mnemonicText: "kiwi acquire security left champion peasant royal sheriff absent calm alert letter" }),
      backend: { ...bind(backend), broadcast: (hex: string) => down.broadcast(hex) },
      state: new MemoryWalletState(),
      spendLog,
      logger: silent,
    });
    const outcomes = await offline.broadcast(plan);
    expect(outcomes[0]).toMatchObject({ status: "unknown", reason: expect.stringMatching(/unavailable/) });
    expect((spendLog as MemorySpendLog).entries()).toHaveLength(1);
    // Resending once the node is back is safe and succeeds.
    expect((await wallet.broadcast(plan))[0]!.status).toBe("sent");
    node.mine(1);
  });

  it("reports insufficient funds clearly", async () => {
    const { wallet } = await openWallet({ mnemonicText: "void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group space point ten exist slush involve unfold" });
    node.fund(await wallet.receiveAddress(), 10_000n);
    node.mine(1);
    const err = await wallet.buildBatch([{ id: "x", address: randomAddress("p2wpkh"), sats: 20_000n }], { feeRate: 1_000n }).catch((e: unknown) => e);
    expect((err as PayoutError).code).toBe("insufficient-funds");
    expect((err as Error).message).toMatch(/cannot fund this batch/);
  });

  it("finds coins across the gap limit and never reuses a change address", async () => {
    const mnemonicText = "scheme spot photo card baby mountain device kick cradle pact join borrow";
    const keys = WalletKeys.fromMnemonic(mnemonicText, { network: "regtest", script: "p2wpkh" });
    // Used addresses at 0 and 19, then one at 35: within 20 of the last used one each time.
    node.fund(keys.address({ chain: RECEIVE, index: 0 }), 40_000n);
    node.fund(keys.address({ chain: RECEIVE, index: 19 }), 50_000n);
    node.fund(keys.address({ chain: RECEIVE, index: 35 }), 60_000n);
    // Beyond the gap: a standard wallet would not see it either.
    node.fund(keys.address({ chain: RECEIVE, index: 80 }), 70_000n);
    node.mine(1);
    const { wallet } = await openWallet({ mnemonicText });
    const snap = await wallet.sync();
    expect(snap.confirmedSats).toBe(150_000n);
    expect(snap.firstUnused.receive).toBe(36);

    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { plan } = await wallet.payBatch([{ id: `g${i}`, address: randomAddress("p2tr"), sats: 5_000n }], { feeRate: 1_000n });
      const change = plan.transactions[0]!.change!;
      expect(seen.has(change.address)).toBe(false);
      seen.add(change.address);
      node.mine(1);
    }
    // The receive address handed out next is fresh too.
    const r = await wallet.receiveAddress();
    expect(r).toBe(keys.address({ chain: RECEIVE, index: 36 }));
    expect(await wallet.receiveAddress()).toBe(keys.address({ chain: RECEIVE, index: 37 }));
  });

  it("uses the backend's fee estimate for the target, clamped to FEE_MAX_SAT_VB", async () => {
    const { wallet } = await openWallet({ feeTargetBlocks: 6, maxFeeRate: 50_000n });
    node.chain.feeEstimates = { "1": 300, "3": 120, "6": 33.3, "144": 2 };
    expect(await wallet.feeRate()).toBe(33_300n);
    node.chain.feeEstimates = { "1": 900, "6": 400 };
    expect(await wallet.feeRate()).toBe(50_000n);
    node.chain.feeEstimates = { "6": 0.5 };
    expect(await wallet.feeRate()).toBe(1_000n);
    node.chain.feeEstimates = { "1": 20, "3": 12, "6": 8 };
  });

  it("refuses mainnet unless it was chosen explicitly", async () => {
    const err = await PayoutWallet.open({
      config: testConfig({ network: "bitcoin", mainnetConfirmed: false }),
      backend: new EsploraBackend({ url: node.url }),
      state: new MemoryWalletState(),
      spendLog: new MemorySpendLog(),
      logger: silent,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/BITCOIN_NETWORK=bitcoin/);
  });

  it("refuses a mnemonic with a bad checksum without echoing it", async () => {
    const bad = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon";
    const err = await PayoutWallet.open({
      config: testConfig({ mnemonicText: bad }),
      backend: new EsploraBackend({ url: node.url }),
      state: new MemoryWalletState(),
      spendLog: new MemorySpendLog(),
      logger: silent,
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe("InvalidMnemonicError");
    expect(String((err as Error).message)).not.toMatch(/abandon/);
  });
});

describe("PayoutWallet: what the payout run needs after a restart", () => {
  const fresh = () => generateMnemonic(wordlist);
  const today = () => new Date().toISOString().slice(0, 10);
  const evict = async (txid: string) => {
    const res = await fetch(`${node.url}/regtest/evict/${txid}`, { method: "POST" });
    expect(res.status).toBe(200);
  };
  /** The same wallet with some backend calls replaced. */
  async function withBackend(mnemonicText: string, patch: Partial<ChainBackend>, spendLog = new MemorySpendLog()) {
    const backend = new EsploraBackend({ url: node.url, retries: 0, backoffMs: 1 });
    return PayoutWallet.open({
      config: testConfig({ esploraUrl: node.url, mnemonicText }),
      backend: { ...bind(backend), ...patch },
      state: new MemoryWalletState(),
      spendLog,
      logger: silent,
    });
  }

  it("buildBatch never spends excluded outpoints, which a restarted wallet would otherwise pick", async () => {
    const mnemonicText = fresh();
    const { wallet } = await openWallet({ mnemonicText });
    const a = node.fund(await wallet.receiveAddress(), 60_000n);
    const b = node.fund(await wallet.receiveAddress(), 50_000n);
    node.mine(1);
    const pay = [{ id: "x", address: randomAddress("p2wpkh"), sats: 40_000n }];

    // Signed and stored, not broadcast yet; then the process restarts.
    const before = await wallet.buildBatch(pay, { feeRate: 1_000n });
    const stored = before.transactions[0]!.inputs.map((i) => `${i.txid}:${i.vout}`);
    const restarted = (await openWallet({ mnemonicText })).wallet;
    const naive = await restarted.buildBatch(pay, { feeRate: 1_000n });
    expect(naive.transactions[0]!.inputs.map((i) => `${i.txid}:${i.vout}`)).toEqual(stored); // would conflict
    await restarted.abandon(naive);

    const again = (await openWallet({ mnemonicText })).wallet;
    const plan = await again.buildBatch(pay, { feeRate: 1_000n, exclude: stored });
    const used = plan.transactions[0]!.inputs.map((i) => `${i.txid}:${i.vout}`);
    expect(used.some((u) => stored.includes(u))).toBe(false);
    await again.abandon(plan);

    const none = await again
      .buildBatch(pay, { feeRate: 1_000n, exclude: new Set([`${a.txid}:${a.vout}`, `${b.txid}:${b.vout}`]) })
      .catch((e: unknown) => e);
    expect((none as PayoutError).code).toBe("insufficient-funds");
  });

  it("rebroadcast: a transaction the node already has counts as sent, in the mempool or mined; the daily cap is untouched", async () => {
    const { wallet, spendLog } = await openWallet({ mnemonicText: fresh() });
    node.fund(await wallet.receiveAddress(), 80_000n);
    node.mine(1);
    const { plan } = await wallet.payBatch([{ id: "r", address: randomAddress("p2tr"), sats: 30_000n }], { feeRate: 2_000n });
    const t = plan.transactions[0]!;
    const log = spendLog as MemorySpendLog;
    const reserved = log.entries();
    expect(reserved).toHaveLength(1);

    // The node answers 400 txn-already-in-mempool, then "already in block chain".
    expect(await wallet.rebroadcast(t.hex)).toEqual({ txid: t.txid, status: "sent" });
    node.mine(1);
    expect(await wallet.rebroadcast(t.hex)).toEqual({ txid: t.txid, status: "sent" });
    expect(log.entries()).toEqual(reserved);
    expect(await spendLog.spentOn(today())).toBe(t.spentSats);
  });

  it("rebroadcast puts a dropped transaction back, unchanged", async () => {
    const { wallet, spendLog } = await openWallet({ mnemonicText: fresh() });
    node.fund(await wallet.receiveAddress(), 80_000n);
    node.mine(1);
    const { plan } = await wallet.payBatch([{ id: "d", address: randomAddress("p2wpkh"), sats: 30_000n }], { feeRate: 2_000n });
    const t = plan.transactions[0]!;
    await evict(t.txid);
    expect(node.chain.tx(t.txid)).toBeUndefined();
    expect(await wallet.inspect(t.txid, t.inputs.map((i) => `${i.txid}:${i.vout}`))).toEqual({ state: "unknown" });
    expect(await wallet.rebroadcast(t.hex)).toEqual({ txid: t.txid, status: "sent" });
    expect(node.chain.tx(t.txid)?.hex).toBe(t.hex);
    expect(await wallet.inspect(t.txid, [])).toEqual({ state: "mempool" });
    expect((spendLog as MemorySpendLog).entries()).toHaveLength(1);
    node.mine(1);
  });

  it("rebroadcast reads every wording of 'already known', and 'inputs spent' only as sent when the transaction itself is mined", async () => {
    const mnemonicText = fresh();
    const { wallet } = await openWallet({ mnemonicText });
    node.fund(await wallet.receiveAddress(), 80_000n);
    node.mine(1);
    const { plan } = await wallet.payBatch([{ id: "w", address: randomAddress("p2sh"), sats: 30_000n }], { feeRate: 2_000n });
    const mined = plan.transactions[0]!;
    node.mine(1);
    const refusing = (reason: string) => async () => {
      throw new TxRejectedError(reason);
    };
    const spendLog = new MemorySpendLog();
    for (const reason of ["txn-already-known", "txn-already-in-mempool", "Transaction already in block chain", "Transaction outputs already in utxo set"]) {
      const w = await withBackend(mnemonicText, { broadcast: refusing(reason) }, spendLog);
      expect(await w.rebroadcast(mined.hex)).toEqual({ txid: mined.txid, status: "sent" });
    }
    const spent = await withBackend(mnemonicText, { broadcast: refusing("bad-txns-inputs-missingorspent") }, spendLog);
    expect(await spent.rebroadcast(mined.hex)).toEqual({ txid: mined.txid, status: "sent" });

    // The same answer for a transaction the backend does not know: its coins went elsewhere.
    const other = new bitcoin.Transaction();
    other.version = 2;
    other.addInput(Buffer.alloc(32, 7), 0);
    other.addOutput(bitcoin.address.toOutputScript(randomAddress("p2wpkh"), bitcoin.networks.regtest), 1_000n);
    expect(await spent.rebroadcast(other.toHex())).toEqual({ txid: other.getId(), status: "rejected", reason: "bad-txns-inputs-missingorspent" });
    // Cannot tell: the status check fails too.
    const blind = await withBackend(mnemonicText, {
      broadcast: refusing("bad-txns-inputs-missingorspent"),
      getTxStatus: async () => {
        throw new ChainUnavailableError("down");
      },
    });
    expect(await blind.rebroadcast(mined.hex)).toMatchObject({ status: "unknown", reason: expect.stringMatching(/down/) });
    const down = await withBackend(mnemonicText, { broadcast: async () => Promise.reject(new ChainUnavailableError("Esplora is unavailable")) });
    expect(await down.rebroadcast(mined.hex)).toMatchObject({ txid: mined.txid, status: "unknown" });
    expect(spendLog.entries()).toEqual([]);
    await expect(wallet.rebroadcast("not a transaction")).rejects.toThrow(TypeError);
  });

  it("the first broadcast also reads 'already in mempool' as sent: a retried POST keeps its cap reservation", async () => {
    const mnemonicText = fresh();
    const spendLog = new MemorySpendLog();
    const backend = new EsploraBackend({ url: node.url, retries: 0 });
    // The first POST arrives but its answer is lost; the retry is refused as a duplicate.
    const w = await withBackend(
      mnemonicText,
      {
        broadcast: async (hex: string) => {
          await backend.broadcast(hex);
          return backend.broadcast(hex);
        },
      },
      spendLog,
    );
    node.fund(await w.receiveAddress(), 80_000n);
    node.mine(1);
    const { plan, outcomes } = await w.payBatch([{ id: "p", address: randomAddress("p2wpkh"), sats: 30_000n }], { feeRate: 2_000n });
    expect(outcomes).toEqual([{ txid: plan.transactions[0]!.txid, status: "sent" }]);
    expect(spendLog.entries()).toHaveLength(1);
    node.mine(1);
  });

  it("inspect: mempool, confirmed with its depth, unknown once dropped, then conflicted by a spend of the same coin — unconfirmed, then confirmed", async () => {
    const mnemonicText = fresh();
    const { wallet } = await openWallet({ mnemonicText });
    node.fund(await wallet.receiveAddress(), 70_000n);
    node.mine(1);

    const { plan } = await wallet.payBatch([{ id: "i", address: randomAddress("p2wpkh"), sats: 20_000n }], { feeRate: 2_000n });
    const t = plan.transactions[0]!;
    const inputs = t.inputs.map((i) => `${i.txid}:${i.vout}`);
    expect(await wallet.inspect(t.txid, inputs)).toEqual({ state: "mempool" });

    await evict(t.txid);
    expect(await wallet.inspect(t.txid, inputs)).toEqual({ state: "unknown" });
    // The same wallet restored elsewhere spends the coin to someone else.
    const elsewhere = (await openWallet({ mnemonicText })).wallet;
    const conflict = await elsewhere.payBatch([{ id: "e", address: randomAddress("p2wpkh"), sats: 25_000n }], { feeRate: 3_000n });
    const by = conflict.plan.transactions[0]!.txid;
    expect(conflict.plan.transactions[0]!.inputs.map((i) => `${i.txid}:${i.vout}`)).toEqual(inputs);
    expect(await wallet.inspect(t.txid, inputs)).toEqual({ state: "conflicted", by, confirmed: false, confirmations: 0 });
    node.mine(1);
    expect(await wallet.inspect(t.txid, inputs)).toEqual({ state: "conflicted", by, confirmed: true, confirmations: 1 });
    node.mine(1);
    expect(await wallet.inspect(t.txid, inputs)).toEqual({ state: "conflicted", by, confirmed: true, confirmations: 2 });
    expect(await wallet.rebroadcast(t.hex)).toMatchObject({ status: "rejected", reason: expect.stringMatching(/missingorspent/) });

    // The conflicting transaction itself, seen as ours: confirmed two blocks deep.
    const height = node.chain.tipHeight - 1;
    expect(await wallet.inspect(by, inputs)).toEqual({ state: "confirmed", confirmations: 2, blockHeight: height });
  });

  it("inspect lets backend errors through and refuses malformed outpoints", async () => {
    const mnemonicText = fresh();
    const failing = await withBackend(mnemonicText, {
      getTxStatus: async () => {
        throw new ChainUnavailableError("Esplora is unavailable");
      },
    });
    await expect(failing.inspect("ab".repeat(32), [])).rejects.toBeInstanceOf(ChainUnavailableError);
    const outspendDown = await withBackend(mnemonicText, {
      getOutspend: async () => {
        throw new ChainUnavailableError("Esplora is unavailable");
      },
    });
    await expect(outspendDown.inspect("ab".repeat(32), [`${"cd".repeat(32)}:0`])).rejects.toBeInstanceOf(ChainUnavailableError);
    const { wallet } = await openWallet({ mnemonicText });
    await expect(wallet.inspect("ab".repeat(32), ["nope"])).rejects.toThrow(TypeError);
    // An input the backend has never heard of is simply not spent.
    expect(await wallet.inspect("ab".repeat(32), [`${"cd".repeat(32)}:0`])).toEqual({ state: "unknown" });
  });

  it("balance: confirmed and unconfirmed sats", async () => {
    const { wallet } = await openWallet({ mnemonicText: fresh() });
    expect(await wallet.balance()).toEqual({ confirmedSats: 0n, unconfirmedSats: 0n });
    node.fund(await wallet.receiveAddress(), 30_000n);
    node.mine(1);
    node.fund(await wallet.receiveAddress(), 20_000n);
    expect(await wallet.balance()).toEqual({ confirmedSats: 30_000n, unconfirmedSats: 20_000n });
    node.mine(1);
    expect(await wallet.balance()).toEqual({ confirmedSats: 50_000n, unconfirmedSats: 0n });
  });

  it("txidOf reads a raw transaction's id", () => {
    const tx = new bitcoin.Transaction();
    tx.addInput(Buffer.alloc(32, 1), 0);
    tx.addOutput(Uint8Array.from([0x51]), 1n);
    expect(txidOf(tx.toHex())).toBe(tx.getId());
    expect(() => txidOf("zz")).toThrow(TypeError);
  });
});
