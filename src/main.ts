#!/usr/bin/env node
import { loadSettings, readEnvironment } from "./settings.js";
import { createLogger } from "./logger.js";
import { openPayoutWallet, openPriceOracle, readinessBackend, walletConfigured } from "./payouts/setup.js";
import { startBountyBot, startRefusal } from "./server.js";
import { startSetup } from "./setup/server.js";
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
  settings = loadSettings(env, { wallet: true });
} catch (err) {
  refuse((err as Error).message);
}

if (!settings.appId) {
  // No app yet (settings refuse APP_ID without a key and the reverse): register one on GitHub.
  // The setup page can register an app on anyone's behalf: never beside a wallet, never on every interface by default.
  if (walletConfigured(env)) {
    refuse(
      "APP_ID is not set, and the GitHub App setup page is not served while a payout wallet is configured (WALLET_MNEMONIC or WALLET_MNEMONIC_FILE); set APP_ID and PRIVATE_KEY",
    );
  }
  const host = settings.hostSet ? settings.host : "127.0.0.1";
  const log = createLogger(settings);
  const setup = await startSetup({ settings, host, dir: process.cwd(), log }).catch((err: Error) => refuse(err.message));
  log.info({ url: `${setup.url}/probot`, hookUrl: setup.hookUrl }, `APP_ID is not set: setup page listening on ${setup.url}/probot; open it to register the GitHub App`);
  const { app, envFile } = await setup.registered;
  await setup.close();
  log.info({ appId: app.id, app: app.slug, envFile }, "the GitHub App is registered and its credentials written: install it on GitHub, then start bounty-bot again");
  process.exit(0);
} else {
  const refusal = startRefusal(settings);
  if (refusal) refuse(refusal);
  const log = createLogger(settings);
  const db = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir, log });
  const opened = walletConfigured(env) ? await openPayoutWallet(env, db, log) : undefined;
  const payouts = opened ? { wallet: opened.wallet, prices: openPriceOracle(env) } : undefined;
  // /readyz asks the chain backend for its tip: one quick try, no retries.
  const chain = opened ? readinessBackend(opened.config) : undefined;
  // Budgets in another currency than a pledge need prices even when nothing is paid from here.
  const bot = await startBountyBot(settings, { db, log, payouts, chain, prices: payouts?.prices ?? openPriceOracle(env) }).catch(async (err: Error) => {
    await db.close().catch(() => undefined);
    return refuse(err.message);
  });
  log.info({ url: bot.url, webhookPath: settings.webhookPath, network: settings.network, database: bot.db.kind }, `bounty-bot listening on ${bot.url}${settings.webhookPath}`);
  // SIGTERM (Kubernetes) or SIGINT: no new webhooks (503), GitHub requests in flight aborted,
  // and whatever is not done stays in the inbox/outbox for the next start; the process exits
  // within SHUTDOWN_TIMEOUT even if something hangs. A second signal exits at once.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    const started = Date.now();
    log.info({ signal, timeoutMs: settings.shutdownTimeoutMs }, "shutting down: webhooks now get 503; unfinished work stays queued for the next start");
    const deadline = setTimeout(() => {
      log.warn({ abandoned: bot.busy(), ms: Date.now() - started }, "SHUTDOWN_TIMEOUT reached: exiting; unfinished work resumes on the next start");
      process.exit(0);
    }, settings.shutdownTimeoutMs);
    deadline.unref();
    void (async () => {
      try {
        await bot.close();
        await db.close();
        log.info({ ms: Date.now() - started }, "shut down");
        process.exit(0);
      } catch (err) {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      }
    })();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
