#!/usr/bin/env node
import { run } from "probot";
import { loadSettings, readEnvironment } from "./settings.js";
import { pino } from "pino";
import { openPayoutWallet, openPriceOracle, walletConfigured } from "./payouts/setup.js";
import { startBountyBot } from "./server.js";
import { openDatabase } from "./store/db.js";

// Variables set for real (Kubernetes, Docker, the shell) win over a stray .env file.
const env = readEnvironment();
const settings = loadSettings(env);

if (!settings.appId || !settings.privateKey) {
  // No app yet: Probot's setup page registers one on GitHub and writes APP_ID etc. to .env.
  console.log("APP_ID or PRIVATE_KEY is not set: starting Probot's GitHub App setup page.");
  await run(() => undefined, { env: env as NodeJS.ProcessEnv });
} else {
  const log = pino({ level: settings.logLevel, name: "bounty-bot" });
  const db = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir });
  const payouts = walletConfigured(env)
    ? { wallet: (await openPayoutWallet(env, db, log)).wallet, prices: openPriceOracle(env) }
    : undefined;
  const bot = await startBountyBot(settings, { db, log, payouts });
  console.log(`bounty-bot listening on ${bot.url}${settings.webhookPath} (network ${settings.network}, database ${bot.db.kind})`);
  const stop = async () => {
    await bot.close();
    await db.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
