import { readFileSync } from "node:fs";
import { type EnvRead, errorsOf, namesIn, readEnv } from "../config/env.js";
import { shown } from "../config/parse.js";
import type { NetworkName } from "./network.js";
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
  /** Set when CHAIN_BACKEND=core: the node's JSON-RPC and how to authenticate (one way only). */
  core?: CoreRpcConfig;
  feeTargetBlocks: number;
  minFeeRate: FeeRate;
  maxFeeRate: FeeRate;
  longTermFeeRate: FeeRate;
  maxTxSats: bigint;
  dailyCapSats: bigint;
  maxOutputs: number;
  gapLimit: number;
}

/** Bitcoin Core's JSON-RPC, as BITCOIN_RPC_* give it. */
export interface CoreRpcConfig {
  url: string;
  /** The watch-only descriptor wallet's name in Core. */
  wallet: string;
  auth: { cookieFile: string } | { user: string; password: Secret };
}

/** The payout wallet's variables: the "Payout wallet" group of the environment schema. */
export const WALLET_VARS = namesIn("Payout wallet");

const defaults = readEnv({}).values;
/** What the wallet uses when its variables are unset: the schema's defaults. */
export const CONFIG_DEFAULTS = {
  feeTargetBlocks: defaults.FEE_TARGET_BLOCKS,
  maxFeeSatVb: defaults.FEE_MAX_SAT_VB,
  /** The relay floor (why: at FEE_LONG_TERM_SAT_VB in src/config/env.ts). */
  longTermFeeSatVb: defaults.FEE_LONG_TERM_SAT_VB,
  maxTxSats: defaults.PAYOUT_MAX_TX_SATS,
  dailyCapSats: defaults.PAYOUT_DAILY_CAP_SATS,
  maxOutputs: defaults.PAYOUT_MAX_OUTPUTS,
  gapLimit: defaults.WALLET_GAP_LIMIT,
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

export function loadWalletConfig(
  env: Env = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
  read: EnvRead = readEnv(env),
): WalletConfig {
  const { values: v } = read;
  // BITCOIN_NETWORK in this message's own words; the other variables' problems as the schema words them.
  const problems = errorsOf(read, WALLET_VARS);
  if (read.errors.has("BITCOIN_NETWORK")) problems.unshift(`BITCOIN_NETWORK must be one of bitcoin, testnet, signet, regtest, not ${shown(env.BITCOIN_NETWORK!.trim())}.`);
  const network = v.BITCOIN_NETWORK;

  let mnemonic = "";
  const inline = v.WALLET_MNEMONIC;
  const file = v.WALLET_MNEMONIC_FILE;
  if (inline && file) problems.push("Set only one of WALLET_MNEMONIC and WALLET_MNEMONIC_FILE, not both.");
  else if (inline) mnemonic = inline;
  else if (file) {
    try {
      mnemonic = readFile(file).trim();
      if (mnemonic === "") problems.push(`WALLET_MNEMONIC_FILE: ${file} is empty.`);
    } catch (e) {
      problems.push(`WALLET_MNEMONIC_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"}).`);
    }
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

  // Which server it is, without credentials or a query (an API key), against the network named.
  const esplora = v.ESPLORA_URL;
  if (network !== "bitcoin" && MAINNET_ESPLORA.test(esplora.server))
    problems.push(`ESPLORA_URL points at a mainnet server but BITCOIN_NETWORK is ${network}.`);
  if (network === "bitcoin" && TESTNET_ESPLORA.test(esplora.server))
    problems.push("ESPLORA_URL points at a test network server but BITCOIN_NETWORK is bitcoin.");

  const core = v.CHAIN_BACKEND === "core" ? coreRpcConfig(env, v, problems) : undefined;

  if (problems.length > 0) throw new WalletConfigError(problems);
  return {
    network,
    mainnetConfirmed: read.context.mainnet,
    script: v.WALLET_SCRIPT,
    mnemonic: new Secret(mnemonic),
    passphrase: new Secret(v.WALLET_PASSPHRASE),
    esploraUrl: esplora.url,
    ...(core ? { core } : {}),
    feeTargetBlocks: v.FEE_TARGET_BLOCKS,
    minFeeRate: 1000n,
    maxFeeRate: feeRateFromSatPerVb(v.FEE_MAX_SAT_VB),
    longTermFeeRate: feeRateFromSatPerVb(v.FEE_LONG_TERM_SAT_VB),
    maxTxSats: v.PAYOUT_MAX_TX_SATS,
    dailyCapSats: v.PAYOUT_DAILY_CAP_SATS,
    maxOutputs: v.PAYOUT_MAX_OUTPUTS,
    gapLimit: v.WALLET_GAP_LIMIT,
  };
}

/** CHAIN_BACKEND=core: a URL without credentials in it, and exactly one of the cookie file and user + password. */
function coreRpcConfig(env: Env, v: EnvRead["values"], problems: string[]): CoreRpcConfig | undefined {
  const url = v.BITCOIN_RPC_URL;
  const cookieFile = v.BITCOIN_RPC_COOKIE_FILE;
  const user = v.BITCOIN_RPC_USER;
  const password = env.BITCOIN_RPC_PASSWORD?.trim() ? v.BITCOIN_RPC_PASSWORD : undefined;
  const before = problems.length;
  if (!url) problems.push("CHAIN_BACKEND=core needs BITCOIN_RPC_URL (e.g. http://127.0.0.1:8332).");
  else if (new URL(url.url).username || new URL(url.url).password)
    problems.push("BITCOIN_RPC_URL must not hold credentials: use BITCOIN_RPC_COOKIE_FILE or BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD.");
  if (cookieFile && (user || password))
    problems.push("Set either BITCOIN_RPC_COOKIE_FILE or BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD, not both.");
  else if (!cookieFile && !user && !password)
    problems.push("CHAIN_BACKEND=core needs BITCOIN_RPC_COOKIE_FILE, or BITCOIN_RPC_USER and BITCOIN_RPC_PASSWORD.");
  else if (!cookieFile && !user) problems.push("BITCOIN_RPC_PASSWORD is set without BITCOIN_RPC_USER.");
  else if (!cookieFile && !password) problems.push("BITCOIN_RPC_USER is set without BITCOIN_RPC_PASSWORD.");
  const wallet = v.BITCOIN_RPC_WALLET;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(wallet)) problems.push(`BITCOIN_RPC_WALLET must be a plain name (letters, digits, . _ -), not ${shown(wallet)}.`);
  if (problems.length > before || !url) return undefined;
  return {
    url: url.url,
    wallet,
    auth: cookieFile ? { cookieFile } : { user: user!, password: new Secret(password!) },
  };
}
