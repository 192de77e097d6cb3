import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCK_FILE, openDatabase } from "../../src/store/db.js";

/**
 * The embedded database (PGlite on a directory) is one process's: the CLI run while the app is up,
 * or a second replica, must be refused, not allowed to corrupt it. A crashed owner's lock is taken over.
 */
describe("the embedded database's lock file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bounty-lock-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const lockPath = () => join(dir, LOCK_FILE);

  /** A process that stays alive until killed. */
  function sleeper() {
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    return { pid: child.pid!, stop: () => new Promise<void>((r) => (child.once("exit", () => r()), child.kill("SIGKILL"))) };
  }

  test("holds the owner's pid while open, refuses a second open, and is removed on close", async () => {
    const db = await openDatabase({ dataDir: dir });
    expect(readFileSync(lockPath(), "utf8").trim()).toBe(String(process.pid));
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(
      `the embedded database in ${dir} is in use by process ${process.pid} (this one); close it first, or use DATABASE_URL to share a PostgreSQL server`,
    );
    // The same directory spelled differently is the same database.
    await expect(openDatabase({ dataDir: `${dir}/` })).rejects.toThrow(/in use by process/);
    await db.close();
    expect(existsSync(lockPath())).toBe(false);
    const again = await openDatabase({ dataDir: dir });
    await again.query("SELECT 1");
    await again.close();
  });

  test("refuses while another live process holds it, naming that process", async () => {
    const other = sleeper();
    try {
      writeFileSync(lockPath(), `${other.pid}\n`);
      await expect(openDatabase({ dataDir: dir })).rejects.toThrow(
        `the embedded database in ${dir} is in use by process ${other.pid}; stop it, or use DATABASE_URL to share a PostgreSQL server`,
      );
      expect(readFileSync(lockPath(), "utf8").trim()).toBe(String(other.pid));
    } finally {
      await other.stop();
    }
    // Its owner is gone (as after SIGKILL): the lock is stale and taken over.
    const db = await openDatabase({ dataDir: dir });
    expect(readFileSync(lockPath(), "utf8").trim()).toBe(String(process.pid));
    await db.close();
  });

  test("a lock left with our own pid by an earlier life (a container's pid 1) is stale", async () => {
    writeFileSync(lockPath(), `${process.pid}\n`);
    const db = await openDatabase({ dataDir: dir });
    await db.close();
    expect(existsSync(lockPath())).toBe(false);
  });

  test("an empty or garbled lock file is taken over after a moment", async () => {
    writeFileSync(lockPath(), "");
    const db = await openDatabase({ dataDir: dir });
    expect(readFileSync(lockPath(), "utf8").trim()).toBe(String(process.pid));
    await db.close();
  });

  test("close() never removes a lock that is not ours", async () => {
    const db = await openDatabase({ dataDir: dir });
    const other = sleeper();
    try {
      writeFileSync(lockPath(), `${other.pid}\n`); // as if someone had forced their way in
      await db.close();
      expect(readFileSync(lockPath(), "utf8").trim()).toBe(String(other.pid));
    } finally {
      await other.stop();
    }
  });

  test("memory:// needs no lock: throwaway databases open side by side and leave no files", async () => {
    const a = await openDatabase({ dataDir: "memory://" });
    const b = await openDatabase({ dataDir: "memory://" });
    await a.close();
    await b.close();
    expect(existsSync("memory:")).toBe(false);
  });
});
