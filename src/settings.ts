import { existsSync, readFileSync } from "node:fs";
import { parse as parseDotenv } from "dotenv";
import type { NetworkName } from "./bitcoin/network.js";
import { loadWalletConfig, WALLET_VARS, WalletConfigError, walletConfigured } from "./bitcoin/config.js";
import { DEFAULT_EXPLORER_URL, ENV_NAMES, errorsOf, LOG_LEVELS, readEnv } from "./config/env.js";
import type { Budget } from "./core/budget.js";
import type { Currency } from "./core/money.js";
import { readPrivateKey } from "./core/privateKey.js";
import { PRICE_VARS, priceConfigFromEnv } from "./price/config.js";

/** The process's environment: variables set for real win over a .env file. */
export function readEnvironment(
  real: NodeJS.ProcessEnv = process.env,
  envFile = ".env",
): Record<string, string | undefined> {
  const fromFile = existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  return { ...fromFile, ...real };
}

export interface Settings {
  appId?: number;
  privateKey?: string;
  /** WEBHOOK_SECRET: required to start the app (there is no default); only the setup flow runs without. */
  webhookSecret?: string;
  webhookPath: string;
  /** PUBLIC_URL: where GitHub reaches this server; the setup flow registers PUBLIC_URL + WEBHOOK_PATH. */
  publicUrl?: string;
  /** BOARD and BOARD_PRIVATE_REPOS: the public board, and whether it shows repositories that are not public. */
  board: { enabled: boolean; privateRepos: boolean };
  /**
   * WEBHOOK_PROXY_URL: a smee.io-style channel. The setup flow registers it as the webhook URL, and
   * the running app relays every delivery posted there to its own webhook route.
   */
  webhookProxyUrl?: string;
  /** GH_ORG: the setup flow registers the app under this organisation instead of the user. */
  ghOrg?: string;
  /** HOST as set; the app listens on 0.0.0.0 and the setup page on 127.0.0.1 when it is unset. */
  host: string;
  hostSet: boolean;
  /**
   * ALLOWED_ACCOUNTS: lower-cased logins whose installations are served; undefined means the
   * account that owns the app, asked of GitHub (GET /app) at start.
   */
  allowedAccounts?: string[];
  /** INBOX_RETENTION: processed deliveries older than this lose their payload (a tombstone stays). */
  inboxRetentionMs: number;
  port: number;
  /** LOG_LEVEL: one of pino's levels. */
  logLevel: LogLevel;
  /** LOG_FORMAT: json (one JSON object a line, the default) or pretty (coloured lines for a person at a terminal). */
  logFormat: "json" | "pretty";
  /** SHUTDOWN_TIMEOUT: on SIGTERM/SIGINT, the process exits within this, abandoning work that has not finished. */
  shutdownTimeoutMs: number;
  /** METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** GitHub's REST base URL: https://api.github.com, or GHE_PROTOCOL://GHE_HOST/api/v3. */
  baseUrl: string;
  databaseUrl?: string;
  dataDir: string;
  network: NetworkName;
  /** DEFAULT_CURRENCY: the currency of a bare number where a repository's config sets none. */
  defaultCurrency: Currency;
  payout: PayoutSettings;
  /** DEPOSIT_CONFIRMATIONS: depth at which an incoming deposit is credited to the depositor's funds. */
  depositConfirmations: number;
  /** ACCOUNT_BUDGETS: the most each listed account's pledges may take within a rolling window, by lowercase login. */
  accountBudgets: ReadonlyMap<string, Budget>;
}

export { LOG_LEVELS };
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How and when awards are paid (the PAYOUT_* variables). */
export interface PayoutSettings {
  /** PAYOUT_HOLD: how long an award waits for a revert before it is paid; a repository's payout.hold may only raise it. */
  holdMs: number;
  /** PAYOUT_MIN_SATS: a balance is paid once it reaches this (and the address type's dust limit). */
  minSats: bigint;
  /** PAYOUT_UNCLAIMED_DAYS: after this long without a /wallet, an award goes to the unclaimed charity. */
  unclaimedDays: number;
  /** PAYOUT_INTERVAL: time between payout runs. */
  intervalMs: number;
  /** PAYOUT_CONFIRMATIONS: depth at which a payout counts as confirmed. */
  confirmations: number;
  /** PAYOUT_MODE: auto pays due balances; approve waits for `bounty-bot payouts approve`. */
  mode: "auto" | "approve";
  /** EXPLORER_URL: prefix a txid is appended to for links; null (regtest default) shows the txid alone. */
  explorerUrl: string | null;
  /**
   * PAYOUT_BUMP_AFTER: a payout transaction unconfirmed this long after broadcast is fee-bumped
   * (RBF) when the fee estimate has risen above its rate; null ("off") never bumps.
   */
  bumpAfterMs: number | null;
  /** PAYOUT_MAX_DELAY: how long a due payout may wait for low fees; 0 (or absent) pays at the next run. */
  maxDelayMs?: number;
}

export { DEFAULT_EXPLORER_URL };

/**
 * Reads and checks every setting at once, so a bad environment fails at start with all its errors:
 * each variable as the schema (src/config/env.ts) parses it, then the rules between variables. With `wallet`, the payout wallet's variables (WALLET_*, ESPLORA_URL, FEE_*, PAYOUT_*_SATS…) are
 * checked too when a wallet is configured; the CLI leaves them to the commands that open the wallet.
 */
export function loadSettings(env: Record<string, string | undefined>, options: { wallet?: boolean } = {}): Settings {
  const read = readEnv(env);
  const { values: v, given } = read;
  // The wallet's and the prices' variables are reported below, by the checks that own them.
  const errors = errorsOf(read, ENV_NAMES.filter((n) => !WALLET_VARS.includes(n) && !PRICE_VARS.includes(n)));

  // Read at start, so a mangled key is refused naming its variable, not at the first GitHub call.
  let privateKey = v.PRIVATE_KEY;
  const keySource = given.has("PRIVATE_KEY") ? "PRIVATE_KEY" : given.has("PRIVATE_KEY_PATH") ? "PRIVATE_KEY_PATH" : undefined;
  if (keySource === "PRIVATE_KEY_PATH") {
    const path = v.PRIVATE_KEY_PATH!;
    let keyText: string | undefined;
    try {
      keyText = readFileSync(path, "utf8");
    } catch {
      errors.push(`PRIVATE_KEY_PATH: cannot read ${path}`);
    }
    if (keyText !== undefined) {
      const key = readPrivateKey(keyText, `PRIVATE_KEY_PATH (${path})`);
      if (key.ok) privateKey = key.pem;
      else errors.push(key.error);
    }
  }
  // One without the other is a half-configured app, not a reason to open the setup page.
  if (given.has("APP_ID") && keySource === undefined) errors.push("APP_ID is set but PRIVATE_KEY (or PRIVATE_KEY_PATH) is not: set both, or neither to register an app with the setup page");
  if (!given.has("APP_ID") && keySource !== undefined) errors.push(`${keySource} is set but APP_ID is not: set both, or neither to register an app with the setup page`);

  // PRICE_*: read again where the oracle is opened; checked here so a bad one fails at start with the rest.
  const prices = priceConfigFromEnv(env, read);
  if (!prices.ok) errors.push(prices.error);

  if (options.wallet && walletConfigured(env)) {
    try {
      loadWalletConfig(env, undefined, read);
    } catch (err) {
      if (!(err instanceof WalletConfigError)) throw err;
      // BITCOIN_NETWORK is reported once, above.
      errors.push(...err.problems.filter((problem) => !read.errors.has("BITCOIN_NETWORK") || !problem.startsWith("BITCOIN_NETWORK")));
    }
  }

  if (errors.length === 1) throw new Error(`Invalid environment: ${errors[0]}`);
  if (errors.length) throw new Error(`Invalid environment:\n- ${errors.join("\n- ")}`);
  return {
    appId: v.APP_ID,
    privateKey,
    webhookSecret: v.WEBHOOK_SECRET,
    webhookPath: v.WEBHOOK_PATH,
    publicUrl: v.PUBLIC_URL,
    board: { enabled: v.BOARD === "on", privateRepos: v.BOARD_PRIVATE_REPOS === "on" },
    webhookProxyUrl: v.WEBHOOK_PROXY_URL,
    ghOrg: v.GH_ORG,
    host: v.HOST,
    hostSet: given.has("HOST"),
    allowedAccounts: v.ALLOWED_ACCOUNTS,
    inboxRetentionMs: v.INBOX_RETENTION,
    port: v.PORT,
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT,
    metricsToken: v.METRICS_TOKEN,
    baseUrl: v.GHE_HOST ? `${v.GHE_PROTOCOL}://${v.GHE_HOST}/api/v3` : "https://api.github.com",
    databaseUrl: v.DATABASE_URL,
    dataDir: v.DATA_DIR,
    network: v.BITCOIN_NETWORK,
    defaultCurrency: v.DEFAULT_CURRENCY,
    depositConfirmations: v.DEPOSIT_CONFIRMATIONS,
    accountBudgets: v.ACCOUNT_BUDGETS ?? new Map(),
    payout: {
      holdMs: v.PAYOUT_HOLD,
      minSats: v.PAYOUT_MIN_SATS,
      unclaimedDays: v.PAYOUT_UNCLAIMED_DAYS,
      intervalMs: v.PAYOUT_INTERVAL,
      confirmations: v.PAYOUT_CONFIRMATIONS,
      mode: v.PAYOUT_MODE,
      explorerUrl: v.EXPLORER_URL ?? null,
      bumpAfterMs: v.PAYOUT_BUMP_AFTER,
      maxDelayMs: v.PAYOUT_MAX_DELAY,
    },
  };
}
