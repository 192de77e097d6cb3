#!/usr/bin/env node
import { run } from "probot";
import { loadSettings, readEnvironment } from "./settings.js";
import { startBountyBot } from "./server.js";

// Variables set for real (Kubernetes, Docker, the shell) win over a stray .env file.
const env = readEnvironment();
const settings = loadSettings(env);

if (!settings.appId || !settings.privateKey) {
  // No app yet: Probot's setup page registers one on GitHub and writes APP_ID etc. to .env.
  console.log("APP_ID or PRIVATE_KEY is not set: starting Probot's GitHub App setup page.");
  await run(() => undefined, { env: env as NodeJS.ProcessEnv });
} else {
  const bot = await startBountyBot(settings);
  console.log(`bounty-bot listening on ${bot.url}${settings.webhookPath} (network ${settings.network}, database ${bot.db.kind})`);
  const stop = async () => {
    await bot.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
