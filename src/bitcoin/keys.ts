import { pbkdf2Sync, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import * as bitcoin from "bitcoinjs-lib";
import * as ecc from "tiny-secp256k1";
import { HDKey } from "@scure/bip32";
import { validateMnemonic } from "@scure/bip39";
import { wordlist as english } from "@scure/bip39/wordlists/english.js";
import { type NetworkName, coinTypeFor, networkFor } from "./network.js";
import type { InputType } from "./sizes.js";

bitcoin.initEccLib(ecc);

/** BIP84 native segwit (P2WPKH) or BIP86 taproot key path (P2TR). */
export type WalletScript = InputType;

/** BIP44 chains: 0 for addresses handed out to fund the wallet, 1 for change. */
export type Chain = 0 | 1;
export const RECEIVE: Chain = 0;
export const CHANGE: Chain = 1;

/**
 * Deposit addresses (`/deposit`), one per person at a time, are not on account 0 but on the
 * external chain of account 1: m/84'/coin'/1'/0/i (m/86'/… for taproot). Any BIP84/86 wallet
 * restores them as "account #1" from the same mnemonic, where a third chain of account 0 would
 * be outside BIP44 and invisible to every other wallet. KeyRef names them as chain 2 (DEPOSIT)
 * so that a signed input's (chain, index) still says which key spends it.
 */
export const DEPOSIT = 2 as const;
export type KeyChain = Chain | typeof DEPOSIT;

export interface KeyRef {
  chain: KeyChain;
  index: number;
}

/** Raised for a mnemonic that is not valid BIP39. Never carries the words. */
export class InvalidMnemonicError extends Error {
  constructor(source: string) {
    super(
      `${source} is not a valid BIP39 English mnemonic (unknown word, wrong word count or bad checksum). ` +
        "The phrase itself is not shown here on purpose.",
    );
    this.name = "InvalidMnemonicError";
  }
}

/** BIP39 normalisation: NFKD, lower case, single spaces. */
export function normalizeMnemonic(mnemonic: string): string {
  return mnemonic.normalize("NFKD").trim().toLowerCase().split(/\s+/).join(" ");
}

export function isValidMnemonic(mnemonic: string): boolean {
  return validateMnemonic(normalizeMnemonic(mnemonic), english);
}

/** m/84'/0'/0' and friends: purpose by script, coin type by network, account 0. */
export function accountPath(network: NetworkName, script: WalletScript): string {
  const purpose = script === "p2tr" ? 86 : 84;
  return `m/${purpose}'/${coinTypeFor(network)}'/0'`;
}

/** The deposit account: m/84'/0'/1' and friends (see DEPOSIT). */
export function depositAccountPath(network: NetworkName, script: WalletScript): string {
  return accountPath(network, script).replace(/\/0'$/, "/1'");
}

/** The x-only output key of a BIP86 key-path-only taproot output. */
function tapTweak(internal: Uint8Array): Uint8Array {
  return bitcoin.crypto.taggedHash("TapTweak", internal);
}

/**
 * The wallet's keys. Private key material lives only in #private fields, so
 * it never shows up in JSON.stringify, util.inspect, pino or error objects;
 * the only ways out are the signatures it makes.
 */
export class WalletKeys {
  readonly network: NetworkName;
  readonly script: WalletScript;
  readonly accountPath: string;
  readonly depositAccountPath: string;
  /** Receive and change of account 0, then the deposit chain (account 1, chain 0). */
  #chains: [HDKey, HDKey, HDKey];
  #accountXpub: string;
  #depositXpub: string;
  #cache = new Map<string, { pubkey: Uint8Array; script: Uint8Array; address: string }>();

  private constructor(account: HDKey, deposits: HDKey, network: NetworkName, script: WalletScript, path: string) {
    this.network = network;
    this.script = script;
    this.accountPath = path;
    this.depositAccountPath = depositAccountPath(network, script);
    this.#chains = [account.deriveChild(0), account.deriveChild(1), deposits.deriveChild(0)];
    this.#accountXpub = account.publicExtendedKey;
    this.#depositXpub = deposits.publicExtendedKey;
  }

  /**
   * Derives the account from a BIP39 mnemonic (English wordlist, empty
   * passphrase unless given). Throws InvalidMnemonicError on a bad checksum.
   */
  static fromMnemonic(
    mnemonic: string,
    opts: { network: NetworkName; script: WalletScript; passphrase?: string; source?: string },
  ): WalletKeys {
    const phrase = normalizeMnemonic(mnemonic);
    if (!validateMnemonic(phrase, english)) throw new InvalidMnemonicError(opts.source ?? "The wallet mnemonic");
    // BIP39 seed: PBKDF2-HMAC-SHA512, 2048 rounds. Node's native version takes
    // ~2 ms where the pure-JS one takes ~0.5 s; the BIP84/86 vectors check both agree.
    const seed = pbkdf2Sync(phrase, "mnemonic" + (opts.passphrase ?? "").normalize("NFKD"), 2048, 64, "sha512");
    const net = networkFor(opts.network);
    const root = HDKey.fromMasterSeed(seed, { private: net.bip32.private, public: net.bip32.public });
    seed.fill(0);
    const path = accountPath(opts.network, opts.script);
    const account = root.derive(path);
    const deposits = root.derive(depositAccountPath(opts.network, opts.script));
    root.wipePrivateData();
    const keys = new WalletKeys(account, deposits, opts.network, opts.script, path);
    account.wipePrivateData();
    deposits.wipePrivateData();
    return keys;
  }

  /** The account's extended public key (what a watch-only wallet would import). */
  accountXpub(): string {
    return this.#accountXpub;
  }

  /** The deposit account's extended public key: it names this wallet's deposit addresses in the database. */
  depositXpub(): string {
    return this.#depositXpub;
  }

  #entry(ref: KeyRef) {
    checkRef(ref);
    const k = `${ref.chain}/${ref.index}`;
    let e = this.#cache.get(k);
    if (!e) {
      const child = this.#chains[ref.chain].deriveChild(ref.index);
      const pubkey = child.publicKey!;
      child.wipePrivateData();
      const net = networkFor(this.network);
      if (this.script === "p2wpkh") {
        const hash = bitcoin.crypto.hash160(pubkey);
        const script = Uint8Array.from([0x00, 0x14, ...hash]);
        e = { pubkey, script, address: bitcoin.address.toBech32(hash, 0, net.bech32) };
      } else {
        const internal = pubkey.subarray(1, 33);
        const tweaked = ecc.xOnlyPointAddTweak(internal, tapTweak(internal));
        if (!tweaked) throw new Error("Taproot tweak failed (negligible probability)");
        const script = Uint8Array.from([0x51, 0x20, ...tweaked.xOnlyPubkey]);
        e = { pubkey, script, address: bitcoin.address.toBech32(tweaked.xOnlyPubkey, 1, net.bech32) };
      }
      this.#cache.set(k, e);
    }
    return e;
  }

  address(ref: KeyRef): string {
    return this.#entry(ref).address;
  }

  outputScript(ref: KeyRef): Uint8Array {
    return this.#entry(ref).script;
  }

  /** Compressed public key (33 bytes); for P2TR this is the untweaked internal key with its parity byte. */
  publicKey(ref: KeyRef): Uint8Array {
    return this.#entry(ref).pubkey;
  }

  /**
   * Signs a sighash for the key at ref and returns the finished witness stack:
   * [DER signature + SIGHASH_ALL, pubkey] for P2WPKH, [Schnorr signature] for
   * P2TR key path with SIGHASH_DEFAULT.
   */
  witness(ref: KeyRef, sighash: Uint8Array): Uint8Array[] {
    const child = this.#chains[ref.chain].deriveChild(ref.index);
    const priv = child.privateKey!;
    try {
      if (this.script === "p2wpkh") {
        const sig = signLowR(sighash, priv);
        const der = bitcoin.script.signature.encode(sig, bitcoin.Transaction.SIGHASH_ALL);
        return [der, child.publicKey!];
      }
      // BIP86: negate the key if its point has odd y, then add the TapTweak.
      const pub = child.publicKey!;
      const base = pub[0] === 0x03 ? ecc.privateNegate(priv) : priv;
      const tweaked = ecc.privateAdd(base, tapTweak(pub.subarray(1, 33)));
      if (!tweaked) throw new Error("Taproot key tweak failed (negligible probability)");
      try {
        return [ecc.signSchnorr(sighash, tweaked, randomBytes(32))];
      } finally {
        tweaked.fill(0);
        if (base !== priv) base.fill(0);
      }
    } finally {
      child.wipePrivateData();
    }
  }

  toJSON(): object {
    return { network: this.network, script: this.script, accountPath: this.accountPath };
  }

  [inspect.custom](): string {
    return `WalletKeys(${this.network}, ${this.script}, ${this.accountPath})`;
  }
}

/**
 * ECDSA with low-R grinding like Bitcoin Core: signatures are then always
 * 71 bytes with the sighash flag, one less than the size estimate allows.
 */
function signLowR(hash: Uint8Array, priv: Uint8Array): Uint8Array {
  let sig = ecc.sign(hash, priv);
  const extra = new Uint8Array(32);
  for (let counter = 1; sig[0]! >= 0x80; counter++) {
    new DataView(extra.buffer).setUint32(0, counter, true);
    sig = ecc.sign(hash, priv, extra);
  }
  return sig;
}

function checkRef(ref: KeyRef): void {
  if ((ref.chain !== 0 && ref.chain !== 1 && ref.chain !== DEPOSIT) || !Number.isInteger(ref.index) || ref.index < 0 || ref.index >= 0x80000000) {
    throw new RangeError(`Invalid key reference ${ref.chain}/${ref.index}`);
  }
}
