import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { Db } from "./store/db.js";

/** What the scrape reads besides the database: kept by the process, never a chain call. */
export interface MetricSources {
  db: Db;
  /** The payout wallet's balance as of its last sync (in the last payout run), if any. */
  walletBalance?(): { confirmedSats: bigint; unconfirmedSats: bigint } | undefined;
  /** The last good quote of each price source: when it was true. */
  priceQuotes?(): Array<{ source: string; currency: string; at: Date }>;
  /** Database gauges give up after this; the scrape still answers, with bounty_metrics_db_up 0. */
  timeoutMs?: number;
}

/**
 * Every metric bounty-bot exports, on a registry of its own (several apps run in one test
 * process; prom-client's global registry would mix them). Counters are bumped where things
 * happen; backlogs, payouts and ages are read from the database at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly deliveriesReceived: Counter<"event" | "outcome">;
  readonly deliveriesProcessed: Counter<"event" | "outcome">;
  readonly deliveriesFailed: Counter<"event" | "outcome">;
  readonly commands: Counter<"command" | "outcome">;
  readonly githubRequests: Counter<"method" | "status">;
  readonly githubRateLimitRemaining: Gauge<"resource">;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly chainErrors: Counter<"operation">;
  readonly #dbUp: Gauge;
  readonly #inboxBacklog: Gauge<"state">;
  readonly #inboxOldest: Gauge;
  readonly #outboxBacklog: Gauge;
  readonly #outboxOldest: Gauge;
  readonly #cardsPending: Gauge;
  readonly #payouts: Gauge<"state">;
  readonly #payoutSats: Gauge<"state">;
  readonly #feeSats: Gauge<"state">;
  readonly #unpaidOldest: Gauge;
  readonly #walletBalance: Gauge<"state">;
  readonly #priceAge: Gauge<"source" | "currency">;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Gauge<L>({ name, help, labelNames, registers });
    this.deliveriesReceived = counter("bounty_deliveries_received_total", "Signed webhook deliveries received, by event and what intake did (stored, duplicate, unhandled, not-allowed…)", ["event", "outcome"]);
    this.deliveriesProcessed = counter("bounty_deliveries_processed_total", "Deliveries processed, by event and outcome (done, ignored)", ["event", "outcome"]);
    this.deliveriesFailed = counter("bounty_deliveries_failed_total", "Failed attempts at processing a delivery, by event and outcome (retry, parked)", ["event", "outcome"]);
    this.commands = counter("bounty_commands_total", "Slash commands run, by command and outcome (ok, reply, help)", ["command", "outcome"]);
    this.githubRequests = counter("bounty_github_requests_total", "Requests to the GitHub API, by method and status (error when none came)", ["method", "status"]);
    this.githubRateLimitRemaining = gauge("bounty_github_rate_limit_remaining", "x-ratelimit-remaining of GitHub's last answer, by x-ratelimit-resource", ["resource"]);
    this.httpRequests = counter("bounty_http_requests_total", "HTTP requests answered, by method, route pattern and status", ["method", "route", "status"]);
    this.chainErrors = counter("bounty_chain_backend_errors_total", "Calls to the chain backend that failed", ["operation"]);
    this.#dbUp = gauge("bounty_metrics_db_up", "1 when the database answered this scrape's queries in time, else 0 (the database gauges are then stale)");
    this.#inboxBacklog = gauge("bounty_inbox_backlog", "Deliveries in the inbox not processed yet: pending (due or backing off) and parked", ["state"]);
    this.#inboxOldest = gauge("bounty_inbox_oldest_age_seconds", "Age of the oldest unprocessed, unparked delivery (0 when none)");
    this.#outboxBacklog = gauge("bounty_outbox_backlog", "Replies and reactions not sent yet");
    this.#outboxOldest = gauge("bounty_outbox_oldest_age_seconds", "Age of the oldest unsent reply or reaction (0 when none)");
    this.#cardsPending = gauge("bounty_cards_pending", "Bounty cards whose last change is not on GitHub yet");
    this.#payouts = gauge("bounty_payouts", "Payouts by state", ["state"]);
    this.#payoutSats = gauge("bounty_payout_sats", "Sats of payouts by state (broadcast and confirmed are paid)", ["state"]);
    this.#feeSats = gauge("bounty_payout_fee_sats", "Fees of payout transactions by state (a replaced transaction's fee was never paid if its replacement confirmed)", ["state"]);
    this.#unpaidOldest = gauge("bounty_unpaid_award_oldest_age_seconds", "Age of the oldest award not cancelled and not yet in a confirmed payout (0 when none)");
    this.#walletBalance = gauge("bounty_wallet_balance_sats", "The payout wallet's balance at its last sync (the last payout run)", ["state"]);
    this.#priceAge = gauge("bounty_price_age_seconds", "Age of each price source's last good quote", ["source", "currency"]);
  }

  /** The exposition text; database gauges are read first, within the timeout. */
  async scrape(sources: MetricSources): Promise<string> {
    const ok = await withTimeout(this.#readDatabase(sources.db), sources.timeoutMs ?? 2000).then(
      () => true,
      () => false,
    );
    this.#dbUp.set(ok ? 1 : 0);
    const balance = sources.walletBalance?.();
    if (balance) {
      this.#walletBalance.set({ state: "confirmed" }, Number(balance.confirmedSats));
      this.#walletBalance.set({ state: "unconfirmed" }, Number(balance.unconfirmedSats));
    }
    const now = Date.now();
    for (const q of sources.priceQuotes?.() ?? []) this.#priceAge.set({ source: q.source, currency: q.currency }, (now - q.at.getTime()) / 1000);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async #readDatabase(db: Db): Promise<void> {
    const [inbox] = await db.query<{ pending: bigint; parked: bigint; age: number | null }>(
      `SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending, count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
              extract(epoch FROM now() - min(received_at) FILTER (WHERE parked_at IS NULL))::float8 AS age
         FROM webhook_inbox WHERE processed_at IS NULL`,
    );
    const [outbox] = await db.query<{ n: bigint; age: number | null }>(
      "SELECT count(*) AS n, extract(epoch FROM now() - min(created_at))::float8 AS age FROM outbox WHERE sent_at IS NULL",
    );
    const [cards] = await db.query<{ n: bigint }>("SELECT count(*) AS n FROM bounties WHERE card_synced_version < card_version");
    const payouts = await db.query<{ state: string; n: bigint; sats: bigint }>("SELECT state, count(*) AS n, sum(sats) AS sats FROM payouts GROUP BY state");
    const fees = await db.query<{ state: string; sats: bigint }>("SELECT state, sum(fee_sats) AS sats FROM payout_txs GROUP BY state");
    const [unpaid] = await db.query<{ age: number | null }>(
      `SELECT extract(epoch FROM now() - min(a.created_at))::float8 AS age FROM awards a LEFT JOIN payouts p ON p.id = a.payout_id
        WHERE a.state <> 'cancelled' AND (p.id IS NULL OR p.state <> 'confirmed')`,
    );
    this.#inboxBacklog.set({ state: "pending" }, Number(inbox?.pending ?? 0));
    this.#inboxBacklog.set({ state: "parked" }, Number(inbox?.parked ?? 0));
    this.#inboxOldest.set(Math.max(0, Number(inbox?.age ?? 0)));
    this.#outboxBacklog.set(Number(outbox?.n ?? 0));
    this.#outboxOldest.set(Math.max(0, Number(outbox?.age ?? 0)));
    this.#cardsPending.set(Number(cards?.n ?? 0));
    // Every state is exported, also at 0, so a dashboard's series do not come and go.
    const byState = new Map(payouts.map((p) => [p.state, p]));
    for (const state of ["awaiting_approval", "queued", "signed", "broadcast", "confirmed"]) {
      this.#payouts.set({ state }, Number(byState.get(state)?.n ?? 0));
      this.#payoutSats.set({ state }, Number(byState.get(state)?.sats ?? 0));
    }
    const feeByState = new Map(fees.map((f) => [f.state, f.sats]));
    for (const state of ["signed", "broadcast", "confirmed", "replaced"]) this.#feeSats.set({ state }, Number(feeByState.get(state) ?? 0));
    this.#unpaidOldest.set(Math.max(0, Number(unpaid?.age ?? 0)));
  }
}

/** Rejects when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what = "operation"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
