import { formatLock, judgeLock, LOCK_LEASE_MS, parseLock, startTimeFromStat, type LockOwner, type LockRecord, type Running } from "../../src/store/lock.js";

/** The embedded database's lock, decided from the recorded owner, this process, and what runs under the pid. */
describe("judgeLock", () => {
  const self: LockOwner = { host: "bounty-bot-0", bootId: "boot-a", pidNs: "pid:[4026531836]", pid: 1, startTime: "900" };
  const owner = (o: Partial<LockOwner> = {}): LockRecord => ({ kind: "owner", owner: { ...self, pid: 7, startTime: "500", ...o } });

  test.each<[string, LockRecord, Running, ReturnType<typeof judgeLock>]>([
    ["its pid is not running", owner(), null, { kind: "stale" }],
    ["its pid runs with the recorded start time", owner(), "500", { kind: "live" }],
    ["its pid runs another process (a reused pid)", owner(), "501", { kind: "stale" }],
    ["its pid runs, start time unreadable here", owner(), undefined, { kind: "live" }],
    ["no start time recorded and its pid runs", owner({ startTime: undefined }), "500", { kind: "live" }],
    ["an earlier life of this pid (a restarted container's pid 1)", owner({ pid: 1, startTime: "300" }), "900", { kind: "stale" }],
    ["this very process, left behind", owner({ pid: 1, startTime: "900" }), "900", { kind: "stale" }],
    ["another host, pid 1", owner({ host: "bounty-bot-1", pid: 1 }), "900", { kind: "foreign", why: "from host bounty-bot-1" }],
    ["another host, pid not running here", owner({ host: "bounty-bot-1" }), null, { kind: "foreign", why: "from host bounty-bot-1" }],
    ["another boot", owner({ bootId: "boot-b" }), null, { kind: "foreign", why: "from another boot of this host" }],
    ["another pid namespace (a second container on this node)", owner({ pidNs: "pid:[4026532201]", pid: 1 }), "900", { kind: "foreign", why: "from another container on this host" }],
    ["an older release's bare pid, running", { kind: "legacy", pid: 1 }, "900", { kind: "foreign", why: "written by an older bounty-bot, without its host" }],
    ["an older release's bare pid, not running", { kind: "legacy", pid: 7 }, null, { kind: "stale" }],
    ["a garbled file", { kind: "garbled" }, null, { kind: "stale" }],
  ])("%s", (_, record, running, verdict) => {
    expect(judgeLock(record, self, running)).toEqual(verdict);
  });

  test("a foreign lock is stale once its heartbeat is older than the lease, never before; a live local one never", () => {
    const foreign = owner({ host: "other-pod" });
    expect(judgeLock(foreign, self, null, LOCK_LEASE_MS)).toEqual({ kind: "foreign", why: "from host other-pod" });
    expect(judgeLock(foreign, self, null, undefined)).toEqual({ kind: "foreign", why: "from host other-pod" });
    expect(judgeLock(foreign, self, null, LOCK_LEASE_MS + 1)).toEqual({ kind: "stale" });
    expect(judgeLock({ kind: "legacy", pid: 1 }, self, "900", LOCK_LEASE_MS * 10)).toEqual({ kind: "foreign", why: "written by an older bounty-bot, without its host" });
    expect(judgeLock(owner({ pid: 900, startTime: "900" }), self, "900", LOCK_LEASE_MS * 10)).toEqual({ kind: "live" });
  });

  test("a field one side lacks is a difference: a lock written without a boot id is foreign to a process that has one", () => {
    expect(judgeLock(owner({ bootId: undefined }), self, null)).toEqual({ kind: "foreign", why: "from another boot of this host" });
  });
});

describe("the lock file's text", () => {
  test("round-trips an owner", () => {
    const o: LockOwner = { host: "h", bootId: "b", pidNs: "pid:[1]", pid: 42, startTime: "77", since: "2026-01-01T00:00:00.000Z" };
    expect(parseLock(formatLock(o))).toEqual({ kind: "owner", owner: o });
  });
  test.each([
    ["", { kind: "garbled" }],
    ["123\n", { kind: "legacy", pid: 123 }],
    ["0\n", { kind: "garbled" }],
    ['{"host":"h","pid":-1}', { kind: "garbled" }],
    ['{"host":"h","pid":1.5}', { kind: "garbled" }],
    ['{"pid":3}', { kind: "garbled" }],
    ['{"host":"h","pid":3,"bootId":5}', { kind: "garbled" }],
    ['{"host":"h","pid":3,"extra":true}', { kind: "owner", owner: { host: "h", pid: 3 } }],
    ["null", { kind: "garbled" }],
  ])("%j", (text, record) => {
    expect(parseLock(text)).toEqual(record);
  });
});

describe("startTimeFromStat", () => {
  test("reads field 22, after a command name holding spaces and parentheses", () => {
    const tail = "S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 302343 3133440 379";
    expect(startTimeFromStat(`4242 (node) ${tail}`)).toBe("302343");
    expect(startTimeFromStat(`4242 (a) (b c) ${tail}`)).toBe("302343");
  });
  test("nothing readable is undefined", () => {
    expect(startTimeFromStat("4242 (node) S 1")).toBeUndefined();
  });
});
