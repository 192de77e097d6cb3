import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { bountyBotIntake } from "./app.js";
import { InboxWorker } from "./deliveries/worker.js";
import { CardSyncer } from "./github/cards.js";
import { octokitRepo, type RepoGitHub } from "./github/client.js";
import { OutboxSender } from "./github/outbox.js";
import { PayoutScheduler } from "./payouts/scheduler.js";
import type { PayoutEngine, PriceSource } from "./payouts/run.js";
import type { Settings } from "./settings.js";
import { openDatabase, type Db } from "./store/db.js";
import { createRouter, sendText } from "./http/router.js";
import { webhookRoute } from "./http/webhooks.js";
import { pruneInbox } from "./store/inbox.js";

export interface BountyBot {
  url: string;
  port: number;
  db: Db;
  probot: Probot;
  inbox: InboxWorker;
  cards: CardSyncer;
  outbox: OutboxSender;
  /** Undefined when no payout wallet is configured. */
  payouts?: PayoutScheduler;
  /** Resolves when every stored delivery, card edit and reply has been handled. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** An open database; by default the one the settings name. */
  db?: Db;
  log?: Logger;
  /** GitHub's secondary-rate-limit throttling (Probot's default). Tests turn it off. */
  throttle?: boolean;
  /** How often stale cards, retried deliveries and replies are swept up. */
  sweepMs?: number;
  cardDebounceMs?: number;
  /** The payout wallet and price source; without them awards are recorded but nothing is paid. */
  payouts?: { wallet: PayoutEngine; prices: PriceSource; schedule?: boolean };
  /** Prices for counting pledges against budgets in another currency; by default the payouts' own. */
  prices?: PriceSource;
}

/** Values of WEBHOOK_SECRET published in examples: a secret anyone can read signs nothing. */
const KNOWN_SECRETS = new Set(["development", "changeme", "secret"]);

/** Why the app must not start with these settings, in one line; null when it may. */
export function startRefusal(settings: Settings): string | null {
  if (!settings.appId || !settings.privateKey) return "APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) are required";
  if (!settings.webhookSecret) {
    return "WEBHOOK_SECRET is not set: set it to the webhook secret of the GitHub App (generate one with `openssl rand -hex 32`)";
  }
  if (KNOWN_SECRETS.has(settings.webhookSecret.toLowerCase())) {
    return `WEBHOOK_SECRET is "${settings.webhookSecret}", a published example value: set a random secret here and in the GitHub App's settings`;
  }
  return null;
}

/** The account that owns the app (GET /app with the app's JWT): served when ALLOWED_ACCOUNTS is unset. */
async function appOwner(probot: Probot): Promise<string> {
  try {
    const octokit = await probot.auth();
    const { data } = await octokit.request("GET /app");
    const login = (data as { owner?: { login?: string } | null } | null)?.owner?.login;
    if (!login) throw new Error("the answer names no owner");
    return login.toLowerCase();
  } catch (err) {
    throw new Error(`cannot ask GitHub which account owns the app (GET /app: ${(err as Error).message}); set ALLOWED_ACCOUNTS`);
  }
}

/** Starts the app: database, the HTTP server with the webhook endpoint, and the background workers. */
export async function startBountyBot(settings: Settings, opts: StartOptions = {}): Promise<BountyBot> {
  const refusal = startRefusal(settings);
  if (refusal) throw new Error(refusal);
  const log = opts.log ?? pino({ level: settings.logLevel, name: "bounty-bot" });
  const throttle = opts.throttle ?? true;
  const probot = new Probot({
    appId: settings.appId,
    privateKey: settings.privateKey,
    secret: settings.webhookSecret,
    baseUrl: settings.baseUrl,
    log,
    // A function, not an object: object defaults are merged shallowly and Probot's own throttle
    // options would replace ours.
    Octokit: ProbotOctokit.defaults((o: Record<string, any>) => ({
      ...o,
      throttle: { ...o.throttle, enabled: throttle },
      retry: { ...o.retry, enabled: throttle },
    })),
  });
  const allowed = new Set(settings.allowedAccounts ?? [await appOwner(probot)]);
  log.info({ accounts: [...allowed] }, "serving installations on these accounts (ALLOWED_ACCOUNTS)");
  const db = opts.db ?? (await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir, log }));
  const github = async (installationId: number, owner: string, repo: string): Promise<RepoGitHub> =>
    octokitRepo(await probot.auth(installationId), owner, repo);

  const cards = new CardSyncer({ db, github, log, bot: { login: "bounty-bot[bot]", appId: settings.appId }, debounceMs: opts.cardDebounceMs ?? 100, unclaimedDays: settings.payout.unclaimedDays });
  const outbox = new OutboxSender({ db, github, log });
  const inbox = new InboxWorker(
    { db, github, network: settings.network, defaults: { currency: settings.defaultCurrency, holdMs: settings.payout.holdMs }, appLogin: "bounty-bot[bot]", log,
      accountBudgets: settings.accountBudgets, prices: opts.prices ?? opts.payouts?.prices },
    {
      onCommitted(ids) {
        cards.kick(ids);
        outbox.kick();
      },
    },
  );

  let payouts: PayoutScheduler | undefined;
  if (opts.payouts) {
    payouts = new PayoutScheduler({
      db,
      wallet: opts.payouts.wallet,
      prices: opts.payouts.prices,
      settings: settings.payout,
      log: log.child({ name: "payouts" }),
      onQueued: () => {
        outbox.kick();
        cards.sweep().catch((err) => log.error({ err }, "card sweep failed"));
      },
    });
  } else {
    log.warn("No payout wallet configured (WALLET_MNEMONIC): awards are recorded, nothing is paid");
  }

  const receive = bountyBotIntake({ db, allowedAccounts: allowed, log, onStored: () => inbox.kick() });
  const router = createRouter(
    [
      { method: "GET", path: "/healthz", handle: (req, res) => sendText(req, res, 200, "ok") },
      webhookRoute({ path: settings.webhookPath, secret: settings.webhookSecret!, log, receive }),
    ],
    log,
  );
  const server: HttpServer = createServer(router);
  // A client that trickles its body is cut off; GitHub sends a delivery in well under this.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  // Processed deliveries past INBOX_RETENTION lose their payloads, at most once an hour.
  let pruning: Promise<void> = Promise.resolve();
  let prunedAt = -Infinity;
  const prune = () => {
    if (Date.now() - prunedAt < 3_600_000) return;
    prunedAt = Date.now();
    pruning = pruneInbox(db, settings.inboxRetentionMs).then(
      (r) => {
        if (r.pruned || r.deleted) log.info(r, "pruned the webhook inbox (INBOX_RETENTION)");
      },
      (err) => {
        prunedAt = -Infinity;
        log.error({ err }, "pruning the webhook inbox failed");
      },
    );
  };
  // Deliveries stored before a crash or restart, retries that came due, cards left stale.
  const sweep = () => {
    inbox.kick();
    outbox.kick();
    cards.sweep().catch((err) => log.error({ err }, "card sweep failed"));
    prune();
  };
  sweep();
  const timer = setInterval(sweep, opts.sweepMs ?? 30_000);
  timer.unref();
  if (payouts && opts.payouts?.schedule !== false) payouts.start(settings.payout.intervalMs);

  const settled = async () => {
    for (let i = 0; i < 100; i++) {
      await inbox.idle();
      await payouts?.idle();
      await cards.idle();
      await outbox.idle();
      await pruning;
      const [busy] = await db.query<{ n: bigint }>(
        `SELECT (SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL AND parked_at IS NULL AND next_attempt_at <= now())
              + (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= now())
              + (SELECT count(*) FROM bounties WHERE card_synced_version < card_version
                   AND (card_lease_until IS NULL OR card_lease_until < now())) AS n`,
      );
      if (Number(busy!.n) === 0) return;
      sweep();
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("bounty-bot did not settle");
  };

  return {
    url: `http://${settings.host === "0.0.0.0" ? "127.0.0.1" : settings.host}:${port}`,
    port,
    db,
    probot,
    inbox,
    cards,
    outbox,
    payouts,
    settled,
    async close() {
      clearInterval(timer);
      await payouts?.stop();
      await pruning;
      await new Promise<void>((r) => server.close(() => r()));
      await inbox.stop();
      await cards.stop();
      await outbox.stop();
      if (!opts.db) await db.close();
    },
  };
}
