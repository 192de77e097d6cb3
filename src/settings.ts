import { existsSync, readFileSync } from "node:fs";
import { parse as parseDotenv } from "dotenv";
import { parseNetworkName, type NetworkName } from "./bitcoin/network.js";
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
}

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
  };
}
