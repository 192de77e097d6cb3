import type { Logger } from "pino";
import { DEPOSIT_WATCH_INTERVAL_MS, type DepositWatcher } from "./deposits.js";
import { runPayouts, type PayoutRunOptions, type RunReport } from "./run.js";

export interface SchedulerOptions extends PayoutRunOptions {
  /** Deposits and treasury receipts, credited before each run (so its checks see them) and every `watchIntervalMs`. */
  deposits?: DepositWatcher;
  watchIntervalMs?: number;
}

/**
 * Runs payouts every PAYOUT_INTERVAL, and once at start (so transactions signed before a restart
 * are settled at once). One run at a time in this process; PAYOUT_LOCK makes it one across processes.
 * Each run first watches deposits; a failed watch is logged and the run goes on (credits that
 * wait only make the wallet look richer than the ledger, which no check refuses).
 */
export class PayoutScheduler {
  readonly #opts: SchedulerOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #watchTimer: NodeJS.Timeout | undefined;
  #running: Promise<RunReport> | undefined;
  #stopped = false;

  constructor(opts: SchedulerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.runNow().catch(() => undefined), intervalMs);
    this.#timer.unref();
    const deposits = this.#opts.deposits;
    if (deposits) {
      this.#watchTimer = setInterval(() => {
        if (!this.#stopped && !this.#running) void deposits.runNow().catch(() => undefined);
      }, this.#opts.watchIntervalMs ?? DEPOSIT_WATCH_INTERVAL_MS);
      this.#watchTimer.unref();
    }
    void this.runNow().catch(() => undefined);
  }

  /** One run now, or the one already under way. Errors are logged and rethrown; queued payouts stay queued. */
  runNow(): Promise<RunReport> {
    if (this.#stopped) return Promise.reject(new Error("payouts are stopped"));
    if (!this.#running) {
      this.#running = this.#watchThenRun()
        .catch((err) => {
          this.#log.error({ err }, "Payout run failed; every payout stays where it was and the next run tries again");
          throw err;
        })
        .finally(() => {
          this.#running = undefined;
        });
    }
    return this.#running;
  }

  async #watchThenRun(): Promise<RunReport> {
    await this.#opts.deposits?.runNow().catch(() => undefined);
    return runPayouts(this.#opts);
  }

  /** True while a run is under way. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  async idle(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#watchTimer) clearInterval(this.#watchTimer);
    await this.idle();
    await this.#opts.deposits?.idle();
  }
}
