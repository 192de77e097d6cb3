import { randomUUID } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createGunzip } from "node:zlib";
import { PGlite } from "@electric-sql/pglite";

/**
 * A fresh embedded database, made once at build time. PGlite's own first start runs initdb in a
 * second PostgreSQL instance beside the first and copies its files through a tarball: about
 * 900 MB resident for a few seconds, more than a 512 MiB pod may have. Unpacking the files that
 * initdb would have written costs next to nothing, so the first start is as light as a restart.
 * The template is only used by the PGlite release that made it; without one, PGlite runs initdb.
 */

/** The installed PGlite's version: a data directory is only as portable as the release that wrote it. */
export function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

/** Where the build puts the template, beside this module (dist/src/store/ in the image). */
export function templatePath(dir = dirname(fileURLToPath(import.meta.url)), version = pgliteVersion()): string {
  return join(dir, `pglite-template-${version}.tar.gz`);
}

/** Runs initdb (in memory) and writes its data directory as a gzipped tarball. Build time only. */
export async function writeTemplate(file = templatePath()): Promise<void> {
  const pg = await PGlite.create("memory://");
  try {
    const tar = await pg.dumpDataDir("gzip");
    const draft = `${file}.${process.pid}.tmp`;
    writeFileSync(draft, Buffer.from(await tar.arrayBuffer()));
    renameSync(draft, file);
  } finally {
    await pg.close();
  }
}

// ---------------------------------------------------------------------------- reading the tarball

export type TarEntry = { type: "file"; name: string; mode: number; size: number } | { type: "dir"; name: string; mode: number } | { type: "end" };

const BLOCK = 512;

function field(block: Uint8Array, start: number, length: number): string {
  const bytes = block.subarray(start, start + length);
  const nul = bytes.indexOf(0);
  return Buffer.from(nul === -1 ? bytes : bytes.subarray(0, nul)).toString("utf8");
}

function octal(block: Uint8Array, start: number, length: number, what: string): number {
  const text = field(block, start, length).trim();
  if (!/^[0-7]+$/.test(text)) throw new Error(`tar header: bad ${what} "${text}"`);
  return parseInt(text, 8);
}

/**
 * One 512-byte ustar header. Only what a data directory holds is accepted: plain files and
 * directories, under relative names without "..". Anything else is an error, never a guess.
 */
export function parseTarHeader(block: Uint8Array): TarEntry {
  if (block.length !== BLOCK) throw new Error("tar header: short block");
  if (block.every((b) => b === 0)) return { type: "end" };
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (sum !== octal(block, 148, 8, "checksum")) throw new Error("tar header: checksum mismatch");
  const prefix = field(block, 345, 155);
  const raw = prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100);
  const name = raw.replace(/^(\.?\/)+/, "").replace(/\/+$/, "");
  const mode = octal(block, 100, 8, "mode") & 0o777;
  const type = String.fromCharCode(block[156]!);
  // The archive's root itself ("/" or "./") is the directory being unpacked into.
  if (type === "5" && (name === "" || name === ".")) return { type: "dir", name: ".", mode };
  if (name === "" || name.split("/").some((part) => part === ".." || part === "." || part === "")) throw new Error(`tar entry: unsafe name "${raw}"`);
  if (type === "5") return { type: "dir", name, mode };
  if (type === "0" || type === "\0") return { type: "file", name, mode, size: octal(block, 124, 12, "size") };
  throw new Error(`tar entry ${name}: unsupported type "${type}"`);
}

/** Unpacks a gzipped tarball into dest (which must not exist), streaming: memory stays flat. */
async function unpack(file: string, dest: string): Promise<void> {
  mkdirSync(dest, { mode: 0o700 });
  let pending: Buffer = Buffer.alloc(0);
  let current: { fd: number; left: number } | null = null;
  let padding = 0;
  let ended = false;
  const finishFile = (fd: number) => {
    fsyncSync(fd);
    closeSync(fd);
  };
  try {
    for await (const chunk of createReadStream(file).pipe(createGunzip())) {
      pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
      while (!ended) {
        if (current) {
          const n = Math.min(current.left, pending.length);
          if (n > 0) writeSync(current.fd, pending, 0, n);
          current.left -= n;
          pending = pending.subarray(n);
          if (current.left > 0) break;
          finishFile(current.fd);
          current = null;
        }
        if (padding > 0) {
          const n = Math.min(padding, pending.length);
          padding -= n;
          pending = pending.subarray(n);
          if (padding > 0) break;
        }
        if (pending.length < BLOCK) break;
        const entry = parseTarHeader(pending.subarray(0, BLOCK));
        pending = pending.subarray(BLOCK);
        if (entry.type === "end") {
          ended = true;
        } else if (entry.type === "dir") {
          mkdirSync(join(dest, entry.name), { recursive: true, mode: entry.mode });
        } else {
          const path = join(dest, entry.name);
          mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
          current = { fd: openSync(path, "wx", entry.mode), left: entry.size };
          padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
        }
      }
    }
  } finally {
    if (current) closeSync(current.fd);
  }
  if (!ended || current) throw new Error(`${file} is truncated`);
  if (!existsSync(join(dest, "PG_VERSION"))) throw new Error(`${file} holds no PostgreSQL data directory`);
}

/**
 * Makes pgdata a fresh database from the template when pgdata does not exist yet; returns whether
 * it did. The caller holds the data directory's lock. Unpacked beside pgdata, then renamed into
 * place, so a crash midway leaves no half database, only a scratch directory removed next time.
 */
export async function seedFromTemplate(pgdata: string, template = templatePath()): Promise<boolean> {
  const parent = dirname(resolve(pgdata));
  const scratch = `${basename(pgdata)}.seed-`;
  for (const name of readdirSync(parent)) {
    if (name.startsWith(scratch)) rmSync(join(parent, name), { recursive: true, force: true });
  }
  if (existsSync(pgdata) || !existsSync(template)) return false;
  const tmp = join(parent, `${scratch}${randomUUID()}`);
  try {
    await unpack(template, tmp);
    renameSync(tmp, pgdata);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return true;
}

const isMain = process.argv[1] !== undefined && pathToFileURL(resolve(process.argv[1])).href === import.meta.url;
if (isMain) {
  // `node dist/src/store/template.js`: part of the build (npm run build, the Dockerfile).
  // One per PGlite release, and initdb of one release writes the same database: made once.
  const file = templatePath();
  if (existsSync(file)) {
    console.log(`${file} is up to date`);
  } else {
    await writeTemplate(file);
    console.log(`wrote ${file}`);
  }
}
