import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { bountyBotIntake } from "./app.js";
import { InboxWorker } from "./deliveries/worker.js";
import type { Deps } from "./deliveries/types.js";
import { CardSyncer } from "./github/cards.js";
import { KeyedCardSyncer } from "./github/keyedCards.js";
import { FEATURES } from "./features/index.js";
import { featureSweeps } from "./features/index.js";
import { Sweeper } from "./features/sweeper.js";
import { octokitRepo, type RepoGitHub } from "./github/client.js";
import { OutboxSender } from "./github/outbox.js";
import { PayoutScheduler } from "./payouts/scheduler.js";
import { DepositWatcher, isDepositWatchEngine } from "./payouts/deposits.js";
import { isDepositKeys } from "./commands/deposit.js";
import { withdrawalTerms } from "./commands/withdraw.js";
import type { PayoutEngine, PriceSource } from "./payouts/run.js";
import type { Settings } from "./settings.js";
import { openDatabase, type Db } from "./store/db.js";
import { healthRoute, metricsRoute, readyRoute, type ReadinessCheck } from "./http/health.js";
import { createRouter, HttpError, type Route } from "./http/router.js";
import { webhookRoute } from "./http/webhooks.js";
import { SolvencyReports, solvencyRoutes, type WalletCoins } from "./http/solvency.js";
import { boardRoutes } from "./http/board.js";
import { apiRoutes } from "./api/index.js";
import { createLogger } from "./logger.js";
import { Metrics } from "./metrics.js";
import { pruneInbox } from "./store/inbox.js";
import { waitForAppIdentity, type AppIdentity } from "./github/app.js";
import { startRelay } from "./http/relay.js";

export interface BountyBot {
  url: string;
  port: number;
  db: Db;
  probot: Probot;
  inbox: InboxWorker;
  cards: CardSyncer;
  /** The features' expiries and the ledger's timeouts; tests run it with a clock of their own. */
  sweeper: Sweeper;
  /** Every route mounted on the router (the README's routes table is checked against it). */
  routes: ReadonlyArray<{ method: string; path: string }>;
  outbox: OutboxSender;
  /** Undefined when no payout wallet is configured. */
  payouts?: PayoutScheduler;
  metrics: Metrics;
  /** True once close() began: webhooks get 503, /readyz too. */
  readonly closing: boolean;
  /** Which background loops are still running (for the shutdown log). */
  busy(): string[];
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
  /** The payout wallet's chain backend, checked by /readyz when payouts are configured. */
  chain?: { getTipHeight(): Promise<number> };
  /** More routes on the app's one router (later: /api/v1/…, /board). */
  routes?: Route[];
  /** Each GitHub request gives up after this (default 10 s), so one outage cannot hold a delivery for minutes. */
  githubTimeoutMs?: number;
  /** First pause before GET /app is asked again while GitHub is unreachable (doubles up to a minute). */
  appRetryMs?: number;
}

/** Retries of a failed GitHub request within one attempt at a delivery; the inbox's own backoff does the rest. */
const GITHUB_RETRIES = 2;

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

/** This server's own address for a client on the same machine. */
const localUrl = (host: string, port: number): string =>
  `http://${host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host}:${port}`;

/** Starts the app: database, the HTTP server with the webhook endpoint, and the background workers. */
export async function startBountyBot(settings: Settings, opts: StartOptions = {}): Promise<BountyBot> {
  const refusal = startRefusal(settings);
  if (refusal) throw new Error(refusal);
  const log = opts.log ?? createLogger(settings);
  const throttle = opts.throttle ?? true;
  const metrics = new Metrics();
  // Aborted by close(): GitHub requests in flight give up at once, their work stays queued.
  const shutdown = new AbortController();
  let closing = false;
  const githubTimeoutMs = opts.githubTimeoutMs ?? 10_000;
  const probot = new Probot({
    appId: settings.appId,
    privateKey: settings.privateKey,
    secret: settings.webhookSecret,
    baseUrl: settings.baseUrl,
    log,
    // A function, not an object: object defaults are merged shallowly and Probot's own throttle
    // options would replace ours.
    Octokit: ProbotOctokit.plugin(boundedRequests({ timeoutMs: githubTimeoutMs, signal: shutdown.signal, metrics })).defaults((o: Record<string, any>) => ({
      ...o,
      throttle: { ...o.throttle, enabled: throttle },
      retry: { ...o.retry, enabled: throttle, retries: GITHUB_RETRIES },
    })),
  });
  // Until GitHub has confirmed the credentials (GET /app) the app is not ready: /readyz says why.
  const startup: { waiting: string | null } = { waiting: "GitHub has not yet confirmed the app's credentials (GET /app)" };
  // Without ALLOWED_ACCOUNTS the app's owner is served, known once GET /app has answered.
  const allowed = new Set(settings.allowedAccounts ?? []);
  const db = opts.db ?? (await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir, log }));
  // Deliveries stored before the workers exist are picked up by their first sweep.
  let kickInbox = (): void => undefined;

  const intake = bountyBotIntake({ db, allowedAccounts: allowed, log, onStored: () => kickInbox() });
  const receive: typeof intake = async (d) => {
    // Which accounts are served is not decided yet: GitHub is told to come back rather than the delivery dropped.
    if (!settings.allowedAccounts && startup.waiting) throw new HttpError(503, "not ready: waiting for GitHub to confirm the app (GET /app)");
    const outcome = await intake(d);
    metrics.deliveriesReceived.inc({ event: d.event, outcome });
    return outcome;
  };
  const checks: ReadinessCheck[] = [{ name: "database", check: () => db.query("SELECT 1") }];
  if (opts.payouts && opts.chain) {
    const chain = opts.chain;
    checks.push({
      name: "chain",
      check: () =>
        chain.getTipHeight().catch((err: unknown) => {
          metrics.chainErrors.inc({ operation: "tip_height" });
          throw err;
        }),
    });
  }
  const wallet = opts.payouts?.wallet as { lastBalance?: () => { confirmedSats: bigint; unconfirmedSats: bigint } | undefined } | undefined;
  // The payout wallet's coins, listed by GET /api/v1/solvency.
  const coins = opts.payouts?.wallet as Partial<WalletCoins> | undefined;
  const quotes = (opts.payouts?.prices ?? opts.prices) as { lastQuotes?: () => Array<{ source: string; currency: string; at: Date }> } | undefined;
  // Every route of the app, in one list: mounting one is one line here (or in opts.routes).
  const routes: Route[] = [
    healthRoute(),
    readyRoute({ checks, notReady: () => (closing ? "shutting down" : startup.waiting) }),
    metricsRoute({
      metrics,
      token: settings.metricsToken,
      sources: {
        db,
        walletBalance: wallet?.lastBalance ? () => wallet.lastBalance!() : undefined,
        priceQuotes: quotes?.lastQuotes ? () => quotes.lastQuotes!() : undefined,
      },
    }),
    webhookRoute({ path: settings.webhookPath, secret: settings.webhookSecret!, log, receive, accepting: () => !closing }),
    ...solvencyRoutes({ db, network: settings.network, wallet: coins?.sync ? (coins as WalletCoins) : undefined, log: log.child({ name: "solvency" }) }),
    ...apiRoutes({ db, probot, log: log.child({ name: "api" }), prices: opts.prices ?? opts.payouts?.prices, defaultCurrency: settings.defaultCurrency, accounts: () => allowed, notReady: () => startup.waiting, onQueued: () => outbox.kick() }),
    ...boardRoutes({ db, enabled: settings.board.enabled, privateRepos: settings.board.privateRepos, explorerUrl: settings.payout.explorerUrl, solvency: new SolvencyReports({ db, network: settings.network, wallet: coins?.sync ? (coins as WalletCoins) : undefined, log: log.child({ name: "board" }) }), log: log.child({ name: "board" }) }),
    ...(opts.routes ?? []),
  ];
  const router = createRouter(routes, {
    log,
    onResponse: (r) => metrics.httpRequests.inc({ method: r.method, route: r.route, status: String(r.status) }),
  });
  const server: HttpServer = createServer(router);
  // A client that trickles its body is cut off; GitHub sends a delivery in well under this.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => resolve());
  }).catch(async (err: Error) => {
    if (!opts.db) await db.close();
    throw err;
  });
  const port = (server.address() as AddressInfo).port;

  let app: AppIdentity;
  try {
    app = await waitForAppIdentity(() => probot.auth(), {
      appId: settings.appId!,
      log,
      firstDelayMs: opts.appRetryMs,
      onWaiting: (reason) => (startup.waiting = reason),
    });
  } catch (err) {
    await new Promise<void>((r) => server.close(() => r()));
    if (!opts.db) await db.close();
    throw err;
  }
  if (!settings.allowedAccounts) allowed.add(app.owner);
  log.info({ app: app.slug, owner: app.owner, accounts: [...allowed] }, "GitHub confirmed the app; serving installations on these accounts (ALLOWED_ACCOUNTS)");
  // On a laptop GitHub delivers to the WEBHOOK_PROXY_URL channel the setup page registered: relay from it.
  const relay = settings.webhookProxyUrl ? startRelay({ source: settings.webhookProxyUrl, target: `${localUrl(settings.host, port)}${settings.webhookPath}`, log }) : undefined;
  const github = async (installationId: number, owner: string, repo: string): Promise<RepoGitHub> =>
    octokitRepo(await probot.auth(installationId), owner, repo);

  const cards = new CardSyncer({ db, github, log, bot: { login: app.login, appId: settings.appId }, debounceMs: opts.cardDebounceMs ?? 100, unclaimedDays: settings.payout.unclaimedDays,
    // The card names PAYOUT_INTERVAL only when this process runs payouts on it.
    payouts: { minSats: settings.payout.minSats, intervalMs: opts.payouts && opts.payouts.schedule !== false ? settings.payout.intervalMs : undefined, maxDelayMs: settings.payout.maxDelayMs } });
  // The features' cards (a question's…), one comment each, by the same cycle as the bounty card.
  const keyedCards = new KeyedCardSyncer({ db, github, log, bot: { login: app.login, appId: settings.appId }, kinds: FEATURES.flatMap((f) => f.cards ?? []), debounceMs: opts.cardDebounceMs ?? 100 });
  const sweepKeyedCards = () => keyedCards.sweep().catch((err) => log.error({ err }, "card sweep failed"));
  const outbox = new OutboxSender({ db, github, log });
  const deps: Deps = { db, github, network: settings.network, defaults: { currency: settings.defaultCurrency, holdMs: settings.payout.holdMs }, appLogin: app.login, log, publicUrl: settings.publicUrl,
    accountBudgets: settings.accountBudgets, prices: opts.prices ?? opts.payouts?.prices,
    // /deposit: only a wallet with a deposit branch (PayoutWallet) takes deposits.
    deposits: isDepositKeys(opts.payouts?.wallet) ? opts.payouts.wallet : undefined, depositConfirmations: settings.depositConfirmations,
    withdrawals: withdrawalTerms(opts.payouts?.wallet, settings.payout) };
  const inbox = new InboxWorker(
    deps,
    {
      metrics,
      onCommitted(ids) {
        cards.kick(ids);
        void sweepKeyedCards();
        outbox.kick();
      },
    },
  );

  kickInbox = () => inbox.kick();
  // Features' expiries and refunds, and the ledger's pending transfers that timed out.
  const sweeper = new Sweeper(featureSweeps(), deps, log, () => {
    outbox.kick();
    cards.sweep().catch((err) => log.error({ err }, "card sweep failed"));
    void sweepKeyedCards();
  });
  if (opts.sweepMs !== 0) sweeper.start();

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
      // Deposits and treasury receipts: credited before each run and every DEPOSIT_WATCH_INTERVAL_MS.
      deposits: isDepositWatchEngine(opts.payouts.wallet)
        ? new DepositWatcher({ db, wallet: opts.payouts.wallet, confirmations: settings.depositConfirmations, log: log.child({ name: "deposits" }), onQueued: () => outbox.kick() })
        : undefined,
    });
  } else {
    log.warn("No payout wallet configured (WALLET_MNEMONIC): awards are recorded, nothing is paid");
  }

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
    void sweepKeyedCards();
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
      await keyedCards.idle();
      await outbox.idle();
      await sweeper.idle();
      await pruning;
      const [busy] = await db.query<{ n: bigint }>(
        `SELECT (SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL AND parked_at IS NULL AND next_attempt_at <= now())
              + (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= now())
              + (SELECT count(*) FROM bounties WHERE card_synced_version < card_version
                   AND (card_lease_until IS NULL OR card_lease_until < now()))
              + (SELECT count(*) FROM cards WHERE synced_version < version
                   AND (lease_until IS NULL OR lease_until < now())) AS n`,
      );
      // A card sync or send kicked after its idle() above has a lease the query does not count: ask the workers too.
      if (Number(busy!.n) === 0 && !inbox.busy && !cards.busy && !keyedCards.busy && !outbox.busy && !payouts?.busy) return;
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
    sweeper,
    routes: routes.map((r) => ({ method: r.method, path: r.path })),
    outbox,
    payouts,
    metrics,
    get closing() {
      return closing;
    },
    busy: () =>
      Object.entries({ inbox, cards, keyedCards, outbox })
        .filter(([, d]) => d.busy)
        .map(([name]) => name)
        .concat(payouts?.busy ? ["payouts"] : []),
    settled,
    async close() {
      // Webhooks get 503 from here on; GitHub requests in flight are aborted, so the deliveries,
      // card edits and replies they served stay queued (each commits whole or not at all).
      closing = true;
      await relay?.close();
      clearInterval(timer);
      shutdown.abort(new Error("bounty-bot is shutting down"));
      await Promise.all([payouts?.stop(), inbox.stop(), cards.stop(), keyedCards.stop(), outbox.stop(), sweeper.stop(), pruning]);
      server.closeIdleConnections();
      await new Promise<void>((r) => server.close(() => r()));
      if (!opts.db) await db.close();
    },
  };
}

/**
 * An Octokit plugin bounding every GitHub request: it gives up after `timeoutMs` or when the app
 * shuts down, and counts requests and GitHub's x-ratelimit-remaining for /metrics.
 */
function boundedRequests(o: { timeoutMs: number; signal: AbortSignal; metrics: Metrics }) {
  return (octokit: { hook: { wrap(name: "request", fn: (request: (options: any) => any, options: any) => Promise<any>): void } }) => {
    octokit.hook.wrap("request", async (request, options) => {
      const signal = AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs), ...(options.request?.signal ? [options.request.signal] : [])]);
      const method = String(options.method ?? "GET");
      const note = (status: string, headers?: Record<string, string | undefined>) => {
        o.metrics.githubRequests.inc({ method, status });
        const remaining = headers?.["x-ratelimit-remaining"];
        if (remaining !== undefined && /^\d+$/.test(remaining)) {
          o.metrics.githubRateLimitRemaining.set({ resource: headers?.["x-ratelimit-resource"] ?? "core" }, Number(remaining));
        }
      };
      try {
        // The race makes the bound hold even where a request's own signal is not honoured down the chain.
        const response = await Promise.race([request({ ...options, request: { ...options.request, signal } }), aborted(signal)]);
        note(String(response.status), response.headers);
        return response;
      } catch (err) {
        const e = err as { status?: number; response?: { headers?: Record<string, string> } };
        note(typeof e.status === "number" && e.status > 0 ? String(e.status) : "error", e.response?.headers);
        throw err;
      }
    });
  };
}

/** Rejects with the signal's reason once it aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
