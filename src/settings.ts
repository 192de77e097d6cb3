import { existsSync, readFileSync } from "node:fs";
import { parse as parseDotenv } from "dotenv";
import { parseNetworkName, type NetworkName } from "./bitcoin/network.js";
import { parseDuration } from "./core/duration.js";
import { currencyFromName, type Currency } from "./core/money.js";

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
  webhookSecret: string;
  webhookPath: string;
  host: string;
  port: number;
  logLevel: string;
  /** GitHub's REST base URL: https://api.github.com, or GHE_PROTOCOL://GHE_HOST/api/v3. */
  baseUrl: string;
  databaseUrl?: string;
  dataDir: string;
  network: NetworkName;
  defaultCurrency?: Currency;
  payout: PayoutSettings;
}

/** How and when awards are paid (the PAYOUT_* variables). */
export interface PayoutSettings {
  /** PAYOUT_HOLD: how long an award waits for a revert before it is paid; a repository's payout.hold wins. */
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

/** Reads and checks every setting at once, so a bad environment fails at start with all its errors. */
export function loadSettings(env: Record<string, string | undefined>): Settings {
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
  let privateKey = get("PRIVATE_KEY")?.replace(/\\n/g, "\n");
  const keyPath = get("PRIVATE_KEY_PATH");
  if (!privateKey && keyPath) {
    try {
      privateKey = readFileSync(keyPath, "utf8");
    } catch {
      errors.push(`PRIVATE_KEY_PATH: cannot read ${keyPath}`);
    }
  }
  if (privateKey && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) {
    errors.push("PRIVATE_KEY is not a PEM private key (it should start with -----BEGIN RSA PRIVATE KEY-----)");
  }

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
  }

  let network: NetworkName = "testnet";
  try {
    network = parseNetworkName(get("BITCOIN_NETWORK"));
  } catch (err) {
    errors.push(`BITCOIN_NETWORK: ${(err as Error).message}`);
  }

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

  if (errors.length) throw new Error(`Invalid environment:\n- ${errors.join("\n- ")}`);
  return {
    appId,
    privateKey,
    webhookSecret: get("WEBHOOK_SECRET") ?? "development",
    webhookPath: get("WEBHOOK_PATH") ?? "/api/github/webhooks",
    host: get("HOST") ?? "0.0.0.0",
    port,
    logLevel: get("LOG_LEVEL") ?? "info",
    baseUrl,
    databaseUrl,
    dataDir: get("DATA_DIR") ?? "./data",
    network,
    defaultCurrency,
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
