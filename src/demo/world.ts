import { generateKeyPairSync, randomBytes } from "node:crypto";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { pino, type Logger } from "pino";
import { startLocalChain, type LocalChainServer } from "../bitcoin/localchain/server.js";
import type { PayoutWallet } from "../bitcoin/wallet.js";
import { openPayoutWallet, openPriceOracle } from "../payouts/setup.js";
import { startGitHubStandIn, type GitHubStandIn } from "../sandbox/github.js";
import { startBountyBot, type BountyBot } from "../server.js";
import { loadSettings, type Settings } from "../settings.js";
import { openDatabase, type Db } from "../store/db.js";

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
  close(): Promise<void>;
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
    const env = {
      APP_ID: String(github.appId),
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: secret,
      // The owner of the story's repository (story.ts REPO, example/widgets).
      ALLOWED_ACCOUNTS: "example",
      HOST: "127.0.0.1",
      PORT: "0",
      GHE_PROTOCOL: "http",
      GHE_HOST: github.host,
      DATA_DIR: "memory://",
      BITCOIN_NETWORK: "regtest",
      ESPLORA_URL: chain.url,
      WALLET_MNEMONIC: generateMnemonic(wordlist),
      PRICE_SOURCES: DEMO_PRICES,
      PAYOUT_HOLD: "0s",
      PAYOUT_MIN_SATS: "1000",
      PAYOUT_CONFIRMATIONS: "1",
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
    return { chain, github, bot, db, wallet, settings, hookUrl: `${bot.url}${settings.webhookPath}`, secret, warnings, close };
  } catch (err) {
    await close();
    throw err;
  }
}
