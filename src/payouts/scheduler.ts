import type { Logger } from "pino";
import { runPayouts, type PayoutRunOptions, type RunReport } from "./run.js";

/**
 * Runs payouts every PAYOUT_INTERVAL, and once at start (so transactions signed before a restart
 * are settled at once). One run at a time in this process; PAYOUT_LOCK makes it one across processes.
 */
export class PayoutScheduler {
  readonly #opts: PayoutRunOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RunReport> | undefined;
  #stopped = false;

  constructor(opts: PayoutRunOptions) {
    this.#opts = opts;
    this.#log = opts.log;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.runNow().catch(() => undefined), intervalMs);
    this.#timer.unref();
    void this.runNow().catch(() => undefined);
  }

  /** One run now, or the one already under way. Errors are logged and rethrown; queued payouts stay queued. */
  runNow(): Promise<RunReport> {
    if (this.#stopped) return Promise.reject(new Error("payouts are stopped"));
    if (!this.#running) {
      this.#running = runPayouts(this.#opts)
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
    await this.idle();
  }
}
