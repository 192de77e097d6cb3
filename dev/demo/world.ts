import { generateKeyPairSync, randomBytes } from "node:crypto";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { pino, type Logger } from "pino";
import { startLocalChain, type LocalChainServer } from "../localchain/server.js";
import type { PayoutWallet } from "../../src/bitcoin/wallet.js";
import { openPayoutWallet, openPriceOracle } from "../../src/payouts/setup.js";
import { startGitHubStandIn, type GitHubStandIn } from "../sandbox/github.js";
import { startBountyBot, type BountyBot } from "../../src/server.js";
import { loadSettings, type Settings } from "../../src/settings.js";
import { openDatabase, type Db } from "../../src/store/db.js";

/** Everything the demo runs, on loopback, in this process: nothing is configured and nothing leaves the machine. */
export interface DemoWorld {
  chain: LocalChainServer;
  github: GitHubStandIn;
  bot: BountyBot;
  db: Db;
  wallet: PayoutWallet;
  settings: Settings;
  /** Where GitHub would deliver webhooks, and the secret it signs them with. */
  hookUrl: string;
  secret: string;
  /** The app's warnings and errors, kept to explain a failure. */
  warnings: string[];
  /** Every documented setting the demo sets to something other than its default, and why. */
  changed: DemoSetting[];
  close(): Promise<void>;
}

/** A setting the demo changes: the transcript prints one line for each. */
export interface DemoSetting {
  name: string;
  value: string;
  /** The documented default, as the README's Environment table gives it. */
  default: string;
  why: string;
}

export const DEMO_PRICES = "fixed:USD=60000;EUR=55000;GBP=48000";

/** Starts the local chain, the GitHub stand-in and the app with a fresh regtest wallet and an in-memory database. */
export async function startWorld(): Promise<DemoWorld> {
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const warnings: string[] = [];
    const log: Logger = pino(
      { level: "warn", name: "bounty-bot" },
      {
        write(line: string) {
          const { msg, err } = JSON.parse(line) as { msg?: string; err?: { message?: string } };
          warnings.push(err?.message ? `${msg} (${err.message})` : String(msg));
        },
      },
    );

    const chain = await startLocalChain({ network: "regtest" });
    closers.push(() => chain.close());

    // The app authenticates to the stand-in as a GitHub App would, with a key made for this run.
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const github = await startGitHubStandIn({ app: { publicKey, checkIssuer: true } });
    closers.push(() => github.close());

    const secret = randomBytes(16).toString("hex");
    // Everything else (PAYOUT_MIN_SATS, PAYOUT_CONFIRMATIONS, PAYOUT_MODE, fees, limits…) is the documented default.
    const changed: DemoSetting[] = [
      { name: "BITCOIN_NETWORK", value: "regtest", default: "testnet", why: "the local chain is a regtest chain: its coins are worth nothing" },
      { name: "ESPLORA_URL", value: chain.url, default: "mempool.space per network", why: "the wallet talks to the local chain, not to the internet" },
      { name: "PRICE_SOURCES", value: DEMO_PRICES, default: "coinbase,kraken,mempool:https://mempool.space", why: "no price API is called, and every run pays the same sats" },
      { name: "PAYOUT_HOLD", value: "0s", default: "24h", why: "the story does not wait a day between the merge and the payout" },
      { name: "DATA_DIR", value: "memory://", default: "./data", why: "nothing is written to disk; the database goes away at exit" },
      {
        name: "ALLOWED_ACCOUNTS",
        value: "example",
        default: "the account that owns the app",
        why: "the stand-in's app is owned by its bot account, and the story's repository is example/widgets",
      },
      { name: "HOST", value: "127.0.0.1", default: "0.0.0.0", why: "the app listens on loopback only" },
      { name: "PORT", value: "0", default: "3000", why: "any free port, so the demo never clashes with a running app" },
      { name: "GHE_HOST", value: github.host, default: "none (github.com)", why: "GitHub is the local stand-in" },
      { name: "GHE_PROTOCOL", value: "http", default: "https", why: "the stand-in serves plain HTTP on loopback" },
    ];
    const env: Record<string, string> = {
      // Required, without defaults: made for this run and thrown away at exit.
      APP_ID: String(github.appId),
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: secret,
      WALLET_MNEMONIC: generateMnemonic(wordlist),
      ...Object.fromEntries(changed.map((c) => [c.name, c.value])),
    };
    const settings = loadSettings(env);
    const db = await openDatabase({ dataDir: settings.dataDir });
    closers.push(() => db.close());
    const { wallet } = await openPayoutWallet(env, db, log);
    const bot = await startBountyBot(settings, {
      db,
      log,
      throttle: false,
      cardDebounceMs: 0,
      // The demo runs payouts itself, at the moments the story needs them.
      payouts: { wallet, prices: openPriceOracle(env), schedule: false },
    });
    closers.push(() => bot.close());
    return { chain, github, bot, db, wallet, settings, hookUrl: `${bot.url}${settings.webhookPath}`, secret, warnings, changed, close };
  } catch (err) {
    await close();
    throw err;
  }
}
