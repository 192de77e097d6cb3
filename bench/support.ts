/** What the benchmarks share: a throwaway PostgreSQL database, and a seeded PRNG. */
import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * A database of its own on the server `serverUrl` names (DATABASE_URL); dropped afterwards.
 * `force`: drop it WITH (FORCE), ending connections still open; without, the server waits for them.
 */
export async function throwawayDatabase(serverUrl: string, prefix: string, o: { force?: boolean } = {}): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name}${o.force === false ? "" : " WITH (FORCE)"}`);
      await c.end();
    },
  };
}

/** Small, fast, seeded PRNG (mulberry32), so every run sees the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
