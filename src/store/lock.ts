import { randomUUID } from "node:crypto";
import { linkSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";

/**
 * PGlite is one process's database: two processes writing one directory (the CLI while the app
 * runs, a second replica, two containers on one volume) would corrupt it. The data directory's
 * lock file says who holds it. A pid alone proves nothing across containers, where every app is
 * pid 1, so the lock records where that pid means something: the host name, the kernel's boot id
 * and pid namespace, and the process's start time.
 */
export const LOCK_FILE = "bounty-bot.lock";

/**
 * The holder touches its lock file this often (a heartbeat in the file's mtime). A lock from
 * another host, boot or container whose heartbeat is older than LOCK_LEASE_MS is stale: its
 * owner is gone (a pod killed by the OOM killer, a node lost), so a restarted container or a
 * replacement pod starts without an operator deleting the file by hand. A live owner never lets
 * its lease lapse, and one that finds its lock taken over stops at once.
 */
export const LOCK_HEARTBEAT_MS = 10_000;
export const LOCK_LEASE_MS = 120_000;

/** Who holds a lock, as written in the file. Fields unknown off Linux are left out. */
export interface LockOwner {
  host: string;
  /** /proc/sys/kernel/random/boot_id: a pid from another boot names nothing. */
  bootId?: string;
  /** /proc/self/ns/pid: a pid in another namespace (another container) is another process. */
  pidNs?: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot): tells a reused pid from its first owner. */
  startTime?: string;
  /** When the lock was taken, for people. */
  since?: string;
}

/** A lock file's text: an owner, a pid from a release before host names were recorded, or nothing readable. */
export type LockRecord = { kind: "owner"; owner: LockOwner } | { kind: "legacy"; pid: number } | { kind: "garbled" };

export function formatLock(owner: LockOwner): string {
  return `${JSON.stringify(owner)}\n`;
}

export function parseLock(text: string): LockRecord {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const pid = Number(trimmed);
    return Number.isSafeInteger(pid) && pid > 0 ? { kind: "legacy", pid } : { kind: "garbled" };
  }
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { kind: "garbled" };
  }
  const o = value as Record<string, unknown>;
  const optional = (k: string) => o[k] === undefined || typeof o[k] === "string";
  if (
    typeof value !== "object" ||
    value === null ||
    typeof o.host !== "string" ||
    !Number.isSafeInteger(o.pid) ||
    (o.pid as number) <= 0 ||
    !["bootId", "pidNs", "startTime", "since"].every(optional)
  ) {
    return { kind: "garbled" };
  }
  const owner: LockOwner = { host: o.host, pid: o.pid as number };
  for (const k of ["bootId", "pidNs", "startTime", "since"] as const) if (typeof o[k] === "string") owner[k] = o[k] as string;
  return { kind: "owner", owner };
}

/**
 * What the process with the recorded pid looks like here and now: not running (null), running with
 * this start time, or running with a start time we cannot read (undefined: no /proc).
 */
export type Running = string | null | undefined;

export type LockVerdict =
  /** Its owner is gone: the lock may be taken over. */
  | { kind: "stale" }
  /** Its owner is running here. */
  | { kind: "live" }
  /** From another host, boot or container: whether its owner runs cannot be known from here. */
  | { kind: "foreign"; why: string };

/**
 * Decides from the recorded owner, this process, and what runs under the recorded pid here. A lock
 * is stale only when it is from this host, boot and pid namespace, and its pid is not running or
 * is running with another start time; any doubt keeps the lock (refusing to start is recoverable,
 * two writers are not).
 */
export function judgeLock(record: LockRecord, self: LockOwner, running: Running, heartbeatAgeMs?: number): LockVerdict {
  if (record.kind === "garbled") return { kind: "stale" };
  const verdict = judgeOwner(record, self, running);
  if (verdict.kind === "foreign" && record.kind === "owner" && heartbeatAgeMs !== undefined && heartbeatAgeMs > LOCK_LEASE_MS) {
    return { kind: "stale" };
  }
  return verdict;
}

function judgeOwner(record: Exclude<LockRecord, { kind: "garbled" }>, self: LockOwner, running: Running): LockVerdict {
  if (record.kind === "legacy") {
    // An older release's lock: only its pid is known, and pid 1 is every container's.
    return running === null ? { kind: "stale" } : { kind: "foreign", why: "written by an older bounty-bot, without its host" };
  }
  const holder = record.owner;
  if (holder.host !== self.host) return { kind: "foreign", why: `from host ${holder.host}` };
  if (holder.bootId !== self.bootId) return { kind: "foreign", why: "from another boot of this host" };
  if (holder.pidNs !== self.pidNs) return { kind: "foreign", why: "from another container on this host" };
  if (running === null) return { kind: "stale" };
  // This very process (same pid, same start): the caller found it is not open here, so it was left behind.
  if (holder.pid === self.pid && holder.startTime !== undefined && holder.startTime === self.startTime) return { kind: "stale" };
  if (holder.startTime !== undefined && running !== undefined && running !== holder.startTime) return { kind: "stale" };
  return { kind: "live" };
}

/** The lock's owner described in one clause, for error messages. */
function describe(record: LockRecord): string {
  if (record.kind !== "owner") return record.kind === "legacy" ? `process ${record.pid}` : "an unknown process";
  const o = record.owner;
  return `process ${o.pid} on host ${o.host}${o.since ? ` since ${o.since}` : ""}`;
}

// ---------------------------------------------------------------------------- this process, from /proc

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat; field 2 (the command) may hold spaces and parentheses, so count after the last ")". */
export function startTimeFromStat(stat: string): string | undefined {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const value = fields[22 - 3];
  return value !== undefined && /^\d+$/.test(value) ? value : undefined;
}

function startTimeOf(pid: number): string | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : startTimeFromStat(stat);
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return undefined;
  }
}

/** Who this process is, as a lock records it. */
export function currentOwner(): LockOwner {
  const owner: LockOwner = { host: hostname(), pid: process.pid };
  const bootId = readOr("/proc/sys/kernel/random/boot_id");
  if (bootId) owner.bootId = bootId;
  const pidNs = pidNamespace();
  if (pidNs) owner.pidNs = pidNs;
  const startTime = startTimeOf(process.pid);
  if (startTime) owner.startTime = startTime;
  return owner;
}

/** What runs under pid here: null when nothing does. */
function running(pid: number): Running {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return null;
  }
  return startTimeOf(pid);
}

// ---------------------------------------------------------------------------- the lock file

/** Data directories this process has open: a second open here is refused even though the pid is ours. */
const openHere = new Set<string>();

/**
 * Takes `<dir>/bounty-bot.lock`, or throws a one-line error naming its holder. The file is written
 * whole under another name and linked into place, so a lock never exists half-written; a stale
 * one is moved aside atomically and put back if a live one replaced it meanwhile. Returns the
 * release, which removes the lock only while it is still ours.
 */
export async function lockDataDir(
  dir: string,
  opts: { onLost?: (message: string) => void; heartbeatMs?: number } = {},
): Promise<() => void> {
  const onLost =
    opts.onLost ??
    ((message: string) => {
      console.error(`bounty-bot: ${message}`);
      process.exit(1);
    });
  const key = resolve(dir);
  const path = join(dir, LOCK_FILE);
  const self = { ...currentOwner(), since: new Date().toISOString() };
  const mine = formatLock(self);
  const share = "stop it, or use DATABASE_URL to share a PostgreSQL server";
  if (openHere.has(key)) {
    throw new Error(`the embedded database in ${dir} is in use by process ${process.pid} (this one); close it first, or use DATABASE_URL to share a PostgreSQL server`);
  }
  // A name no other process can pick: two containers' pid 1 must not write one draft.
  const draft = `${path}.${randomUUID()}.new`;
  writeFileSync(draft, mine, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        create(draft, path, mine);
        openHere.add(key);
        let released = false;
        const heartbeat = setInterval(() => {
          if (readText(path) === mine) {
            const now = new Date();
            utimesSync(path, now, now);
            return;
          }
          clearInterval(heartbeat);
          // Taken over (our lease lapsed, or someone deleted the file): two writers would corrupt
          // the database, so this one stops now.
          onLost(`the embedded database lock ${path} is no longer this process's; stopping so that only one process writes ${dir}`);
        }, opts.heartbeatMs ?? LOCK_HEARTBEAT_MS);
        heartbeat.unref();
        return () => {
          if (released) return;
          released = true;
          clearInterval(heartbeat);
          openHere.delete(key);
          // Only our own lock: never remove one a later owner took over.
          if (readText(path) === mine) unlinkQuietly(path);
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const text = readText(path);
      if (text === undefined) continue; // removed meanwhile: try again
      const record = parseLock(text);
      if (record.kind === "garbled" && attempt < 10) {
        // Created but not written yet (an older release, or a file system without links): give the writer a moment.
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const pid = record.kind === "owner" ? record.owner.pid : record.kind === "legacy" ? record.pid : undefined;
      const verdict = judgeLock(record, self, pid === undefined ? null : running(pid), heartbeatAge(path));
      if (verdict.kind === "live") {
        throw new Error(`the embedded database in ${dir} is in use by process ${pid}; ${share} (held by ${describe(record)})`);
      }
      if (verdict.kind === "foreign") {
        throw new Error(
          `the embedded database in ${dir} is locked by ${describe(record)}, ${verdict.why}; ${share}` +
            ` (it is taken over once its heartbeat is ${LOCK_LEASE_MS / 1000} s old; if you have checked that it no longer runs, delete ${path})`,
        );
      }
      // Stale. Move it aside atomically, then make sure what we moved is the stale lock and not
      // a fresh one another process wrote since we read it; if it is fresh, put it back.
      const aside = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      if (readText(aside) !== text) {
        try {
          linkSync(aside, path);
        } catch {
          // A third process locked meanwhile; its lock stands and the next attempt sees it.
        }
      }
      unlinkQuietly(aside);
    }
  } finally {
    unlinkQuietly(draft);
  }
  throw new Error(`could not lock the embedded database in ${dir} (${path} keeps changing); is another bounty-bot starting?`);
}

/** Creates path with text, failing with EEXIST when it exists; whole at once where the file system can link. */
function create(draft: string, path: string, text: string): void {
  try {
    linkSync(draft, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") throw err;
    // No hard links here (some network file systems): O_EXCL, and readers wait out the empty moment.
    writeFileSync(path, text, { flag: "wx" });
  }
}

/** Milliseconds since the lock file's heartbeat (its mtime); undefined when it cannot be read. */
function heartbeatAge(path: string): number | undefined {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** A lock file's text; undefined when there is none. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
