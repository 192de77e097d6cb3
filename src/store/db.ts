import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { migrate } from "./migrations.js";

/** The little of SQL the app needs; PGlite and PostgreSQL both provide it with the same SQL. */
export interface Db {
  /** Which engine this is, for logs and tests. */
  readonly kind: "pglite" | "postgres";
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs fn in one transaction; rolled back if fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs fn while holding a lock named by `key` across processes (a PostgreSQL session advisory
   * lock, released by the server if this process dies). Returns { locked: false } at once, without
   * running fn, when someone else holds it.
   */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }>;
  close(): Promise<void>;
}
export type Queryable = Pick<Db, "query" | "exec">;

/** int8 columns come back as bigint from both engines (pg would give strings). */
const INT8_OID = 20;
pg.types.setTypeParser(INT8_OID, (v: string) => BigInt(v));

class PGliteDb implements Db {
  readonly kind = "pglite" as const;
  /** PGlite is one connection in one process: its advisory locks would be re-entrant here. */
  readonly #held = new Set<number>();
  constructor(private readonly pg: PGlite) {}
  async withLock<T>(key: number, fn: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> {
    if (this.#held.has(key)) return { locked: false };
    this.#held.add(key);
    try {
      return { locked: true, value: await fn() };
    } finally {
      this.#held.delete(key);
    }
  }
  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pg.query<T>(sql, params)).rows;
  }
  async exec(sql: string): Promise<void> {
    await this.pg.exec(sql);
  }
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.pg.transaction(async (tx) =>
      fn({
        query: async <R>(sql: string, params: unknown[] = []) => (await tx.query<R>(sql, params)).rows,
        exec: async (sql: string) => {
          await tx.exec(sql);
        },
      }),
    );
  }
  async close(): Promise<void> {
    await this.pg.close();
  }
}

class PostgresDb implements Db {
  readonly kind = "postgres" as const;
  constructor(private readonly pool: pg.Pool) {}
  async withLock<T>(key: number, fn: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> {
    // A connection of its own holds the lock for as long as fn runs; fn uses the pool as usual.
    const client = await this.pool.connect();
    let broken = false;
    try {
      const [row] = (await client.query("SELECT pg_try_advisory_lock($1) AS ok", [key])).rows as Array<{ ok: boolean }>;
      if (!row?.ok) return { locked: false };
      try {
        return { locked: true, value: await fn() };
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [key]).catch(() => {
          broken = true;
        });
      }
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      // A connection whose unlock failed is destroyed, which releases the lock on the server.
      client.release(broken ? true : undefined);
    }
  }
  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
  }
  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await fn({
        query: async <R>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as R[],
        exec: async (sql: string) => {
          await client.query(sql);
        },
      });
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  async close(): Promise<void> {
    await this.pool.end();
  }
}

export interface DbOptions {
  /** postgres://… to use a PostgreSQL server; unset for the embedded PGlite. */
  databaseUrl?: string;
  /** Where PGlite keeps its files; "memory://" for a throwaway database. */
  dataDir?: string;
}

/** Opens the database the environment names and applies pending migrations. */
export async function openDatabase(opts: DbOptions): Promise<Db> {
  let db: Db;
  if (opts.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
      throw new Error("DATABASE_URL must start with postgres:// or postgresql://");
    }
    db = new PostgresDb(new pg.Pool({ connectionString: opts.databaseUrl, max: 10 }));
  } else {
    const dir = opts.dataDir ?? "./data";
    if (dir.startsWith("memory://")) {
      db = new PGliteDb(await PGlite.create(dir));
    } else {
      mkdirSync(dir, { recursive: true });
      db = new PGliteDb(await PGlite.create(`${dir.replace(/\/$/, "")}/pglite`));
    }
  }
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
