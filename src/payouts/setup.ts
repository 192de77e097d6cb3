import type { Logger } from "pino";
import { loadWalletConfig, type WalletConfig } from "../bitcoin/config.js";
export { walletConfigured } from "../bitcoin/config.js";
import type { ChainBackend } from "../bitcoin/backend.js";
import { CoreBackend, type CoreOptions, type WatchDescriptor } from "../bitcoin/core.js";
import { chainDescriptor } from "../bitcoin/descriptors.js";
import { EsploraBackend } from "../bitcoin/esplora.js";
import { CHANGE, RECEIVE } from "../bitcoin/keys.js";
import type { WalletState } from "../bitcoin/state.js";
import { PayoutWallet, type PayoutWalletOptions } from "../bitcoin/wallet.js";
import { PriceOracle } from "../price/oracle.js";
import { priceConfigFromEnv } from "../price/config.js";
import type { Db } from "../store/db.js";
import { issuedDepositIndexes } from "../store/deposits.js";
import { DbSpendLog, DbWalletState } from "../store/walletState.js";

type Env = Record<string, string | undefined>;

/** The payout wallet the environment describes, its state kept in the database. */
export async function openPayoutWallet(env: Env, db: Db, log: Logger): Promise<{ wallet: PayoutWallet; config: WalletConfig }> {
  const config = loadWalletConfig(env);
  // Coins on the deposit addresses handed out are the wallet's own: counted and spent like any.
  const deposits = { issuedIndexes: (wallet: string) => issuedDepositIndexes(db, wallet) };
  const { wallet } = await openWalletOn(config, {
    state: new DbWalletState(db, config.network, config.script),
    spendLog: new DbSpendLog(db),
    logger: log,
    deposits,
  });
  return { wallet, config };
}

/**
 * Opens the wallet on the backend CHAIN_BACKEND names. On Bitcoin Core the wallet's descriptors
 * (account xpubs only) are imported into the watch-only wallet on first use, with ranges covering
 * the indexes handed out and the gap limit.
 */
export async function openWalletOn(
  config: WalletConfig,
  opts: Omit<PayoutWalletOptions, "config" | "backend">,
  backendOptions: Partial<Pick<CoreOptions, "retries" | "backoffMs" | "timeoutMs" | "fetch" | "readFile">> = {},
): Promise<{ wallet: PayoutWallet; backend: ChainBackend }> {
  let wallet: PayoutWallet | undefined;
  const backend = chainBackend(config, {
    descriptors: () => watchedDescriptors(wallet!, config, opts.state, opts.deposits),
    ...backendOptions,
  });
  wallet = await PayoutWallet.open({ ...opts, config, backend });
  return { wallet, backend };
}

/**
 * The chain backend of the configuration: Esplora, or Bitcoin Core when CHAIN_BACKEND=core
 * (which needs `descriptors`, what the watch-only wallet watches).
 */
export function chainBackend(
  config: WalletConfig,
  opts: Partial<Pick<CoreOptions, "descriptors" | "retries" | "backoffMs" | "timeoutMs" | "fetch" | "readFile">> = {},
): ChainBackend {
  const { descriptors, ...rest } = opts;
  if (!config.core) return new EsploraBackend({ url: config.esploraUrl, ...rest });
  const { auth } = config.core;
  return new CoreBackend({
    url: config.core.url,
    wallet: config.core.wallet,
    auth: "cookieFile" in auth ? { cookieFile: auth.cookieFile } : { user: auth.user, password: auth.password.reveal() },
    // Only the readiness probe goes without: it asks for the tip, which needs no wallet.
    descriptors: descriptors ?? (async () => []),
    // Core refuses to send above this; twice FEE_MAX_SAT_VB leaves room for a changeless leftover.
    maxFeeRate: 2n * config.maxFeeRate,
    ...rest,
  });
}

/** /readyz's probe of the chain backend: one quick try, no retries. */
export function readinessBackend(config: WalletConfig): ChainBackend {
  return chainBackend(config, { retries: 0, timeoutMs: 2000 });
}

/** Receive, change and deposit chains, each watched up to the highest index handed out plus the gap limit. */
async function watchedDescriptors(
  wallet: PayoutWallet,
  config: WalletConfig,
  state: WalletState,
  deposits: PayoutWalletOptions["deposits"],
): Promise<WatchDescriptor[]> {
  const gap = config.gapLimit;
  const issued = deposits ? await deposits.issuedIndexes(wallet.depositWallet) : [];
  const depositEnd = issued.reduce((m, i) => Math.max(m, i), -1) + gap;
  return [
    { desc: chainDescriptor(config.script, wallet.accountXpub, RECEIVE), end: (await state.nextIndex(RECEIVE)) + gap },
    { desc: chainDescriptor(config.script, wallet.accountXpub, CHANGE), end: (await state.nextIndex(CHANGE)) + gap },
    { desc: chainDescriptor(config.script, wallet.depositWallet, 0), end: depositEnd },
  ];
}

export function openPriceOracle(env: Env): PriceOracle {
  const parsed = priceConfigFromEnv(env);
  if (!parsed.ok) throw new Error(`Invalid price configuration: ${parsed.error}`);
  return new PriceOracle({ sources: parsed.config.sources, maxSpread: parsed.config.maxSpread, minSources: parsed.config.minSources });
}
