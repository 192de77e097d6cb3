import * as bitcoin from "bitcoinjs-lib";
import { HDKey } from "@scure/bip32";
import { generateMnemonic, mnemonicToSeedSync } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import pino from "pino";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { DEPOSIT, WalletKeys, depositAccountPath } from "../../src/bitcoin/keys.js";
import { MemorySpendLog, MemoryWalletState } from "../../src/bitcoin/state.js";
import { feeRateFromSatPerVb } from "../../src/bitcoin/sizes.js";
import { PayoutWallet, type BumpSource, type SignedBatchTx } from "../../src/bitcoin/wallet.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { ABANDON, randomAddress, testConfig } from "./helpers.js";

const silent = pino({ level: "silent" });

describe("the deposit branch of the HD wallet: account 1, external chain", () => {
  const seed = mnemonicToSeedSync(ABANDON);
  const root = HDKey.fromMasterSeed(seed);

  it("is m/84'/coin'/1'/0/i (m/86'/… for taproot), so any BIP84/86 wallet restores it as account #1", () => {
    expect(depositAccountPath("bitcoin", "p2wpkh")).toBe("m/84'/0'/1'");
    expect(depositAccountPath("regtest", "p2tr")).toBe("m/86'/1'/1'");
    const keys = WalletKeys.fromMnemonic(ABANDON, { network: "bitcoin", script: "p2wpkh" });
    for (const index of [0, 1, 7]) {
      const pubkey = root.derive(`m/84'/0'/1'/0/${index}`).publicKey!;
      expect(keys.address({ chain: DEPOSIT, index })).toBe(bitcoin.payments.p2wpkh({ pubkey }).address);
    }
    expect(keys.depositXpub()).toBe(root.derive("m/84'/0'/1'").publicExtendedKey);
    expect(keys.depositXpub()).not.toBe(keys.accountXpub());
  });

  it("derives BIP86 taproot deposit addresses the same way", () => {
    const keys = WalletKeys.fromMnemonic(ABANDON, { network: "bitcoin", script: "p2tr" });
    const pubkey = root.derive("m/86'/0'/1'/0/0").publicKey!;
    expect(keys.address({ chain: DEPOSIT, index: 0 })).toBe(bitcoin.payments.p2tr({ internalPubkey: pubkey.subarray(1, 33) }).address);
  });

  it("refuses chains that are none of receive, change and deposit", () => {
    const keys = WalletKeys.fromMnemonic(ABANDON, { network: "bitcoin", script: "p2wpkh" });
    expect(() => keys.address({ chain: 3 as 0, index: 0 })).toThrow(RangeError);
  });
});

describe.each(["p2wpkh", "p2tr"] as const)("deposit coins are the payout wallet's own (%s, local chain over HTTP)", (script) => {
  let node: LocalChainServer;
  beforeAll(async () => {
    node = await startLocalChain({ network: "regtest" });
  });
  afterAll(() => node.close());

  async function open(issued: number[] | undefined, mnemonicText = generateMnemonic(wordlist)) {
    const wallet = await PayoutWallet.open({
      config: testConfig({ esploraUrl: node.url, mnemonicText, script, longTermFeeRate: 1000n }),
      backend: new EsploraBackend({ url: node.url, retries: 1, backoffMs: 5 }),
      state: new MemoryWalletState(),
      spendLog: new MemorySpendLog(),
      logger: silent,
      ...(issued ? { deposits: { issuedIndexes: async () => issued } } : {}),
    });
    return { wallet, mnemonicText };
  }

  it("counts them in balance(), spends them with the deposit key, and fee-bumps a transaction that spends them", async () => {
    const { wallet, mnemonicText } = await open([0, 1]);
    node.fund(wallet.depositAddress(0), 40_000n);
    node.fund(wallet.depositAddress(1), 30_000n);
    node.mine(1);
    expect(await wallet.balance()).toEqual({ confirmedSats: 70_000n, unconfirmedSats: 0n });
    // The same mnemonic without the store's list of issued addresses does not see them.
    const blind = await open(undefined, mnemonicText);
    expect((await blind.wallet.balance()).confirmedSats).toBe(0n);

    const to = randomAddress("p2wpkh");
    const plan = await wallet.buildBatch([{ id: "d1", address: to, sats: 60_000n }], { feeRate: feeRateFromSatPerVb(2) });
    const t = plan.transactions[0]!;
    expect(t.inputs.map((i) => i.chain)).toEqual([DEPOSIT, DEPOSIT]);
    // The local chain verifies every signature against its prevout.
    expect((await wallet.broadcast(plan))[0]).toMatchObject({ status: "sent" });
    const bumped = await wallet.bump(sourceOf(t), feeRateFromSatPerVb(6));
    expect((await wallet.broadcast({ transactions: [bumped], feeRate: feeRateFromSatPerVb(6) }))[0]).toMatchObject({ status: "sent" });
    node.mine(1);
    expect(await wallet.confirmations(bumped.txid)).toBe(1);
  });

  it("watch() reads the whole history of each given deposit address and each used receive address", async () => {
    const { wallet } = await open([]);
    const receive = await wallet.receiveAddress();
    const r = node.fund(receive, 10_000n);
    node.mine(1);
    const d = node.fund(wallet.depositAddress(3), 20_000n);
    const view = await wallet.watch([3]);
    expect(view.scanned).toEqual([
      { address: receive, branch: "receive", index: 0 },
      { address: wallet.depositAddress(3), branch: "deposit", index: 3 },
    ]);
    expect(view.outputs).toEqual([
      { txid: r.txid, vout: 0, address: receive, sats: 10_000n, confirmations: 1, branch: "receive", index: 0 },
      { txid: d.txid, vout: 0, address: wallet.depositAddress(3), sats: 20_000n, confirmations: 0, branch: "deposit", index: 3 },
    ]);
    // Once watched, the deposit index counts in the balance too.
    expect(await wallet.balance()).toEqual({ confirmedSats: 10_000n, unconfirmedSats: 20_000n });
  });
});

function sourceOf(t: SignedBatchTx): BumpSource {
  return { hex: t.hex, inputs: t.inputs, change: t.change ? { vout: t.change.vout, index: t.change.index } : null, outputs: t.outputs };
}
