import * as bitcoin from "bitcoinjs-lib";
import * as ecc from "tiny-secp256k1";
import { type NetworkName, networkLabel } from "./network.js";

/** The output types the bot can pay to. */
export type AddressType = "p2pkh" | "p2sh" | "p2wpkh" | "p2wsh" | "p2tr";

export type ParsedAddress =
  | { ok: true; address: string; type: AddressType; script: Uint8Array }
  | { ok: false; reason: string };

/**
 * Smallest output value Bitcoin Core relays for each output type at its default
 * dust relay fee (3 sat/vB): below this the output costs more to spend than it holds.
 */
export const DUST_LIMIT: Record<AddressType, bigint> = {
  p2pkh: 546n,
  p2sh: 540n,
  p2wpkh: 294n,
  p2wsh: 330n,
  p2tr: 330n,
};

/**
 * Checks a payout address typed by a GitHub user and returns its output script.
 * Every refusal carries a reason written for that user.
 */
export function parseAddress(text: string, network: NetworkName): ParsedAddress {
  const input = text.trim();
  if (input === "") return fail("The address is empty.");
  if (input.length > 90) return fail("This is too long to be a Bitcoin address.");
  if (looksLikeBech32(input)) return parseSegwit(input, network);
  return parseBase58(input, network);
}

/** Classifies an output script; undefined for anything the bot does not pay to. */
export function scriptType(script: Uint8Array): AddressType | undefined {
  const s = script;
  if (s.length === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 0x14 && s[23] === 0x88 && s[24] === 0xac)
    return "p2pkh";
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) return "p2sh";
  if (s.length === 22 && s[0] === 0x00 && s[1] === 0x14) return "p2wpkh";
  if (s.length === 34 && s[0] === 0x00 && s[1] === 0x20) return "p2wsh";
  if (s.length === 34 && s[0] === 0x51 && s[1] === 0x20) return "p2tr";
  return undefined;
}

/** Turns an output script back into its address (for logs, change, the local chain). */
export function addressFromScript(script: Uint8Array, network: NetworkName): string {
  const net = bitcoinjsNetwork(network);
  return bitcoin.address.fromOutputScript(script, net);
}

// ---------------------------------------------------------------------------

function fail(reason: string): ParsedAddress {
  return { ok: false, reason };
}

function bitcoinjsNetwork(network: NetworkName): bitcoin.Network {
  if (network === "bitcoin") return bitcoin.networks.bitcoin;
  if (network === "regtest") return bitcoin.networks.regtest;
  return bitcoin.networks.testnet;
}

const HRP_NETWORKS: Record<string, NetworkName[]> = {
  bc: ["bitcoin"],
  tb: ["testnet", "signet"],
  bcrt: ["regtest"],
};

function expectedHrp(network: NetworkName): string {
  if (network === "bitcoin") return "bc";
  if (network === "regtest") return "bcrt";
  return "tb";
}

function looksLikeBech32(s: string): boolean {
  const lower = s.toLowerCase();
  return lower.startsWith("bc1") || lower.startsWith("tb1") || lower.startsWith("bcrt1");
}

/** What the network of an address is called, for "this is a … address" messages. */
function hrpLabel(hrp: string): string {
  if (hrp === "bc") return "a Bitcoin mainnet";
  if (hrp === "tb") return "a testnet/signet";
  return "a regtest";
}

// --- bech32 / bech32m (BIP173, BIP350) -------------------------------------

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;

function polymod(values: number[]): number {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

/** Regroups bits; refuses padding longer than 4 bits or non-zero padding (BIP173). */
function convertBits(data: number[], from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (const value of data) {
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    return undefined;
  }
  return out;
}

function parseSegwit(input: string, network: NetworkName): ParsedAddress {
  const lower = input.toLowerCase();
  if (input !== lower && input !== input.toUpperCase())
    return fail("This address mixes upper and lower case letters, which is not allowed; type it all in one case.");
  const sep = lower.lastIndexOf("1");
  const hrp = lower.slice(0, sep);
  const dataPart = lower.slice(sep + 1);
  if (dataPart.length < 6) return fail("This is too short to be a Bitcoin address.");
  const data: number[] = [];
  for (const c of dataPart) {
    const v = CHARSET.indexOf(c);
    if (v === -1)
      return fail(`This address contains the character "${c}", which cannot appear in a bech32 address (a typo?).`);
    data.push(v);
  }
  const check = polymod([...hrpExpand(hrp), ...data]);
  const encoding = check === BECH32_CONST ? "bech32" : check === BECH32M_CONST ? "bech32m" : undefined;
  if (encoding === undefined)
    return fail("The checksum of this address does not match: it has a typo or was copied incompletely.");

  const allowed = HRP_NETWORKS[hrp];
  if (allowed === undefined) return fail("This is not a Bitcoin address.");
  if (!allowed.includes(network)) {
    return fail(
      `This is ${hrpLabel(hrp)} address, but payouts are made on ${networkLabel(network)}; ` +
        `addresses here start with "${expectedHrp(network)}1".`,
    );
  }

  const words = data.slice(0, -6);
  if (words.length === 0) return fail("This address has no witness program (it is incomplete).");
  const version = words[0]!;
  if (version > 16) return fail("This address has an invalid witness version.");
  const program = convertBits(words.slice(1), 5, 8, false);
  if (program === undefined) return fail("This address has invalid padding: it is malformed.");
  if (program.length < 2 || program.length > 40)
    return fail(`This address has a witness program of ${program.length} bytes; valid ones have 2 to 40.`);
  if (version === 0 && encoding !== "bech32")
    return fail("This version 0 address uses the bech32m checksum; version 0 addresses must use bech32.");
  if (version !== 0 && encoding !== "bech32m")
    return fail(`This version ${version} address uses the old bech32 checksum; it must use bech32m (BIP350).`);

  let type: AddressType;
  if (version === 0) {
    if (program.length === 20) type = "p2wpkh";
    else if (program.length === 32) type = "p2wsh";
    else
      return fail(
        `This segwit v0 address has a ${program.length}-byte program; only 20 (P2WPKH) or 32 (P2WSH) bytes are valid.`,
      );
  } else if (version === 1) {
    if (program.length !== 32)
      return fail(
        `This segwit v1 address has a ${program.length}-byte program; only 32-byte taproot (P2TR) programs are spendable today.`,
      );
    // An output key off the curve can never be spent: the money would be burnt.
    if (!ecc.isXOnlyPoint(Uint8Array.from(program)))
      return fail("This taproot address does not hold a valid public key; money sent to it could never be spent.");
    type = "p2tr";
  } else {
    return fail(
      `This is a segwit version ${version} address. Future witness versions are not spendable safely yet, so the bot will not pay to them.`,
    );
  }
  const script = new Uint8Array(2 + program.length);
  script[0] = version === 0 ? 0x00 : 0x50 + version;
  script[1] = program.length;
  script.set(program, 2);
  return { ok: true, address: lower, type, script };
}

// --- base58check (P2PKH, P2SH) ----------------------------------------------

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function base58Decode(s: string): Uint8Array | undefined {
  let n = 0n;
  for (const c of s) {
    const v = BASE58.indexOf(c);
    if (v === -1) return undefined;
    n = n * 58n + BigInt(v);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.push(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const c of s) {
    if (c !== "1") break;
    bytes.push(0); // each leading "1" is a leading zero byte
  }
  return Uint8Array.from(bytes.reverse());
}

const BASE58_VERSIONS: Record<number, { type: "p2pkh" | "p2sh"; mainnet: boolean }> = {
  0x00: { type: "p2pkh", mainnet: true },
  0x05: { type: "p2sh", mainnet: true },
  0x6f: { type: "p2pkh", mainnet: false },
  0xc4: { type: "p2sh", mainnet: false },
};

function parseBase58(input: string, network: NetworkName): ParsedAddress {
  const raw = base58Decode(input);
  if (raw === undefined) return fail("This is not a Bitcoin address.");
  if (raw.length !== 25) return fail("This is not a Bitcoin address (wrong length).");
  const payload = raw.subarray(0, 21);
  const checksum = bitcoin.crypto.hash256(payload).subarray(0, 4);
  if (!checksum.every((b, i) => b === raw[21 + i]))
    return fail("The checksum of this address does not match: it has a typo or was copied incompletely.");
  const version = BASE58_VERSIONS[payload[0]!];
  if (version === undefined) return fail("This is not a Bitcoin address (unknown version byte).");
  const wantMainnet = network === "bitcoin";
  if (version.mainnet !== wantMainnet) {
    // Legacy test addresses are shared by testnet, signet and regtest: they cannot be told apart.
    return fail(
      version.mainnet
        ? `This is a Bitcoin mainnet address, but payouts are made on ${networkLabel(network)}.`
        : "This is a test network address, but payouts are made on Bitcoin mainnet.",
    );
  }
  const hash = payload.subarray(1);
  const script =
    version.type === "p2pkh"
      ? Uint8Array.from([0x76, 0xa9, 0x14, ...hash, 0x88, 0xac])
      : Uint8Array.from([0xa9, 0x14, ...hash, 0x87]);
  return { ok: true, address: input, type: version.type, script };
}
