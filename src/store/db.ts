import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { redact, redactError } from "../core/redact.js";
import { lockDataDir } from "./lock.js";
import { migrate } from "./migrations.js";
import { seedFromTemplate, templatePath } from "./template.js";

/** Where lost connections are reported; a pino logger fits. */
export interface DbLog {
  warn(obj: object, msg: string): void;
}

/** The little of SQL the app needs; PGlite and PostgreSQL both provide it with the same SQL. */
export interface Db {
  /** Which engine this is, for logs and tests. */
  readonly kind: "pglite" | "postgres";
  /**
   * `name` makes a hot statement a prepared one on PostgreSQL (parsed and planned once per
   * connection, as node-postgres's named queries are); the same name must always carry the same SQL.
   * PGlite ignores it.
   */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], opts?: { name?: string }): Promise<T[]>;
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

/** A jsonb column's value: parsed by the driver, or still text (kept for safety across engines). */
export const fromJson = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;

/** int8 columns come back as bigint from both engines (pg would give strings). */
const INT8_OID = 20;
pg.types.setTypeParser(INT8_OID, (v: string) => BigInt(v));
/**
 * PGlite would give a number when the value fits one and a bigint otherwise. Its shared buffers
 * live in the process's own memory: initdb's 128 MB default is most of an idle app's resident set,
 * for a database of a few megabytes that the operating system's page cache holds anyway.
 */
const PGLITE_OPTIONS = {
  parsers: { [INT8_OID]: (v: string) => BigInt(v) },
  startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"],
};

class PGliteDb implements Db {
  readonly kind = "pglite" as const;
  /** PGlite is one connection in one process: its advisory locks would be re-entrant here. */
  readonly #held = new Set<number>();
  /** Gives up the data directory's lock file; none for memory://. */
  readonly #unlock: () => void;
  constructor(
    private readonly pg: PGlite,
    unlock: () => void = () => undefined,
  ) {
    this.#unlock = unlock;
  }
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
    try {
      await this.pg.close();
    } finally {
      this.#unlock();
    }
  }
}

/**
 * A restart or failover of the server ends every connection. An idle one in the pool is dropped
 * and replaced on next use; one in use fails its query, and the work that ran it is retried by
 * its own loop (inbox, outbox, cards, payout run) on its next sweep, its transaction rolled back
 * by the server. Nothing here may let the 'error' event go unheard: Node would end the process.
 */
class PostgresDb implements Db {
  readonly kind = "postgres" as const;
  readonly #onLost: (err: unknown) => void;
  constructor(
    private readonly pool: pg.Pool,
    log: DbLog,
  ) {
    this.#onLost = (err) => log.warn({ err: redactError(err) }, "PostgreSQL connection lost; it is replaced on next use");
    // Emitted for idle clients; never log the client (its settings hold the password).
    pool.on("error", (err) => this.#onLost(err));
  }
  /**
   * A client of the pool, heard while checked out too (pg listens only while it is idle). The
   * listener goes on in pg's callback, synchronously: after an `await` it would come too late when
   * the server's goodbye arrives in the same read as the answer that freed the client.
   */
  #connect(): Promise<pg.PoolClient & { done(destroy?: boolean): void }> {
    return new Promise((resolve, reject) => {
      this.pool.connect((err, client) => {
        if (err || !client) return reject(err ?? new Error("no PostgreSQL connection"));
        const onError = (e: Error) => this.#onLost(e);
        client.on("error", onError);
        resolve(
          Object.assign(client, {
            done: (destroy?: boolean) => {
              client.removeListener("error", onError);
              client.release(destroy ? true : undefined);
            },
          }),
        );
      });
    });
  }
  async withLock<T>(key: number, fn: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> {
    // A connection of its own holds the lock for as long as fn runs; fn uses the pool as usual.
    const client = await this.#connect();
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
      client.done(broken);
    }
  }
  async query<T>(sql: string, params: unknown[] = [], opts: { name?: string } = {}): Promise<T[]> {
    if (opts.name) return (await this.pool.query({ name: opts.name, text: sql, values: params })).rows as T[];
    return (await this.pool.query(sql, params)).rows as T[];
  }
  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await fn({
        query: async <R>(sql: string, params: unknown[] = [], opts: { name?: string } = {}) =>
          (opts.name ? await client.query({ name: opts.name, text: sql, values: params }) : await client.query(sql, params)).rows as R[],
        exec: async (sql: string) => {
          await client.query(sql);
        },
      });
      await client.query("COMMIT");
      return result;
    } catch (err) {
      // A connection that cannot even roll back is gone; the server rolled the transaction back.
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.done(broken);
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
  /** Where lost PostgreSQL connections are reported (default: console.warn). */
  log?: DbLog;
  /**
   * The prebuilt database a fresh data directory starts from (default: the one the build wrote
   * beside this module, see store/template.ts); null, or no such file, lets PGlite run initdb.
   */
  template?: string | null;
}

const consoleLog: DbLog = { warn: (obj, msg) => console.warn(msg, (obj as { err?: Error }).err?.message ?? "") };

/** Opens the database the environment names and applies pending migrations. */
export async function openDatabase(opts: DbOptions): Promise<Db> {
  let db: Db;
  if (opts.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
      throw new Error("DATABASE_URL must start with postgres:// or postgresql://");
    }
    db = new PostgresDb(new pg.Pool({ connectionString: opts.databaseUrl, max: 10 }), opts.log ?? consoleLog);
  } else {
    const dir = opts.dataDir ?? "./data";
    if (dir.startsWith("memory://")) {
      db = new PGliteDb(await PGlite.create(dir, PGLITE_OPTIONS));
    } else {
      mkdirSync(dir, { recursive: true });
      const unlock = await lockDataDir(dir);
      try {
        const pgdata = `${dir.replace(/\/$/, "")}/pglite`;
        if (opts.template !== null) await seedFromTemplate(pgdata, opts.template ?? templatePath());
        db = new PGliteDb(await PGlite.create(pgdata, PGLITE_OPTIONS), unlock);
      } catch (err) {
        unlock();
        throw err;
      }
    }
  }
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    if (!opts.databaseUrl) throw err;
    // Say which server, never its password: driver errors may carry the URL or its settings.
    const safe = redactError(err);
    safe.message = `PostgreSQL at ${redact(opts.databaseUrl)}: ${safe.message}`;
    throw safe;
  }
  return db;
}

export { LOCK_FILE } from "./lock.js";
