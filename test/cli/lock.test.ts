import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { LOCK_FILE, openDatabase } from "../../src/store/db.js";
import { currentOwner, formatLock, LOCK_LEASE_MS, lockDataDir, parseLock, startTimeFromStat, type LockOwner } from "../../src/store/lock.js";

/**
 * The embedded database (PGlite on a directory) is one process's: the CLI run while the app is up,
 * a second replica, or another container on the same volume, must be refused, not allowed to corrupt it.
 * A crashed owner's lock is taken over when it is provably gone: this host, boot and pid namespace, and
 * its pid not running or running another process.
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
  const holder = () => {
    const record = parseLock(readFileSync(lockPath(), "utf8"));
    return record.kind === "owner" ? record.owner : record;
  };
  /** The lock a live process would write for itself: this host, boot and namespace, its pid and start time. */
  const lockOf = (pid: number, overrides: Partial<LockOwner> = {}) =>
    formatLock({ ...currentOwner(), pid, startTime: startTimeFromStat(readFileSync(`/proc/${pid}/stat`, "utf8")), since: "2026-01-01T00:00:00.000Z", ...overrides });

  /** A process that stays alive until killed. */
  function sleeper() {
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    return { pid: child.pid!, stop: () => new Promise<void>((r) => (child.once("exit", () => r()), child.kill("SIGKILL"))) };
  }

  test("holds the owner's pid while open, refuses a second open, and is removed on close", async () => {
    const db = await openDatabase({ dataDir: dir });
    expect(holder()).toMatchObject({ ...currentOwner(), since: expect.any(String) });
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

  test("refuses while another live process holds it, naming that process, and never deletes its lock", async () => {
    const other = sleeper();
    const lock = lockOf(other.pid);
    try {
      writeFileSync(lockPath(), lock);
      await expect(openDatabase({ dataDir: dir })).rejects.toThrow(
        `the embedded database in ${dir} is in use by process ${other.pid}; stop it, or use DATABASE_URL to share a PostgreSQL server` +
          ` (held by process ${other.pid} on host ${hostname()} since 2026-01-01T00:00:00.000Z)`,
      );
      expect(readFileSync(lockPath(), "utf8")).toBe(lock);
    } finally {
      await other.stop();
    }
    // Its owner is gone (as after SIGKILL): the lock is stale and taken over.
    const db = await openDatabase({ dataDir: dir });
    expect(holder()).toMatchObject({ pid: process.pid, startTime: currentOwner().startTime });
    await db.close();
    expect(existsSync(lockPath())).toBe(false);
  });

  test("a stale lock from this host and boot whose pid is not running is taken over", async () => {
    const gone = sleeper();
    await gone.stop();
    writeFileSync(lockPath(), lockOf(process.pid, { pid: gone.pid }));
    const db = await openDatabase({ dataDir: dir });
    expect(holder()).toMatchObject({ pid: process.pid });
    await db.close();
  });

  test("a lock whose pid now runs another process (another start time) is taken over", async () => {
    const other = sleeper();
    try {
      const real = startTimeFromStat(readFileSync(`/proc/${other.pid}/stat`, "utf8"))!;
      writeFileSync(lockPath(), lockOf(other.pid, { startTime: String(BigInt(real) - 1n) }));
      const db = await openDatabase({ dataDir: dir });
      expect(holder()).toMatchObject({ pid: process.pid });
      await db.close();
    } finally {
      await other.stop();
    }
  });

  test("a lock left by an earlier life of our own pid (a container's pid 1 restarted) is stale", async () => {
    writeFileSync(lockPath(), lockOf(process.pid, { startTime: "1" }));
    const db = await openDatabase({ dataDir: dir });
    await db.close();
    expect(existsSync(lockPath())).toBe(false);
  });

  // Two containers on one volume: both are pid 1, so a pid says nothing about the other one.
  test.each([
    ["another host", { host: "bounty-bot-7c9f-x2v4q" }, "from host bounty-bot-7c9f-x2v4q"],
    ["another boot", { bootId: "00000000-0000-4000-8000-000000000000" }, "from another boot of this host"],
    ["another pid namespace", { pidNs: "pid:[1]" }, "from another container on this host"],
  ])("a forged lock from %s is refused and left in place, whatever its pid", async (_, foreign, why) => {
    for (const pid of [1, process.pid]) {
      const lock = formatLock({ ...currentOwner(), pid, startTime: "12345", since: "2026-01-01T00:00:00.000Z", ...foreign });
      writeFileSync(lockPath(), lock);
      const host = (foreign as Partial<LockOwner>).host ?? hostname();
      await expect(openDatabase({ dataDir: dir })).rejects.toThrow(
        `the embedded database in ${dir} is locked by process ${pid} on host ${host} since 2026-01-01T00:00:00.000Z, ${why};` +
          ` stop it, or use DATABASE_URL to share a PostgreSQL server (it is taken over once its heartbeat is 120 s old;` +
          ` if you have checked that it no longer runs, delete ${lockPath()})`,
      );
      expect(readFileSync(lockPath(), "utf8")).toBe(lock);
    }
  });

  test("a foreign lock whose heartbeat is older than the lease is taken over (a killed pod's lock does not need a human)", async () => {
    const lock = formatLock({ ...currentOwner(), host: "bounty-bot-7c9f-x2v4q", pid: 1, startTime: "12345", since: "2026-01-01T00:00:00.000Z" });
    writeFileSync(lockPath(), lock);
    const fresh = new Date(Date.now() - LOCK_LEASE_MS + 10_000);
    utimesSync(lockPath(), fresh, fresh);
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow("from host bounty-bot-7c9f-x2v4q");
    const lapsed = new Date(Date.now() - LOCK_LEASE_MS - 10_000);
    utimesSync(lockPath(), lapsed, lapsed);
    const db = await openDatabase({ dataDir: dir });
    expect(holder()).toMatchObject({ pid: process.pid, host: hostname() });
    await db.close();
  });

  test("the holder keeps its heartbeat fresh, and stops when it finds its lock taken over", async () => {
    const lost: string[] = [];
    const release = await lockDataDir(dir, { heartbeatMs: 20, onLost: (m) => lost.push(m) });
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPath(), old, old);
    await new Promise((r) => setTimeout(r, 100));
    expect(Date.now() - statSync(lockPath()).mtimeMs).toBeLessThan(5_000);
    expect(lost).toEqual([]);
    writeFileSync(lockPath(), formatLock({ ...currentOwner(), host: "bounty-bot-new-pod", pid: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    expect(lost).toEqual([`the embedded database lock ${lockPath()} is no longer this process's; stopping so that only one process writes ${dir}`]);
    release();
    expect(readFileSync(lockPath(), "utf8")).toContain("bounty-bot-new-pod");
  });

  test("an older release's bare-pid lock is taken over only when that pid is not running", async () => {
    writeFileSync(lockPath(), `${process.pid}\n`); // our pid is running: this process, or a container's pid 1
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(`is locked by process ${process.pid}, written by an older bounty-bot, without its host;`);
    expect(readFileSync(lockPath(), "utf8")).toBe(`${process.pid}\n`);
    const gone = sleeper();
    await gone.stop();
    writeFileSync(lockPath(), `${gone.pid}\n`);
    const db = await openDatabase({ dataDir: dir });
    expect(holder()).toMatchObject({ pid: process.pid });
    await db.close();
  });

  test("an empty or garbled lock file is taken over after a moment", async () => {
    for (const text of ["", "{\"host\":"]) {
      writeFileSync(lockPath(), text);
      const db = await openDatabase({ dataDir: dir });
      expect(holder()).toMatchObject({ pid: process.pid });
      await db.close();
    }
  });

  test("close() never removes a lock that is not ours", async () => {
    const db = await openDatabase({ dataDir: dir });
    const other = sleeper();
    try {
      const lock = lockOf(other.pid);
      writeFileSync(lockPath(), lock); // as if someone had forced their way in
      await db.close();
      expect(readFileSync(lockPath(), "utf8")).toBe(lock);
    } finally {
      await other.stop();
    }
  });

  test("leaves no draft or aside files behind", async () => {
    writeFileSync(lockPath(), lockOf(process.pid, { startTime: "1" }));
    const db = await openDatabase({ dataDir: dir });
    await db.close();
    expect(readdirSync(dir).filter((n) => n.startsWith(LOCK_FILE))).toEqual([]);
  });

  test("memory:// needs no lock: throwaway databases open side by side and leave no files", async () => {
    const a = await openDatabase({ dataDir: "memory://" });
    const b = await openDatabase({ dataDir: "memory://" });
    await a.close();
    await b.close();
    expect(existsSync("memory:")).toBe(false);
  });
});
