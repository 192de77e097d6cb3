import { Writable } from "node:stream";
import { HDKey } from "@scure/bip32";
import { ECPairFactory } from "ecpair";
import * as ecc from "tiny-secp256k1";
import pino from "pino";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { loadWalletConfig } from "../../src/bitcoin/config.js";
import { walletLogger } from "../../src/bitcoin/log.js";
import { MemorySpendLog, MemoryWalletState } from "../../src/bitcoin/state.js";
import { PayoutWallet } from "../../src/bitcoin/wallet.js";
import { networkFor } from "../../src/bitcoin/network.js";
import { ALL_TYPES, randomAddress } from "./helpers.js";
import { pbkdf2Sync } from "node:crypto";

// Generated for this test; holds nothing anywhere else.
const MNEMONIC = "kiwi acquire security left champion peasant royal sheriff absent calm alert letter";

let node: LocalChainServer;
beforeAll(async () => {
  node = await startLocalChain();
});
afterAll(async () => {
  await node.close();
});

/** Every secret an attacker could spend with: xprv/tprv at each level, WIF and raw hex of the keys in use. */
function secretsOf(mnemonic: string, script: "p2wpkh" | "p2tr"): string[] {
  const net = networkFor("regtest");
  const seed = pbkdf2Sync(mnemonic, "mnemonic", 2048, 64, "sha512");
  const root = HDKey.fromMasterSeed(seed, { private: net.bip32.private, public: net.bip32.public });
  const account = root.derive(script === "p2tr" ? "m/86'/1'/0'" : "m/84'/1'/0'");
  const ECPair = ECPairFactory(ecc);
  const out = [mnemonic, seed.toString("hex"), root.privateExtendedKey, account.privateExtendedKey];
  for (const chain of [0, 1]) {
    const c = account.deriveChild(chain);
    out.push(c.privateExtendedKey);
    for (let i = 0; i < 25; i++) {
      const k = c.deriveChild(i);
      out.push(ECPair.fromPrivateKey(k.privateKey!, { network: net }).toWIF(), Buffer.from(k.privateKey!).toString("hex"));
    }
  }
  return out;
}

describe.each(["p2wpkh", "p2tr"] as const)("no key material in logs (%s)", (script) => {
  it("captures every log line of a fund-build-sign-broadcast run and finds no secret", async () => {
    let captured = "";
    const sink = new Writable({
      write(chunk, _enc, cb) {
        captured += chunk.toString();
        cb();
      },
    });
    const appLog = pino({ level: "trace" }, sink);

    const config = loadWalletConfig({
      BITCOIN_NETWORK: "regtest",
      WALLET_MNEMONIC: MNEMONIC,
      WALLET_SCRIPT: script,
      ESPLORA_URL: node.url,
      PAYOUT_MAX_TX_SATS: "400000",
    });
    const wallet = await PayoutWallet.open({
      config,
      backend: new EsploraBackend({ url: node.url, retries: 0 }),
      state: new MemoryWalletState(),
      spendLog: new MemorySpendLog(),
      logger: appLog,
    });
    node.fund(await wallet.receiveAddress(), 300_000n);
    node.fund(await wallet.receiveAddress(), 400_000n);
    node.mine(1);
    const { plan, outcomes } = await wallet.payBatch(
      ALL_TYPES.map((t, i) => ({ id: `sec-${i}`, address: randomAddress(t), sats: 20_000n })),
      { feeRate: 3_000n },
    );
    expect(outcomes[0]!.status).toBe("sent");
    // A fee bump signs the same keys again.
    const t = plan.transactions[0]!;
    const change = t.change ? { vout: t.change.vout, index: t.change.index } : null;
    const bumped = await wallet.bump({ hex: t.hex, inputs: t.inputs, change, outputs: t.outputs }, 8_000n);
    expect((await wallet.broadcast({ transactions: [bumped], feeRate: bumped.feeRate }))[0]!.status).toBe("sent");
    node.mine(1);
    // Failure paths log too: over the cap, and a caller logging the error and the objects it holds.
    const err = await wallet.payBatch([{ id: "big", address: randomAddress("p2wpkh"), sats: 399_500n }]).catch((e: unknown) => e);
    appLog.error({ err, wallet, config }, "payout failed");
    // Someone logging the wrong object through the wallet logger: redaction paths catch it.
    walletLogger({ parent: appLog }).warn({ mnemonic: MNEMONIC, nested: { privateKey: "00ff", seed: "aa" }, env: { WALLET_MNEMONIC: MNEMONIC } }, "oops");
    appLog.flush();

    expect(captured).toMatch(/Signed payout batch/);
    expect(captured).toMatch(/Broadcast payout batch/);
    expect(captured).toMatch(/Signed a fee bump \(RBF\) of a payout batch/);
    expect(captured).toMatch(/PAYOUT_MAX_TX_SATS/);
    expect(captured.split("\n").length).toBeGreaterThan(8);
    for (const secret of secretsOf(MNEMONIC, script)) expect(captured).not.toContain(secret);
    const words = MNEMONIC.split(" ");
    for (let i = 0; i + 1 < words.length; i++) expect(captured).not.toContain(`${words[i]} ${words[i + 1]}`);
    expect(captured).not.toMatch(/[xt]prv[1-9A-HJ-NP-Za-km-z]{100,}/);
  });
});
