import { pino, type Logger } from "pino";
import { openPayoutWallet, openPriceOracle, walletConfigured } from "../payouts/setup.js";
import type { PriceSource } from "../payouts/run.js";
import { loadSettings, type Settings } from "../settings.js";
import { openDatabase, type Db } from "../store/db.js";
import type { CliContext, CliWallet, Env } from "./types.js";

export interface Output {
  write(text: string): unknown;
}

/** What a caller (a test, the demo) may hand in instead of what the environment names. */
export interface CliResources {
  db?: Db;
  wallet?: CliWallet;
  prices?: PriceSource;
  log?: Logger;
}

/**
 * Opens what a command asks for, once, from the environment; closes what it opened. Resources
 * handed in are used as they are and left open.
 */
export function openContext(env: Env, io: { stdout: Output; stderr: Output }, given: CliResources = {}): CliContext & { close(): Promise<void> } {
  let settings: Settings | undefined;
  let db: Promise<Db> | undefined;
  let wallet: Promise<CliWallet> | undefined;
  let prices: PriceSource | undefined = given.prices;
  let log = given.log;
  const ctx = {
    env,
    out: (line: string) => void io.stdout.write(`${line}\n`),
    err: (line: string) => void io.stderr.write(`${line}\n`),
    get log(): Logger {
      // Operators read the report; the log adds warnings (JSON on stderr), more with LOG_LEVEL=debug.
      log ??= pino({ level: ["debug", "trace"].includes(ctx.settings().logLevel) ? ctx.settings().logLevel : "warn", name: "bounty-bot" }, pino.destination(2));
      return log;
    },
    settings: () => (settings ??= loadSettings(env)),
    db: () => (db ??= given.db ? Promise.resolve(given.db) : openDatabase({ databaseUrl: ctx.settings().databaseUrl, dataDir: ctx.settings().dataDir })),
    wallet: () =>
      (wallet ??= given.wallet
        ? Promise.resolve(given.wallet)
        : (async () => {
            if (!walletConfigured(env)) throw new Error("no payout wallet: set WALLET_MNEMONIC or WALLET_MNEMONIC_FILE (and BITCOIN_NETWORK, ESPLORA_URL)");
            return (await openPayoutWallet(env, await ctx.db(), ctx.log)).wallet;
          })()),
    prices: () => (prices ??= openPriceOracle(env)),
    async close() {
      if (db && !given.db) await (await db.catch(() => undefined))?.close();
    },
  };
  return ctx;
}
