import { randomBytes } from "node:crypto";
import * as bitcoin from "bitcoinjs-lib";
import * as ecc from "tiny-secp256k1";
import type { AddressType } from "../../src/bitcoin/address.js";
import type { WalletConfig } from "../../src/bitcoin/config.js";
import type { WalletScript } from "../../src/bitcoin/keys.js";
import { networkFor, type NetworkName } from "../../src/bitcoin/network.js";
import { Secret } from "../../src/bitcoin/secret.js";

bitcoin.initEccLib(ecc);

/** The BIP84/BIP86 test vector mnemonic. */
export const ABANDON = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
/** Another valid mnemonic (BIP39 vector, entropy 7f…7f). */
export const LEGAL = "legal winner thank year wave sausage worth useful legal winner thank yellow";

export function testConfig(overrides: Partial<WalletConfig> & { mnemonicText?: string } = {}): WalletConfig {
  const { mnemonicText, ...rest } = overrides;
  return {
    network: "regtest",
    mainnetConfirmed: false,
    script: "p2wpkh" as WalletScript,
    mnemonic: new Secret(mnemonicText ?? ABANDON),
    passphrase: new Secret(""),
    esploraUrl: "http://127.0.0.1:1",
    feeTargetBlocks: 6,
    minFeeRate: 1000n,
    maxFeeRate: 200_000n,
    longTermFeeRate: 1_000n,
    maxTxSats: 100_000_000n,
    dailyCapSats: 1_000_000_000n,
    maxOutputs: 500,
    gapLimit: 20,
    ...rest,
  };
}

/** A fresh address of the given type that nobody in the test owns. */
export function randomAddress(type: AddressType, network: NetworkName = "regtest"): string {
  const net = networkFor(network);
  let pubkey: Uint8Array | null = null;
  while (!pubkey) pubkey = ecc.pointFromScalar(randomBytes(32), true);
  switch (type) {
    case "p2pkh":
      return bitcoin.payments.p2pkh({ pubkey, network: net }).address!;
    case "p2sh":
      return bitcoin.payments.p2sh({ redeem: bitcoin.payments.p2wpkh({ pubkey, network: net }), network: net }).address!;
    case "p2wpkh":
      return bitcoin.payments.p2wpkh({ pubkey, network: net }).address!;
    case "p2wsh":
      return bitcoin.payments.p2wsh({ redeem: bitcoin.payments.p2pk({ pubkey, network: net }), network: net }).address!;
    case "p2tr":
      return bitcoin.payments.p2tr({ internalPubkey: pubkey.subarray(1), network: net }).address!;
  }
}

export const ALL_TYPES: AddressType[] = ["p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"];
