import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { findBenchmarks, runBenchmarks } from "../../bench/run.js";

declare global {
  // eslint-disable-next-line no-var
  var __benchOrder: string[] | undefined;
}

describe("bench/run.ts", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "bench-runner-"));
    await writeFile(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const bench = (name: string, body: string) => writeFile(path.join(dir, name), body);
    await bench("b-fails.bench.js", `export async function run() { (globalThis.__benchOrder ??= []).push("b"); throw new Error("boom in b"); }`);
    await bench("a-webhooks.bench.js", `export async function run() { await new Promise((r) => setTimeout(r, 20)); (globalThis.__benchOrder ??= []).push("a"); }`);
    await bench("c-webhooks.bench.js", `export async function run() { (globalThis.__benchOrder ??= []).push("c"); }`);
    await bench("d-norun.bench.js", `export const nothing = 1;`);
    await bench("helper.js", `throw new Error("must not be imported");`);
    await bench("e.bench.js.map", `{}`);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    globalThis.__benchOrder = [];
  });

  test("finds *.bench.js sorted by name, optionally filtered by substring", async () => {
    expect(await findBenchmarks(dir)).toEqual(["a-webhooks.bench.js", "b-fails.bench.js", "c-webhooks.bench.js", "d-norun.bench.js"]);
    expect(await findBenchmarks(dir, "webhooks")).toEqual(["a-webhooks.bench.js", "c-webhooks.bench.js"]);
  });

  test("runs every benchmark in order with a header, keeps going after a failure, returns 1", async () => {
    const lines: string[] = [];
    const code = await runBenchmarks(dir, undefined, (l) => lines.push(l));
    expect(code).toBe(1);
    expect(globalThis.__benchOrder).toEqual(["a", "b", "c"]);
    const text = lines.join("\n");
    expect(lines.filter((l) => l.startsWith("\n=== "))).toEqual(["\n=== a-webhooks ===", "\n=== b-fails ===", "\n=== c-webhooks ===", "\n=== d-norun ==="]);
    expect(text).toMatch(/--- a-webhooks\.bench\.js: done in \d+\.\d s/);
    expect(text).toMatch(/--- b-fails\.bench\.js: FAILED/);
    expect(text).toContain("boom in b");
    expect(text).toContain("d-norun.bench.js does not export run()");
    expect(text).toContain("2 of 4 benchmark(s) failed: b-fails.bench.js, d-norun.bench.js");
  });

  test("returns 0 when all selected benchmarks pass, 1 when the filter matches nothing", async () => {
    const lines: string[] = [];
    expect(await runBenchmarks(dir, "webhooks", (l) => lines.push(l))).toBe(0);
    expect(globalThis.__benchOrder).toEqual(["a", "c"]);
    expect(await runBenchmarks(dir, "no-such", (l) => lines.push(l))).toBe(1);
    expect(lines.at(-1)).toMatch(/No benchmark .* matches "no-such"/);
  });
});
