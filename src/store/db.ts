import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { redact, redactError } from "../core/redact.js";
import { migrate } from "./migrations.js";

/** Where lost connections are reported; a pino logger fits. */
export interface DbLog {
  warn(obj: object, msg: string): void;
}

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

/** A jsonb column's value: parsed by the driver, or still text (kept for safety across engines). */
export const fromJson = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;

/** int8 columns come back as bigint from both engines (pg would give strings). */
const INT8_OID = 20;
pg.types.setTypeParser(INT8_OID, (v: string) => BigInt(v));
/** PGlite would give a number when the value fits one and a bigint otherwise. */
const PGLITE_OPTIONS = { parsers: { [INT8_OID]: (v: string) => BigInt(v) } };

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
  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
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
        query: async <R>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as R[],
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
        db = new PGliteDb(await PGlite.create(`${dir.replace(/\/$/, "")}/pglite`, PGLITE_OPTIONS), unlock);
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

// ---------------------------------------------------------------------------- the data directory's lock

export const LOCK_FILE = "bounty-bot.lock";

/** Data directories this process has open: a second open here is refused even though the pid is ours. */
const openHere = new Set<string>();

/**
 * PGlite is one process's database: two processes writing one directory (the CLI while the app
 * runs, a second replica) would corrupt it. `<dir>/bounty-bot.lock` holds the owner's pid, created
 * with O_EXCL; a lock whose process is gone (a crash, SIGKILL) is taken over. A lock holding our own
 * pid but not opened here is stale too: in a container the app is pid 1 on every start.
 */
async function lockDataDir(dir: string): Promise<() => void> {
  const key = resolve(dir);
  const path = join(dir, LOCK_FILE);
  const inUse = (pid: number) =>
    new Error(
      pid === process.pid
        ? `the embedded database in ${dir} is in use by process ${pid} (this one); close it first, or use DATABASE_URL to share a PostgreSQL server`
        : `the embedded database in ${dir} is in use by process ${pid}; stop it, or use DATABASE_URL to share a PostgreSQL server` +
          ` (if process ${pid} is not bounty-bot, delete ${path})`,
    );
  if (openHere.has(key)) throw inUse(process.pid);
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: "wx" });
      openHere.add(key);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        openHere.delete(key);
        // Only our own lock: never remove one a later owner took over.
        if (readPid(path) === process.pid) unlinkQuietly(path);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = readPid(path);
    if (holder === undefined) continue; // removed meanwhile: try again
    if (holder === null && attempt < 10) {
      // Created but its pid not written yet (or a torn file): give the writer a moment.
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    if (holder !== null && holder !== process.pid && alive(holder)) throw inUse(holder);
    // Stale. Move it aside atomically, then make sure what we moved is the stale lock and not
    // a fresh one another process wrote since we read it; if it is fresh, put it back.
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    const moved = readPid(aside);
    if (moved !== holder) {
      try {
        linkSync(aside, path);
      } catch {
        // A third process locked meanwhile; its lock stands and the next attempt sees it.
      }
    }
    unlinkQuietly(aside);
  }
  throw new Error(`could not lock the embedded database in ${dir} (${path} keeps changing); is another bounty-bot starting?`);
}

/** The pid in a lock file: undefined when there is no file, null when it holds no pid. */
function readPid(path: string): number | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  return /^\d+$/.test(text.trim()) && Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
