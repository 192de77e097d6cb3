import { randomBytes } from "node:crypto";
import pg from "pg";
import { openDatabase, type Db } from "../../src/store/db.js";

/**
 * The engines every storage test runs on: PGlite always; PostgreSQL when DATABASE_URL names a
 * server (.ci/run starts one). Each test file gets a database of its own on the server.
 */
export const ENGINES: Array<"pglite" | "postgres"> = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

if (!process.env.DATABASE_URL && !process.env.BOUNTY_QUIET_DB_NOTE) {
  process.env.BOUNTY_QUIET_DB_NOTE = "1";
  console.warn("DATABASE_URL is not set: storage tests run on PGlite only (.ci/run also runs them on PostgreSQL).");
}

export interface TestDb {
  db: Db;
  close(): Promise<void>;
}

export async function createTestDb(engine: "pglite" | "postgres"): Promise<TestDb> {
  if (engine === "pglite") {
    const db = await openDatabase({ dataDir: "memory://" });
    return { db, close: () => db.close() };
  }
  const server = await createServerDatabase();
  const db = await openDatabase({ databaseUrl: server.url });
  return {
    db,
    async close() {
      await db.close();
      await server.drop();
    },
  };
}

/** Returns the URL of a fresh database on the server (for tests that open several connections). */
export async function createServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL!;
  const name = `bounty_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
