import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { openDatabase } from "../../src/store/db.js";
import { parseTarHeader, pgliteVersion, seedFromTemplate, templatePath, writeTemplate } from "../../src/store/template.js";

/**
 * A fresh embedded database starts from the template the build made (one PGlite instance, no
 * initdb beside it: a first start fits a 512 MiB pod); a data directory that exists is never touched.
 */
describe("the prebuilt embedded database", () => {
  let work: string;
  let template: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "bounty-template-"));
    template = templatePath(work);
    await writeTemplate(template);
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });
  const fresh = () => mkdtempSync(join(work, "data-"));

  test("is named for the PGlite release that made it, and holds a PostgreSQL data directory", () => {
    expect(template).toBe(join(work, `pglite-template-${pgliteVersion()}.tar.gz`));
    const names = execFileSync("tar", ["tzf", template], { encoding: "utf8" }).split("\n");
    expect(names.map((n) => n.replace(/^\/+/, ""))).toEqual(expect.arrayContaining(["PG_VERSION", "global/pg_control", "base/1/PG_VERSION"]));
  });

  test("a fresh data directory starts from it, migrates, and keeps what is written across a restart", async () => {
    const dir = fresh();
    const db = await openDatabase({ dataDir: dir, template });
    // The files are the running server's own major version.
    const [{ v }] = await db.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    expect(readFileSync(join(dir, "pglite", "PG_VERSION"), "utf8").trim()).toBe(String(Math.floor(Number(v) / 10000)));
    await db.query("CREATE TABLE t (n int8)");
    await db.query("INSERT INTO t VALUES ($1)", [21_000_000n * 100_000_000n]);
    await db.close();
    const again = await openDatabase({ dataDir: dir, template });
    expect(await again.query("SELECT n FROM t")).toEqual([{ n: 2_100_000_000_000_000n }]);
    // Only the database and its lock were ever made here: no scratch directory is left behind.
    await again.close();
    expect(readdirSync(dir).sort()).toEqual(["pglite"]);
  });

  test("is what a fresh directory is made of: the template's cluster, not a second initdb", async () => {
    const ids: string[] = [];
    for (const template_ of [template, template, null]) {
      const db = await openDatabase({ dataDir: fresh(), template: template_ });
      const [{ id }] = await db.query<{ id: bigint }>("SELECT system_identifier AS id FROM pg_control_system()");
      ids.push(String(id));
      await db.close();
    }
    // initdb gives every cluster its own identifier; two copies of one template share it.
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  test("PGlite's shared buffers are sized for the bot's database, not initdb's 128 MB default", async () => {
    const dir = fresh();
    const db = await openDatabase({ dataDir: dir, template });
    expect(await db.query("SHOW shared_buffers")).toEqual([{ shared_buffers: "16MB" }]);
    await db.close();
  });

  test("an existing data directory is never replaced; a crashed unpack's scratch directory is removed", async () => {
    const dir = fresh();
    mkdirSync(join(dir, "pglite"));
    writeFileSync(join(dir, "pglite", "keep"), "mine");
    mkdirSync(join(dir, "pglite.seed-crashed"));
    writeFileSync(join(dir, "pglite.seed-crashed", "PG_VERSION"), "17\n");
    expect(await seedFromTemplate(join(dir, "pglite"), template)).toBe(false);
    expect(readdirSync(join(dir, "pglite"))).toEqual(["keep"]);
    expect(readdirSync(dir)).toEqual(["pglite"]);
  });

  test("without a template (another PGlite release, or a build that skipped it) PGlite initialises the directory itself", async () => {
    const dir = fresh();
    expect(await seedFromTemplate(join(dir, "pglite"), templatePath(work, "0.0.0"))).toBe(false);
    expect(existsSync(join(dir, "pglite"))).toBe(false);
    const db = await openDatabase({ dataDir: dir, template: templatePath(work, "0.0.0") });
    expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    await db.close();
  });

  test("a damaged template is refused with its name and leaves nothing behind", async () => {
    const dir = fresh();
    const whole = gunzipSync(readFileSync(template));
    const damaged = join(work, "damaged.tar.gz");
    writeFileSync(damaged, gzipSync(whole.subarray(0, 3 * 1024 * 1024)));
    await expect(seedFromTemplate(join(dir, "pglite"), damaged)).rejects.toThrow(`${damaged} is truncated`);
    expect(readdirSync(dir)).toEqual([]);
    await expect(openDatabase({ dataDir: dir, template: damaged })).rejects.toThrow(/is truncated/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("parseTarHeader", () => {
  /** A ustar header block as tar(1) writes one. */
  function header(name: string, type: string, size = 0, mode = 0o600): Buffer {
    const b = Buffer.alloc(512);
    b.write(name, 0, "utf8");
    b.write(`${mode.toString(8).padStart(7, "0")}\0`, 100);
    b.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
    b.write(type, 156);
    b.write("ustar\x0000", 257);
    b.fill(0x20, 148, 156);
    const sum = b.reduce((s, x) => s + x, 0);
    b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    return b;
  }

  test("reads files and directories, relative to the archive's root", () => {
    expect(parseTarHeader(header("/base/1/2608", "0", 8192))).toEqual({ type: "file", name: "base/1/2608", mode: 0o600, size: 8192 });
    expect(parseTarHeader(header("/pg_wal/", "5", 0, 0o750))).toEqual({ type: "dir", name: "pg_wal", mode: 0o750 });
    expect(parseTarHeader(header("./", "5", 0, 0o700))).toEqual({ type: "dir", name: ".", mode: 0o700 });
    expect(parseTarHeader(Buffer.alloc(512))).toEqual({ type: "end" });
  });

  test.each([
    ["a name climbing out", header("../../etc/passwd", "0"), 'unsafe name "../../etc/passwd"'],
    ["a symbolic link", header("pg_wal", "2"), 'unsupported type "2"'],
    ["a hard link", header("base/1/x", "1"), 'unsupported type "1"'],
    ["a bad checksum", Buffer.from(header("PG_VERSION", "0", 3)).fill(0x41, 0, 1), "checksum mismatch"],
  ])("refuses %s", (_, block, message) => {
    expect(() => parseTarHeader(block)).toThrow(message);
  });
});
