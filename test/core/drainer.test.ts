import { Drainer } from "../../src/core/drainer.js";

class Counter extends Drainer {
  runs = 0;
  active = 0;
  maxActive = 0;
  gate: Promise<void> = Promise.resolve();
  fail = false;
  constructor(readonly errors: unknown[] = []) {
    super((err) => errors.push(err));
  }
  protected async drain(): Promise<void> {
    this.runs++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    await this.gate;
    this.active--;
    if (this.fail) throw new Error("boom");
  }
}

describe("Drainer", () => {
  test("kicks during a drain make it go round exactly once more; drains never overlap", async () => {
    const d = new Counter();
    let open!: () => void;
    d.gate = new Promise((r) => (open = r));
    d.kick();
    d.kick();
    d.kick();
    open();
    await d.idle();
    expect(d.runs).toBe(2);
    expect(d.maxActive).toBe(1);
  });
  test("a failing drain is reported and the next kick runs again", async () => {
    const d = new Counter();
    d.fail = true;
    d.kick();
    await d.idle();
    d.fail = false;
    d.kick();
    await d.idle();
    expect(d.errors).toHaveLength(1);
    expect(d.runs).toBe(2);
  });
  test("after stop, kicks do nothing", async () => {
    const d = new Counter();
    await d.stop();
    d.kick();
    await d.idle();
    expect(d.runs).toBe(0);
  });
});
