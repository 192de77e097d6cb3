import type { Logger } from "pino";
import type { Deps } from "../deliveries/types.js";
import { voidExpired } from "../store/ledger.js";
import type { Sweep } from "./types.js";

/**
 * Runs the features' sweeps (expiries, refunds) and the ledger's own timeouts on their intervals,
 * one at a time. Each sweep is idempotent and commits per item, so a crash, a restart or a second
 * process sharing the database changes nothing twice.
 */
export class Sweeper {
  #timers: NodeJS.Timeout[] = [];
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly sweeps: readonly Sweep[],
    private readonly deps: Deps,
    private readonly log: Logger,
    /** After a sweep changed something: replies and cards to send. */
    private readonly onChanged: () => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Every sweep, plus the ledger's pending transfers whose timeout passed. */
  get all(): Sweep[] {
    return [...this.sweeps, { name: "ledger timeouts", everyMs: 60_000, run: (deps, now) => voidExpired(deps.db, now) }];
  }

  start(): void {
    for (const s of this.all) {
      const t = setInterval(() => void this.runOne(s), s.everyMs);
      t.unref();
      this.#timers.push(t);
      void this.runOne(s);
    }
  }

  /** Runs every sweep once now (tests, and `settled`). */
  async runAll(now?: Date): Promise<void> {
    for (const s of this.all) await this.runOne(s, now);
  }

  runOne(s: Sweep, now?: Date): Promise<void> {
    const run = this.#running.then(async () => {
      if (this.#stopped) return;
      try {
        const changed = await s.run(this.deps, now ?? this.now());
        if (changed > 0) {
          this.log.info({ sweep: s.name, changed }, "sweep changed something");
          this.onChanged();
        }
      } catch (err) {
        this.log.error({ err, sweep: s.name }, "sweep failed; it runs again on its interval");
      }
    });
    this.#running = run;
    return run;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#running;
  }

  idle(): Promise<unknown> {
    return this.#running;
  }
}
