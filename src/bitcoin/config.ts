import { readFileSync } from "node:fs";
import { networkFromEnv } from "../config/env.js";
import type { NetworkName } from "./network.js";
import { DEFAULT_ESPLORA_URL } from "./esplora.js";
import { isValidMnemonic, normalizeMnemonic, type WalletScript } from "./keys.js";
import { Secret } from "./secret.js";
import { type FeeRate, feeRateFromSatPerVb } from "./sizes.js";

/** Everything the payout engine reads from the environment, parsed and checked once. */
export interface WalletConfig {
  network: NetworkName;
  /** True only when BITCOIN_NETWORK=bitcoin was set explicitly; the engine refuses mainnet otherwise. */
  mainnetConfirmed: boolean;
  script: WalletScript;
  mnemonic: Secret;
  /** BIP39 passphrase ("25th word"); empty by default like most wallets. */
  passphrase: Secret;
  esploraUrl: string;
  feeTargetBlocks: number;
  minFeeRate: FeeRate;
  maxFeeRate: FeeRate;
  longTermFeeRate: FeeRate;
  maxTxSats: bigint;
  dailyCapSats: bigint;
  maxOutputs: number;
  gapLimit: number;
}

export const CONFIG_DEFAULTS = {
  feeTargetBlocks: 6,
  maxFeeSatVb: 200,
  /**
   * The relay floor, not Core's consolidatefeerate of 10: no later spend can
   * be cheaper, so the wallet only spends an extra coin or skips change when
   * that is cheaper even if fees stay at the floor, never on a bet that fees
   * will rise (issue 3's fee-efficiency goal is about what a batch costs now).
   */
  longTermFeeSatVb: 1,
  maxTxSats: 5_000_000n,
  dailyCapSats: 10_000_000n,
  maxOutputs: 500,
  gapLimit: 20,
} as const;

/** Lists every problem found; never includes the mnemonic or passphrase. */
export class WalletConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Bitcoin wallet configuration:\n- ${problems.join("\n- ")}`);
    this.name = "WalletConfigError";
  }
}

/** Mnemonics printed in BIPs and tutorials: anyone can spend from them. */
const PUBLIC_TEST_MNEMONICS = [
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
  "legal winner thank year wave sausage worth useful legal winner thank yellow",
  "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
];

const MAINNET_ESPLORA = /^https?:\/\/(mempool\.space|blockstream\.info)\/api\/?$/i;
const TESTNET_ESPLORA = /^https?:\/\/(mempool\.space|blockstream\.info)\/(testnet|testnet4|signet)\/api\/?$/i;

type Env = Record<string, string | undefined>;

/** True when the environment names a payout wallet; without one the app records awards but pays nothing. */
export function walletConfigured(env: Env): boolean {
  return Boolean(env.WALLET_MNEMONIC?.trim() || env.WALLET_MNEMONIC_FILE?.trim());
}

export function loadWalletConfig(env: Env = process.env, readFile: (path: string) => string = (p) => readFileSync(p, "utf8")): WalletConfig {
  const problems: string[] = [];

  const net = networkFromEnv(env);
  const network: NetworkName = net.ok ? net.network : "testnet";
  if (!net.ok) problems.push(`BITCOIN_NETWORK must be one of bitcoin, testnet, signet, regtest, not ${shown(env.BITCOIN_NETWORK!)}.`);
  const mainnetConfirmed = net.ok && net.mainnet;

  let script: WalletScript = "p2wpkh";
  const scriptRaw = (env.WALLET_SCRIPT ?? "").trim().toLowerCase();
  if (scriptRaw === "p2tr") script = "p2tr";
  else if (scriptRaw !== "" && scriptRaw !== "p2wpkh")
    problems.push(`WALLET_SCRIPT must be "p2wpkh" (BIP84, default) or "p2tr" (BIP86), not ${shown(env.WALLET_SCRIPT!)}.`);

  let mnemonic = "";
  const inline = env.WALLET_MNEMONIC?.trim();
  const file = env.WALLET_MNEMONIC_FILE?.trim();
  if (inline && file) problems.push("Set only one of WALLET_MNEMONIC and WALLET_MNEMONIC_FILE, not both.");
  else if (inline) mnemonic = inline;
  else if (file) {
    try {
      mnemonic = readFile(file).trim();
    } catch (e) {
      problems.push(`WALLET_MNEMONIC_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"}).`);
    }
    if (file && mnemonic === "" && problems.length === 0) problems.push(`WALLET_MNEMONIC_FILE: ${file} is empty.`);
  } else problems.push("No wallet: set WALLET_MNEMONIC or WALLET_MNEMONIC_FILE to a BIP39 mnemonic.");
  const source = inline ? "WALLET_MNEMONIC" : "WALLET_MNEMONIC_FILE";
  if (mnemonic !== "") {
    if (!isValidMnemonic(mnemonic)) {
      const words = normalizeMnemonic(mnemonic).split(" ").length;
      problems.push(
        `${source} is not a valid BIP39 English mnemonic (${words} words; expected 12, 15, 18, 21 or 24 known words with a correct checksum). The words are not shown here on purpose.`,
      );
    } else if (network === "bitcoin" && PUBLIC_TEST_MNEMONICS.includes(normalizeMnemonic(mnemonic))) {
      problems.push(`${source} is a published test mnemonic; anyone could spend its coins. Refusing to use it on mainnet.`);
    }
  }

  const esploraUrl = (env.ESPLORA_URL?.trim() || DEFAULT_ESPLORA_URL[network]).replace(/\/+$/, "");
  // Which server it is, without credentials or a query (an API key); never shown in a message.
  let server = esploraUrl;
  try {
    const u = new URL(esploraUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") problems.push("ESPLORA_URL must be an http(s) URL.");
    server = `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    problems.push("ESPLORA_URL is not a valid URL.");
  }
  if (network !== "bitcoin" && MAINNET_ESPLORA.test(server))
    problems.push(`ESPLORA_URL points at a mainnet server but BITCOIN_NETWORK is ${network}.`);
  if (network === "bitcoin" && TESTNET_ESPLORA.test(server))
    problems.push("ESPLORA_URL points at a test network server but BITCOIN_NETWORK is bitcoin.");

  const feeTargetBlocks = int(env, "FEE_TARGET_BLOCKS", CONFIG_DEFAULTS.feeTargetBlocks, 1, 1008, problems);
  const maxFeeSatVb = num(env, "FEE_MAX_SAT_VB", CONFIG_DEFAULTS.maxFeeSatVb, 1, 10_000, problems);
  const longTermSatVb = num(env, "FEE_LONG_TERM_SAT_VB", CONFIG_DEFAULTS.longTermFeeSatVb, 1, 10_000, problems);
  const maxTxSats = sats(env, "PAYOUT_MAX_TX_SATS", CONFIG_DEFAULTS.maxTxSats, problems);
  const dailyCapSats = sats(env, "PAYOUT_DAILY_CAP_SATS", CONFIG_DEFAULTS.dailyCapSats, problems);
  const maxOutputs = int(env, "PAYOUT_MAX_OUTPUTS", CONFIG_DEFAULTS.maxOutputs, 1, 2500, problems);
  const gapLimit = int(env, "WALLET_GAP_LIMIT", CONFIG_DEFAULTS.gapLimit, 1, 1000, problems);

  if (problems.length > 0) throw new WalletConfigError(problems);
  return {
    network,
    mainnetConfirmed,
    script,
    mnemonic: new Secret(mnemonic),
    passphrase: new Secret(env.WALLET_PASSPHRASE ?? ""),
    esploraUrl,
    feeTargetBlocks,
    minFeeRate: 1000n,
    maxFeeRate: feeRateFromSatPerVb(maxFeeSatVb),
    longTermFeeRate: feeRateFromSatPerVb(longTermSatVb),
    maxTxSats,
    dailyCapSats,
    maxOutputs,
    gapLimit,
  };
}

function int(env: Env, name: string, def: number, min: number, max: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (!raw) return def;
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || v < min || v > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}, not ${shown(raw)}.`);
    return def;
  }
  return v;
}

function num(env: Env, name: string, def: number, min: number, max: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (!raw) return def;
  const v = Number(raw);
  if (!/^\d+(\.\d{1,3})?$/.test(raw) || v < min || v > max) {
    problems.push(`${name} must be a number from ${min} to ${max} (up to 3 decimals), not ${shown(raw)}.`);
    return def;
  }
  return v;
}

function sats(env: Env, name: string, def: bigint, problems: string[]): bigint {
  const raw = env[name]?.trim();
  if (!raw) return def;
  if (!/^\d+$/.test(raw) || BigInt(raw) <= 0n || BigInt(raw) > 21_000_000n * 100_000_000n) {
    problems.push(`${name} must be a positive whole number of sats, not ${shown(raw)}.`);
    return def;
  }
  return BigInt(raw);
}

/** Echo a bad value to help fix it, unless it is long enough to be a misplaced secret. */
function shown(raw: string): string {
  return raw.length <= 24 ? JSON.stringify(raw) : "the value given (not shown: too long)";
}
