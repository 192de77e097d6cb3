import type { PriceOracle } from "../../src/price/oracle.js";
import { useTestBot, type TestBotHandle } from "./harness.js";
import { priceOracle, startPayoutRig, type ChainBackendName, type PayoutRig } from "./payouts.js";

const FIXED_PRICES = "fixed:USD=60000;EUR=50000;GBP=40000";

export interface PaidTestBot extends TestBotHandle {
  /** The local chain and the app's payout wallet on it, fresh for each test. */
  readonly rig: PayoutRig;
  /** What the app prices with; fixed prices at the start of each test, replaceable within one. */
  prices: PriceOracle;
}

/**
 * The end-to-end suites that pay: useTestBot on regtest with an empty database, a payout wallet on
 * a fresh local chain per test, fixed prices (a test may swap them), runs only when the test asks.
 * PAYOUT_HOLD is a floor the repositories' `hold: 0s` cannot go below, so the operator allows 0s.
 * `backend` picks the wallet's chain backend (CHAIN_BACKENDS in support/payouts.ts).
 */
export function usePaidTestBot(engine: "pglite" | "postgres", env: Record<string, string> = {}, backend: ChainBackendName = "esplora"): PaidTestBot {
  let rig: PayoutRig | undefined;
  let prices = priceOracle(FIXED_PRICES);
  const h = useTestBot(engine, {
    env: { BITCOIN_NETWORK: "regtest", PAYOUT_HOLD: "0s", ...env },
    async beforeStart(db) {
      await db.exec(
        "TRUNCATE webhook_inbox, outbox, spend_reservations, wallet_indexes, wallets, awards, payouts, payout_txs, claims, pledges, events, bounties, ledger_transfers, ledger_accounts RESTART IDENTITY CASCADE; " +
        "INSERT INTO ledger_accounts (key, kind) VALUES ('wallet', 'wallet'), ('treasury', 'treasury'), ('fees', 'fees')",
      );
    },
    async payouts(db) {
      rig = await startPayoutRig(db, { backend });
      prices = priceOracle(FIXED_PRICES);
      return { wallet: rig.wallet, prices: { price: (c) => prices.price(c) }, schedule: false };
    },
    afterStop: () => rig!.close(),
  });
  return {
    get db() {
      return h.db;
    },
    get bot() {
      return h.bot;
    },
    get rig() {
      if (!rig) throw new Error("the payout rig is not started yet (use it inside a test)");
      return rig;
    },
    get prices() {
      return prices;
    },
    set prices(p: PriceOracle) {
      prices = p;
    },
  };
}
