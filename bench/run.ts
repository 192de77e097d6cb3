/**
 * Benchmark runner: `npm run bench [-- <filter>]`.
 *
 * Runs every `*.bench.js` compiled next to this file (dist/bench/), sorted by
 * file name, optionally only those whose name contains <filter>. Each module
 * must export `run(): Promise<void>`. All selected benchmarks run even if one
 * fails; the process exits 1 if any failed (or none matched the filter).
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export async function findBenchmarks(dir: string, filter?: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".bench.js")).sort();
  return filter ? names.filter((n) => n.includes(filter)) : names;
}

export async function runBenchmarks(dir: string, filter?: string, out: (line: string) => void = console.log): Promise<number> {
  const names = await findBenchmarks(dir, filter);
  if (names.length === 0) {
    out(filter ? `No benchmark in ${dir} matches "${filter}".` : `No *.bench.js files in ${dir}.`);
    return 1;
  }
  const failed: string[] = [];
  for (const name of names) {
    out(`\n=== ${name.replace(/\.bench\.js$/, "")} ===`);
    const started = performance.now();
    try {
      const mod = (await import(pathToFileURL(path.join(dir, name)).href)) as { run?: unknown };
      if (typeof mod.run !== "function") throw new Error(`${name} does not export run()`);
      await (mod.run as () => Promise<void>)();
      out(`--- ${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      failed.push(name);
      out(`--- ${name}: FAILED after ${((performance.now() - started) / 1000).toFixed(1)} s`);
      out(err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
  }
  if (failed.length > 0) out(`\n${failed.length} of ${names.length} benchmark(s) failed: ${failed.join(", ")}`);
  return failed.length > 0 ? 1 : 0;
}

const isMain = process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url;
if (isMain) {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  // Exit explicitly: a benchmark that leaks a server or timer must not hang `npm run bench`.
  process.exit(await runBenchmarks(dir, process.argv[2]));
}
