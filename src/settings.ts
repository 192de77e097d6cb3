import { existsSync, readFileSync } from "node:fs";
import { parse as parseDotenv } from "dotenv";
import type { NetworkName } from "./bitcoin/network.js";
import { loadWalletConfig, WalletConfigError, walletConfigured } from "./bitcoin/config.js";
import { networkFromEnv } from "./config/env.js";
import { parseBudget, type Budget } from "./core/budget.js";
import { parseDuration } from "./core/duration.js";
import { currencyFromName, type Currency } from "./core/money.js";
import { isLogin, parseAccounts } from "./core/webhooks.js";
import { redact } from "./core/redact.js";
import { readPrivateKey } from "./core/privateKey.js";
import { priceConfigFromEnv } from "./price/config.js";

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
  defaultCurrency?: Currency;
  payout: PayoutSettings;
  /** ACCOUNT_BUDGETS: the most each listed account's pledges may take within a rolling window, by lowercase login. */
  accountBudgets: ReadonlyMap<string, Budget>;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
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
}

/** mempool.space's transaction pages per network; regtest has no public explorer. */
export const DEFAULT_EXPLORER_URL: Record<NetworkName, string | null> = {
  bitcoin: "https://mempool.space/tx/",
  testnet: "https://mempool.space/testnet/tx/",
  signet: "https://mempool.space/signet/tx/",
  regtest: null,
};

/**
 * Reads and checks every setting at once, so a bad environment fails at start with all its errors.
 * With `wallet`, the payout wallet's variables (WALLET_*, ESPLORA_URL, FEE_*, PAYOUT_*_SATS…) are
 * checked too when a wallet is configured; the CLI leaves them to the commands that open the wallet.
 */
export function loadSettings(env: Record<string, string | undefined>, options: { wallet?: boolean } = {}): Settings {
  const errors: string[] = [];
  const get = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };

  let appId: number | undefined;
  if (get("APP_ID")) {
    appId = Number(get("APP_ID"));
    if (!Number.isSafeInteger(appId) || appId <= 0) errors.push(`APP_ID must be a positive integer, not "${get("APP_ID")}"`);
  }
  // Parsed here, so a mangled key is refused at start naming its variable, not at the first GitHub call.
  let privateKey: string | undefined;
  const keyPath = get("PRIVATE_KEY_PATH");
  const keySource = get("PRIVATE_KEY") !== undefined ? "PRIVATE_KEY" : keyPath ? "PRIVATE_KEY_PATH" : undefined;
  let keyText = get("PRIVATE_KEY");
  if (keyText === undefined && keyPath) {
    try {
      keyText = readFileSync(keyPath, "utf8");
    } catch {
      errors.push(`PRIVATE_KEY_PATH: cannot read ${keyPath}`);
    }
  }
  if (keyText !== undefined) {
    const key = readPrivateKey(keyText, keySource === "PRIVATE_KEY_PATH" ? `PRIVATE_KEY_PATH (${keyPath})` : "PRIVATE_KEY");
    if (key.ok) privateKey = key.pem;
    else errors.push(key.error);
  }
  // One without the other is a half-configured app, not a reason to open the setup page.
  if (get("APP_ID") && keySource === undefined) errors.push("APP_ID is set but PRIVATE_KEY (or PRIVATE_KEY_PATH) is not: set both, or neither to register an app with the setup page");
  if (!get("APP_ID") && keySource !== undefined) errors.push(`${keySource} is set but APP_ID is not: set both, or neither to register an app with the setup page`);

  // Where GitHub delivers webhooks: a public URL for a server, or a smee.io-style channel relayed from.
  const url = (key: string): string | undefined => {
    const text = get(key);
    if (text === undefined) return undefined;
    if (!/^https?:\/\/[^\s/]+/.test(text) || !URL.canParse(text)) {
      errors.push(`${key} must be an http(s) URL, not "${text}"`);
      return undefined;
    }
    return text.replace(/\/+$/, "");
  };
  const publicUrl = url("PUBLIC_URL");
  const webhookProxyUrl = url("WEBHOOK_PROXY_URL");
  const ghOrg = get("GH_ORG");
  if (ghOrg !== undefined && !isLogin(ghOrg.toLowerCase())) errors.push(`GH_ORG must be the login of a GitHub organisation, not "${ghOrg}"`);

  const portText = get("PORT") ?? "3000";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) errors.push(`PORT must be a port number, not "${portText}"`);

  const protocol = get("GHE_PROTOCOL") ?? "https";
  if (protocol !== "http" && protocol !== "https") errors.push(`GHE_PROTOCOL must be http or https, not "${protocol}"`);
  const gheHost = get("GHE_HOST");
  const baseUrl = gheHost ? `${protocol}://${gheHost}/api/v3` : "https://api.github.com";

  const databaseUrl = get("DATABASE_URL");
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    errors.push("DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for the embedded database)");
  } else if (databaseUrl && !URL.canParse(databaseUrl)) {
    // Usually a password with / # ? or @ in it; never shown as given.
    errors.push(`DATABASE_URL ${redact(databaseUrl)} is not a valid URL: percent-encode special characters in the user and password`);
  }

  const net = networkFromEnv(env);
  const network: NetworkName = net.ok ? net.network : "testnet";
  if (!net.ok) errors.push(`BITCOIN_NETWORK: ${net.error}`);

  let defaultCurrency: Currency | undefined;
  if (get("DEFAULT_CURRENCY")) {
    defaultCurrency = currencyFromName(get("DEFAULT_CURRENCY")!);
    if (!defaultCurrency) errors.push(`DEFAULT_CURRENCY must be usd, eur, gbp, btc or sats, not "${get("DEFAULT_CURRENCY")}"`);
  }

  const duration = (key: string, fallback: string): number => {
    const text = get(key) ?? fallback;
    const parsed = parseDuration(text);
    if (!parsed.ok) {
      errors.push(`${key}: ${parsed.error}`);
      return 0;
    }
    return parsed.value;
  };
  const integer = (key: string, fallback: number, min: number): number => {
    const text = get(key) ?? String(fallback);
    if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
      errors.push(`${key} must be a whole number of at least ${min}, not "${text}"`);
      return fallback;
    }
    return Number(text);
  };
  const holdMs = duration("PAYOUT_HOLD", "24h");
  const intervalMs = duration("PAYOUT_INTERVAL", "1h");
  if (get("PAYOUT_INTERVAL") && intervalMs < 1000) errors.push("PAYOUT_INTERVAL must be at least 1s");
  const minSats = BigInt(integer("PAYOUT_MIN_SATS", 10_000, 1));
  const bumpText = (get("PAYOUT_BUMP_AFTER") ?? "2h").toLowerCase();
  const bumpAfterMs = bumpText === "off" ? null : duration("PAYOUT_BUMP_AFTER", bumpText);
  const unclaimedDays = integer("PAYOUT_UNCLAIMED_DAYS", 30, 1);
  const confirmations = integer("PAYOUT_CONFIRMATIONS", 1, 1);
  const modeText = (get("PAYOUT_MODE") ?? "auto").toLowerCase();
  if (modeText !== "auto" && modeText !== "approve") errors.push(`PAYOUT_MODE must be auto or approve, not "${get("PAYOUT_MODE")}"`);
  let explorerUrl = DEFAULT_EXPLORER_URL[network];
  const explorerText = get("EXPLORER_URL");
  if (explorerText) {
    if (!/^https?:\/\/\S+$/.test(explorerText)) errors.push(`EXPLORER_URL must be an http(s) URL prefix such as https://mempool.space/tx/, not "${explorerText}"`);
    explorerUrl = explorerText;
  }

  const inboxRetentionMs = duration("INBOX_RETENTION", "30d");
  const shutdownTimeoutMs = duration("SHUTDOWN_TIMEOUT", "10s");
  const logLevel = (get("LOG_LEVEL") ?? "info").toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) errors.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, not "${get("LOG_LEVEL")}"`);
  const logFormat = (get("LOG_FORMAT") ?? "json").toLowerCase();
  if (logFormat !== "json" && logFormat !== "pretty") errors.push(`LOG_FORMAT must be json or pretty, not "${get("LOG_FORMAT")}"`);
  let allowedAccounts: string[] | undefined;
  if (get("ALLOWED_ACCOUNTS")) {
    allowedAccounts = parseAccounts(get("ALLOWED_ACCOUNTS")!);
    const bad = allowedAccounts.filter((a) => !isLogin(a));
    if (bad.length || allowedAccounts.length === 0) {
      errors.push(`ALLOWED_ACCOUNTS must be comma-separated GitHub logins (e.g. kubernetes,kubernetes-sigs), not "${get("ALLOWED_ACCOUNTS")}"`);
    }
  }

  const accountBudgets = new Map<string, Budget>();
  for (const entry of (get("ACCOUNT_BUDGETS") ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const eq = entry.indexOf("=");
    const login = eq === -1 ? "" : entry.slice(0, eq).trim().toLowerCase();
    if (!/^[a-z0-9][a-z0-9-]{0,38}$/.test(login)) {
      errors.push(`ACCOUNT_BUDGETS: "${entry}" is not <account>=<amount>/<window>, like kubernetes=5000usd/30d`);
      continue;
    }
    const budget = parseBudget(entry.slice(eq + 1).trim(), defaultCurrency ?? "USD");
    if (!budget.ok) errors.push(`ACCOUNT_BUDGETS: ${login}: ${budget.error}`);
    else if (accountBudgets.has(login)) errors.push(`ACCOUNT_BUDGETS: ${login} is listed twice`);
    else accountBudgets.set(login, budget.value);
  }

  // PRICE_*: read again where the oracle is opened; checked here so a bad one fails at start with the rest.
  const prices = priceConfigFromEnv(env);
  if (!prices.ok) errors.push(prices.error);

  if (options.wallet && walletConfigured(env)) {
    try {
      loadWalletConfig(env);
    } catch (err) {
      if (!(err instanceof WalletConfigError)) throw err;
      // BITCOIN_NETWORK is reported once, above.
      errors.push(...err.problems.filter((problem) => net.ok || !problem.startsWith("BITCOIN_NETWORK")));
    }
  }

  if (errors.length === 1) throw new Error(`Invalid environment: ${errors[0]}`);
  if (errors.length) throw new Error(`Invalid environment:\n- ${errors.join("\n- ")}`);
  return {
    appId,
    privateKey,
    webhookSecret: get("WEBHOOK_SECRET"),
    webhookPath: get("WEBHOOK_PATH") ?? "/api/github/webhooks",
    publicUrl,
    webhookProxyUrl,
    ghOrg,
    host: get("HOST") ?? "0.0.0.0",
    hostSet: get("HOST") !== undefined,
    allowedAccounts,
    inboxRetentionMs,
    port,
    logLevel,
    logFormat: logFormat === "pretty" ? "pretty" : "json",
    shutdownTimeoutMs,
    metricsToken: get("METRICS_TOKEN"),
    baseUrl,
    databaseUrl,
    dataDir: get("DATA_DIR") ?? "./data",
    network,
    defaultCurrency,
    accountBudgets,
    payout: {
      holdMs,
      minSats,
      unclaimedDays,
      intervalMs,
      confirmations,
      mode: modeText === "approve" ? "approve" : "auto",
      explorerUrl,
      bumpAfterMs,
    },
  };
}
