import type { Logger } from "pino";
import { loadWalletConfig, type WalletConfig } from "../bitcoin/config.js";
export { walletConfigured } from "../bitcoin/config.js";
import { EsploraBackend } from "../bitcoin/esplora.js";
import { PayoutWallet } from "../bitcoin/wallet.js";
import { PriceOracle } from "../price/oracle.js";
import { priceConfigFromEnv } from "../price/config.js";
import type { Db } from "../store/db.js";
import { issuedDepositIndexes } from "../store/deposits.js";
import { DbSpendLog, DbWalletState } from "../store/walletState.js";

type Env = Record<string, string | undefined>;

/** The payout wallet the environment describes, its state kept in the database. */
export async function openPayoutWallet(env: Env, db: Db, log: Logger): Promise<{ wallet: PayoutWallet; config: WalletConfig }> {
  const config = loadWalletConfig(env);
  const wallet = await PayoutWallet.open({
    config,
    backend: new EsploraBackend({ url: config.esploraUrl }),
    state: new DbWalletState(db, config.network, config.script),
    spendLog: new DbSpendLog(db),
    logger: log,
    // Coins on the deposit addresses handed out are the wallet's own: counted and spent like any.
    deposits: { issuedIndexes: (wallet) => issuedDepositIndexes(db, wallet) },
  });
  return { wallet, config };
}

export function openPriceOracle(env: Env): PriceOracle {
  const parsed = priceConfigFromEnv(env);
  if (!parsed.ok) throw new Error(`Invalid price configuration: ${parsed.error}`);
  return new PriceOracle({ sources: parsed.config.sources, maxSpread: parsed.config.maxSpread, minSources: parsed.config.minSources });
}
