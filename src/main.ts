#!/usr/bin/env node
import { run } from "probot";
import { loadSettings, readEnvironment } from "./settings.js";
import { pino } from "pino";
import { openPayoutWallet, openPriceOracle, walletConfigured } from "./payouts/setup.js";
import { startBountyBot, startRefusal } from "./server.js";
import { openDatabase } from "./store/db.js";

/** A refusal to start: one line on stderr, exit status 1. */
function refuse(message: string): never {
  console.error(`bounty-bot: ${message}`);
  process.exit(1);
}

// Variables set for real (Kubernetes, Docker, the shell) win over a stray .env file.
const env = readEnvironment();
let settings: ReturnType<typeof loadSettings>;
try {
  settings = loadSettings(env);
} catch (err) {
  refuse((err as Error).message);
}

if (!settings.appId || !settings.privateKey) {
  // The setup page can register an app on anyone's behalf: never beside a wallet, never on every interface by default.
  if (walletConfigured(env)) {
    refuse(
      "APP_ID or PRIVATE_KEY is not set, and the GitHub App setup page is not served while a payout wallet is configured (WALLET_MNEMONIC or WALLET_MNEMONIC_FILE); set APP_ID and PRIVATE_KEY",
    );
  }
  const host = settings.hostSet ? settings.host : "127.0.0.1";
  // No app yet: Probot's setup page registers one on GitHub and writes APP_ID etc. to .env.
  console.log(`APP_ID or PRIVATE_KEY is not set: starting Probot's GitHub App setup page on http://${host}:${settings.port}/probot`);
  await run(() => undefined, { env: { ...env, HOST: host } as NodeJS.ProcessEnv });
} else {
  const refusal = startRefusal(settings);
  if (refusal) refuse(refusal);
  const log = pino({ level: settings.logLevel, name: "bounty-bot" });
  const db = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir, log });
  const payouts = walletConfigured(env)
    ? { wallet: (await openPayoutWallet(env, db, log)).wallet, prices: openPriceOracle(env) }
    : undefined;
  // Budgets in another currency than a pledge need prices even when nothing is paid from here.
  const bot = await startBountyBot(settings, { db, log, payouts, prices: payouts?.prices ?? openPriceOracle(env) }).catch(async (err: Error) => {
    await db.close().catch(() => undefined);
    return refuse(err.message);
  });
  console.log(`bounty-bot listening on ${bot.url}${settings.webhookPath} (network ${settings.network}, database ${bot.db.kind})`);
  const stop = async () => {
    await bot.close();
    await db.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
