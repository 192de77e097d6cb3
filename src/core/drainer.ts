/**
 * A single-flight background loop: kick() starts drain() unless one is running, and kicks that
 * arrive meanwhile make it go round once more, so no wake-up is lost and no two drains overlap.
 */
export abstract class Drainer {
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  protected get stopped(): boolean {
    return this.#stopped;
  }

  /** Asks for a drain soon; calls while one runs make it go round once more. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.drain()
      .catch((err) => this.onError(err))
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** True while a drain runs. */
  get busy(): boolean {
    return this.#running !== null;
  }

  /** Resolves when no drain is running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.idle();
  }

  protected abstract drain(): Promise<void>;
}
