import * as bitcoin from "bitcoinjs-lib";
import * as ecc from "tiny-secp256k1";
import fc from "fast-check";
import { parseAddress, DUST_LIMIT, scriptType, addressFromScript, type AddressType } from "../../src/bitcoin/address.js";
import { parseNetworkName, networkFor, type NetworkName } from "../../src/bitcoin/network.js";

bitcoin.initEccLib(ecc);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("parseNetworkName", () => {
  it.each([
    [undefined, "testnet"],
    ["", "testnet"],
    ["bitcoin", "bitcoin"],
    ["testnet", "testnet"],
    ["signet", "signet"],
    ["regtest", "regtest"],
    [" Regtest ", "regtest"],
  ])("%p -> %p", (v, want) => expect(parseNetworkName(v)).toBe(want));

  it("refuses unknown names and lists the valid ones", () => {
    expect(() => parseNetworkName("mainnet")).toThrow(/bitcoin, testnet, signet, regtest/);
  });

  it("maps signet to testnet parameters", () => {
    expect(networkFor("signet").bech32).toBe("tb");
    expect(networkFor("regtest").bech32).toBe("bcrt");
    expect(networkFor("bitcoin").bech32).toBe("bc");
  });
});

// BIP173 / BIP350 valid vectors plus well-known addresses, with their scriptPubKey.
const VALID: Array<[string, NetworkName, AddressType, string]> = [
  ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bitcoin", "p2wpkh", "0014751e76e8199196d454941c45d1b3a323f1433bd6"],
  [
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
    "testnet",
    "p2wsh",
    "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
  ],
  [
    "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
    "signet",
    "p2wsh",
    "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
  ],
  [
    "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
    "testnet",
    "p2tr",
    "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
  ],
  [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    "bitcoin",
    "p2tr",
    "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
  ],
  // BIP84 / BIP86 first receive addresses of "abandon … about".
  ["bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bitcoin", "p2wpkh", "0014c0cebcd6c3d3ca8c75dc5ec62ebe55330ef910e2"],
  [
    "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
    "bitcoin",
    "p2tr",
    "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
  ],
  ["bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "regtest", "p2wpkh", "0014751e76e8199196d454941c45d1b3a323f1433bd6"],
  // Genesis block coinbase address; a well-known P2SH; testnet legacy examples.
  ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bitcoin", "p2pkh", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac"],
  ["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bitcoin", "p2sh", ""],
  ["mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "testnet", "p2pkh", ""],
  ["mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "regtest", "p2pkh", ""],
  ["2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "signet", "p2sh", ""],
  ["2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "regtest", "p2sh", ""],
];

describe("parseAddress accepts", () => {
  it.each(VALID)("%s on %s as %s", (addr, net, type, scriptHex) => {
    const r = parseAddress(addr, net);
    if (!r.ok) throw new Error(r.reason);
    expect(r.type).toBe(type);
    if (scriptHex) expect(hex(r.script)).toBe(scriptHex);
    // Cross-check against bitcoinjs-lib's own encoder.
    expect(hex(r.script)).toBe(hex(bitcoin.address.toOutputScript(addr, networkFor(net))));
    expect(scriptType(r.script)).toBe(type);
    expect(addressFromScript(r.script, net)).toBe(r.address);
  });

  it("lowercases bech32 output and trims whitespace", () => {
    const r = parseAddress("  BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4\n", "bitcoin");
    expect(r).toMatchObject({ ok: true, address: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4" });
  });
});

// BIP173/BIP350 invalid vectors and network mix-ups, with the reason users must see.
const INVALID: Array<[string, NetworkName, RegExp]> = [
  ["tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "bitcoin", /not a Bitcoin address/],
  ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "bitcoin", /must use bech32m/],
  ["tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "testnet", /must use bech32m/],
  ["BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "bitcoin", /must use bech32m/],
  ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "bitcoin", /must use bech32\b/],
  ["tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "testnet", /must use bech32\b/],
  ["bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "bitcoin", /character "o"/],
  ["BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "bitcoin", /invalid witness version/],
  ["bc1pw5dgrnzv", "bitcoin", /1 bytes; valid ones have 2 to 40/],
  [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
    "bitcoin",
    /41 bytes; valid ones have 2 to 40/,
  ],
  ["BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "bitcoin", /16-byte program; only 20 \(P2WPKH\) or 32/],
  ["tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "testnet", /mixes upper and lower case/],
  ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "bitcoin", /padding/],
  ["tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "testnet", /padding/],
  ["bc1gmk9yu", "bitcoin", /no witness program/],
  // A v1 program that is not an x-only point on secp256k1 (x = 0 is not on the curve).
  ["tb1pqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqkgkkf5", "testnet", /valid public key/],
  // BIP350 valid, but not safely spendable: v1 with 40 bytes, v2, v16.
  [
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
    "bitcoin",
    /40-byte program; only 32-byte taproot/,
  ],
  ["BC1SW50QGDZ25J", "bitcoin", /segwit version 16 .*Future witness versions are not spendable safely yet/],
  ["bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "bitcoin", /segwit version 2 /],
  // Checksums.
  ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "bitcoin", /checksum .* does not match/],
  ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "bitcoin", /checksum .* does not match/],
  // Network mix-ups.
  ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "testnet", /mainnet address, but payouts are made on Bitcoin testnet/],
  ["tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "bitcoin", /testnet\/signet address, but payouts are made on Bitcoin mainnet/],
  ["tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "regtest", /testnet\/signet address.*start with "bcrt1"/],
  ["bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "testnet", /regtest address/],
  ["bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "signet", /regtest address/],
  ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "testnet", /mainnet address/],
  ["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "regtest", /mainnet address/],
  ["mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "bitcoin", /test network address/],
  // Garbage.
  ["", "bitcoin", /empty/],
  ["hello world", "bitcoin", /not a Bitcoin address/],
  ["0x52908400098527886E0F7030069857D2E4169EE7", "bitcoin", /not a Bitcoin address/],
  ["1111111111", "bitcoin", /not a Bitcoin address/],
  ["bc1", "bitcoin", /too short/],
  ["x".repeat(100), "bitcoin", /too long/],
];

describe("parseAddress refuses", () => {
  it.each(INVALID)("%s on %s", (addr, net, reason) => {
    const r = parseAddress(addr, net);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe("parseAddress properties", () => {
  const nets: NetworkName[] = ["bitcoin", "testnet", "signet", "regtest"];
  it("round-trips every type bitcoinjs-lib encodes, on every network", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...nets),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom<AddressType>("p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"),
        (net, bytes, type) => {
          const network = networkFor(net);
          const h20 = bytes.subarray(0, 20);
          const address =
            type === "p2pkh"
              ? bitcoin.address.toBase58Check(h20, network.pubKeyHash)
              : type === "p2sh"
                ? bitcoin.address.toBase58Check(h20, network.scriptHash)
                : type === "p2wpkh"
                  ? bitcoin.address.toBech32(h20, 0, network.bech32)
                  : bitcoin.address.toBech32(bytes, type === "p2wsh" ? 0 : 1, network.bech32);
          const r = parseAddress(address, net);
          if (type === "p2tr" && !ecc.isXOnlyPoint(bytes)) return !r.ok && /valid public key/.test(r.reason);
          if (!r.ok) return false;
          return r.type === type && hex(r.script) === hex(bitcoin.address.toOutputScript(address, network));
        },
      ),
    );
  });

  it("detects any single-character typo in a bech32 address", () => {
    const good = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu";
    const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    fc.assert(
      fc.property(fc.integer({ min: 3, max: good.length - 1 }), fc.constantFrom(...charset), (i, c) => {
        fc.pre(good[i] !== c);
        const typo = good.slice(0, i) + c + good.slice(i + 1);
        return parseAddress(typo, "bitcoin").ok === false;
      }),
    );
  });
});

describe("DUST_LIMIT", () => {
  it("matches Bitcoin Core's defaults", () => {
    expect(DUST_LIMIT).toEqual({ p2pkh: 546n, p2sh: 540n, p2wpkh: 294n, p2wsh: 330n, p2tr: 330n });
  });
});
