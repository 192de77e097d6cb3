import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";
import { bountyBotApp } from "./app.js";
import { InboxWorker } from "./deliveries/worker.js";
import { CardSyncer } from "./github/cards.js";
import { octokitRepo, type RepoGitHub } from "./github/client.js";
import { OutboxSender } from "./github/outbox.js";
import { PayoutScheduler } from "./payouts/scheduler.js";
import type { PayoutEngine, PriceSource } from "./payouts/run.js";
import type { Settings } from "./settings.js";
import { openDatabase, type Db } from "./store/db.js";

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
}

/** Starts the app: database, Probot with its webhook endpoint, and the background workers. */
export async function startBountyBot(settings: Settings, opts: StartOptions = {}): Promise<BountyBot> {
  if (!settings.appId || !settings.privateKey) throw new Error("APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) are required");
  const log = opts.log ?? pino({ level: settings.logLevel, name: "bounty-bot" });
  const db = opts.db ?? (await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir }));
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
  const github = async (installationId: number, owner: string, repo: string): Promise<RepoGitHub> =>
    octokitRepo(await probot.auth(installationId), owner, repo);

  const cards = new CardSyncer({ db, github, log, debounceMs: opts.cardDebounceMs ?? 100, unclaimedDays: settings.payout.unclaimedDays });
  const outbox = new OutboxSender({ db, github, log });
  const inbox = new InboxWorker(
    { db, github, network: settings.network, defaults: { currency: settings.defaultCurrency, holdMs: settings.payout.holdMs }, appLogin: "bounty-bot[bot]", log },
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

  const middleware = await createNodeMiddleware(bountyBotApp({ db, onStored: () => inbox.kick() }), {
    probot,
    webhooksPath: settings.webhookPath,
  });
  const server: HttpServer = createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    void middleware(req, res, () => {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  // Deliveries stored before a crash or restart, retries that came due, cards left stale.
  const sweep = () => {
    inbox.kick();
    outbox.kick();
    cards.sweep().catch((err) => log.error({ err }, "card sweep failed"));
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
      const [busy] = await db.query<{ n: bigint }>(
        `SELECT (SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL AND next_attempt_at <= now())
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
      await new Promise<void>((r) => server.close(() => r()));
      await inbox.stop();
      await cards.stop();
      await outbox.stop();
      if (!opts.db) await db.close();
    },
  };
}
