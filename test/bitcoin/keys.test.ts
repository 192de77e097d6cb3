import { inspect } from "node:util";
import { HDKey } from "@scure/bip32";
import { mnemonicToSeedSync } from "@scure/bip39";
import { WalletKeys, InvalidMnemonicError, accountPath, isValidMnemonic, RECEIVE, CHANGE } from "../../src/bitcoin/keys.js";
import { ABANDON } from "./helpers.js";

describe("WalletKeys derivation matches the BIP test vectors", () => {
  // BIP84 and BIP86 "abandon … about" vectors (mainnet).
  it.each([
    ["p2wpkh", RECEIVE, 0, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"],
    ["p2wpkh", RECEIVE, 1, "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"],
    ["p2wpkh", CHANGE, 0, "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"],
    ["p2tr", RECEIVE, 0, "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"],
    ["p2tr", RECEIVE, 1, "bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh"],
    ["p2tr", CHANGE, 0, "bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7"],
  ] as const)("%s %i/%i -> %s", (script, chain, index, address) => {
    const keys = WalletKeys.fromMnemonic(ABANDON, { network: "bitcoin", script });
    expect(keys.address({ chain, index })).toBe(address);
  });

  it("uses coin type 1 on every test network", () => {
    expect(accountPath("bitcoin", "p2wpkh")).toBe("m/84'/0'/0'");
    expect(accountPath("testnet", "p2wpkh")).toBe("m/84'/1'/0'");
    expect(accountPath("signet", "p2tr")).toBe("m/86'/1'/0'");
    expect(accountPath("regtest", "p2tr")).toBe("m/86'/1'/0'");
    const t = WalletKeys.fromMnemonic(ABANDON, { network: "testnet", script: "p2wpkh" });
    const s = WalletKeys.fromMnemonic(ABANDON, { network: "signet", script: "p2wpkh" });
    const r = WalletKeys.fromMnemonic(ABANDON, { network: "regtest", script: "p2wpkh" });
    expect(t.address({ chain: 0, index: 0 })).toBe("tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl");
    expect(s.address({ chain: 0, index: 0 })).toBe(t.address({ chain: 0, index: 0 }));
    expect(r.address({ chain: 0, index: 0 })).toMatch(/^bcrt1q/);
  });

  it("derives the same account as an independent BIP39/BIP32 implementation", () => {
    // Standard wallets restoring the mnemonic must see the same keys: cross-check with @scure's own seed function.
    const root = HDKey.fromMasterSeed(mnemonicToSeedSync(ABANDON, "TREZOR"));
    const account = root.derive("m/84'/0'/0'");
    const keys = WalletKeys.fromMnemonic(ABANDON, { network: "bitcoin", script: "p2wpkh", passphrase: "TREZOR" });
    expect(keys.accountXpub()).toBe(account.publicExtendedKey);
    expect(Buffer.from(keys.publicKey({ chain: 1, index: 7 })).toString("hex")).toBe(
      Buffer.from(account.deriveChild(1).deriveChild(7).publicKey!).toString("hex"),
    );
  });

  it("normalises case and spacing of the mnemonic", () => {
    const keys = WalletKeys.fromMnemonic(`  ${ABANDON.toUpperCase().replace(/ /g, "   ")}\n`, { network: "bitcoin", script: "p2wpkh" });
    expect(keys.address({ chain: 0, index: 0 })).toBe("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
  });
});

describe("mnemonic checks", () => {
  it.each([
    ["bad checksum", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon"],
    ["unknown word", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon bitcoinx"],
    ["wrong length", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"],
    ["empty", ""],
  ])("refuses %s without echoing the words", (_, phrase) => {
    expect(isValidMnemonic(phrase)).toBe(false);
    let err: unknown;
    try {
      WalletKeys.fromMnemonic(phrase, { network: "regtest", script: "p2wpkh" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidMnemonicError);
    const text = `${(err as Error).message} ${(err as Error).stack} ${JSON.stringify(err)} ${inspect(err)}`;
    expect(text).not.toMatch(/abandon|bitcoinx/);
  });
});

describe("key material stays inside", () => {
  it("does not leak through JSON, inspect or string conversion", () => {
    const keys = WalletKeys.fromMnemonic(ABANDON, { network: "bitcoin", script: "p2tr" });
    keys.address({ chain: 0, index: 0 });
    const root = HDKey.fromMasterSeed(mnemonicToSeedSync(ABANDON));
    const accountXprv = root.derive("m/86'/0'/0'").privateExtendedKey;
    const chainXprv = root.derive("m/86'/0'/0'/0").privateExtendedKey;
    const dumps = [JSON.stringify(keys), inspect(keys, { depth: 10, showHidden: true }), String(keys), JSON.stringify({ keys })];
    for (const d of dumps) {
      expect(d).not.toContain(accountXprv);
      expect(d).not.toContain(chainXprv);
      expect(d).not.toMatch(/xprv|abandon/);
    }
  });
});
