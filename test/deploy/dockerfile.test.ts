import { execFile, spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../..");

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name?: string;
  steps: Instruction[];
}

/** The Dockerfile's stages and their instructions (continuation lines joined, comments dropped). */
function dockerfile(): Stage[] {
  const text = readFileSync(join(root, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const stages: Stage[] = [];
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (!line || line.startsWith("#")) continue;
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (!op) throw new Error(`cannot read Dockerfile line: ${line}`);
    if (op.toUpperCase() === "FROM") {
      const [, image, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!.trim()) ?? [];
      stages.push({ image: image!, name, steps: [] });
    } else {
      if (!stages.length) throw new Error(`${op} before FROM`);
      stages.at(-1)!.steps.push({ op: op.toUpperCase(), args: args!.trim() });
    }
  }
  return stages;
}

interface Copy {
  from?: string;
  chown?: string;
  sources: string[];
  dest: string;
}
function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  const copy: Copy = { sources: [], dest: "" };
  while (words[0]?.startsWith("--")) {
    const [flag, value] = words.shift()!.slice(2).split("=");
    if (flag === "from") copy.from = value;
    else if (flag === "chown") copy.chown = value;
    else throw new Error(`COPY flag --${flag} is not understood by this test`);
  }
  copy.dest = words.pop()!;
  copy.sources = words;
  return copy;
}

/** Whether .dockerignore keeps a path (relative to the build context) out of the context. */
function ignored(path: string): boolean {
  const patterns = readFileSync(join(root, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  let out = false;
  for (const p of patterns) {
    const negate = p.startsWith("!");
    const glob = (negate ? p.slice(1) : p).replace(/\/+$/, "");
    const re = new RegExp(`^${glob.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}(/.*)?$`);
    if (re.test(path)) out = !negate;
  }
  return out;
}

const runtime = () => dockerfile().at(-1)!;
const stageNamed = (name: string) => dockerfile().find((s) => s.name === name);

describe("Dockerfile", () => {
  test("every stage is on a Node LTS of 22 or later", () => {
    const stages = dockerfile();
    expect(stages.length).toBeGreaterThanOrEqual(2); // multi-stage: the compiler never reaches the image
    for (const s of stages) {
      const [, major] = /^node:(\d+)[-.]/.exec(s.image) ?? [];
      expect(major).toBeDefined();
      expect(Number(major)).toBeGreaterThanOrEqual(22);
      expect(Number(major) % 2).toBe(0); // even majors are the LTS lines
    }
  });

  test("the image runs as the node user, owns its files, and checks /healthz with node", () => {
    const steps = runtime().steps;
    const users = steps.filter((s) => s.op === "USER").map((s) => s.args);
    expect(users.at(-1)).toBe("node");
    for (const copy of steps.filter((s) => s.op === "COPY").map((s) => parseCopy(s.args))) expect(copy.chown).toBe("node:node");
    const health = steps.filter((s) => s.op === "HEALTHCHECK");
    expect(health).toHaveLength(1);
    expect(health[0]!.args).toMatch(/CMD \["node", "-e", ".*\/healthz/);
    expect(health[0]!.args).not.toMatch(/curl|wget/);
    expect(steps.find((s) => s.op === "CMD")?.args).toBe('["node", "dist/src/main.js"]');
  });

  test("only what production runs: no bench, tests or dev-only code; dependencies installed without devDependencies", () => {
    const stages = dockerfile();
    for (const s of stages) {
      for (const step of s.steps.filter((x) => x.op === "COPY" || x.op === "ADD")) {
        const copy = parseCopy(step.args);
        expect(copy.sources).not.toContain("."); // the whole context would bring everything in
        for (const src of copy.sources) expect(src).not.toMatch(/^(\.\/)?(bench|test|dev|deploy)\b|demo|sandbox|localchain/);
      }
    }
    const fromStages = runtime()
      .steps.filter((s) => s.op === "COPY")
      .map((s) => parseCopy(s.args))
      .filter((c) => c.from);
    const modules = fromStages.find((c) => c.sources.includes("/app/node_modules"));
    expect(modules).toBeDefined();
    const deps = stageNamed(modules!.from!)!;
    expect(deps.steps.filter((s) => s.op === "RUN").map((s) => s.args).join(" && ")).toMatch(/npm (ci|prune) --omit=dev/);
    // From the build stage only the compiled production code.
    expect(fromStages.filter((c) => c.from !== modules!.from).flatMap((c) => c.sources)).toEqual(["/app/dist/src"]);
  });

  test(".dockerignore keeps secrets, local state, builds and dev-only files out of the build context", () => {
    for (const path of [
      ".env",
      ".env.production",
      "github-app.pem",
      "data/pglite/PG_VERSION",
      "node_modules/pino/package.json",
      "dist/src/main.js",
      ".git/HEAD",
      "test/app.test.ts",
      "bench/run.ts",
      "dev/demo/main.ts",
      "dev/sandbox/github.ts",
      "dev/localchain/main.ts",
    ])
      expect([path, ignored(path)]).toEqual([path, true]);
    for (const path of ["package.json", "package-lock.json", "app.yml", "tsconfig.json", "tsconfig.image.json", "src/main.ts", "src/bitcoin/wallet.ts"])
      expect([path, ignored(path)]).toEqual([path, false]);
  });
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe("the image's contents", () => {
  let work: string;
  let app: ChildProcess | undefined;
  let github: Server | undefined;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "bounty-image-"));
  });
  afterAll(async () => {
    if (app && app.exitCode === null) {
      const exited = new Promise((r) => app!.once("exit", r));
      app.kill("SIGKILL");
      await exited;
    }
    await new Promise((r) => (github ? github.close(r) : r(undefined)));
    rmSync(work, { recursive: true, force: true });
  });

  test("are enough: what the runtime stage copies, with production dependencies only, starts and answers /healthz", async () => {
    const build = join(work, "build"); // the build stage's /app
    const image = join(work, "image"); // the runtime stage's /app
    mkdirSync(image);

    // The build stage's compile step, with the same tsconfig, into the build stage's dist/.
    const buildRuns = stageNamed("build")!.steps.filter((s) => s.op === "RUN").map((s) => s.args);
    const tsc = buildRuns.map((r) => /npx tsc -p (\S+)$/.exec(r)).find(Boolean);
    expect(tsc).toBeTruthy();
    // Type errors fail a docker build: they fail here too.
    await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", tsc![1]!, "--outDir", join(build, "dist")], { cwd: root }).catch((e: { stdout: string }) => {
      throw new Error(`the build stage's tsc fails:\n${e.stdout}`);
    });
    const compiled = files(join(build, "dist"));
    expect(compiled).toContain("src/main.js");
    expect(compiled).toContain("src/cli.js");
    // Nothing outside src/ is needed by production code (tsc follows imports, so an import from dev/
    // shows up here as dist/dev/...), and no dev-only code has crept back into src/.
    expect(compiled.filter((f) => !f.startsWith("src/") || /\/(demo|sandbox|localchain)\//.test(f))).toEqual([]);

    // A stage's plain COPY instructions from the build context into its /app.
    const copyContext = (stage: Stage, into: string) => {
      for (const copy of stage.steps.filter((s) => s.op === "COPY").map((s) => parseCopy(s.args)).filter((c) => !c.from)) {
        const dest = copy.dest.startsWith("/") ? copy.dest : join("/app", copy.dest);
        for (const src of copy.sources) {
          expect(ignored(src)).toBe(false);
          const target = dest.endsWith("/") ? join(into, relative("/app", dest), src) : join(into, relative("/app", dest));
          mkdirSync(dirname(target), { recursive: true });
          cpSync(join(root, src), target, { recursive: true });
        }
      }
    };

    // The dependencies stage: its files, then `npm ci --omit=dev --omit=optional` (from the registry or npm's cache; never GitHub).
    const depsCopy = runtime()
      .steps.filter((s) => s.op === "COPY")
      .map((s) => parseCopy(s.args))
      .find((c) => c.sources.includes("/app/node_modules"))!;
    const depsStage = stageNamed(depsCopy.from!)!;
    expect(depsStage.steps.filter((s) => s.op === "RUN").map((s) => s.args)).toEqual([expect.stringMatching(/^npm ci --omit=dev --omit=optional --no-audit --no-fund( && npm cache clean --force)?$/)]);
    const deps = join(work, "deps");
    mkdirSync(deps);
    copyContext(depsStage, deps);
    await run("npm", ["ci", "--omit=dev", "--omit=optional", "--no-audit", "--no-fund"], { cwd: deps, env: { ...process.env, NODE_ENV: "production" } });

    // The runtime stage's COPY instructions.
    copyContext(runtime(), image);
    for (const copy of runtime().steps.filter((s) => s.op === "COPY").map((s) => parseCopy(s.args)).filter((c) => c.from)) {
      const from = copy.from === "build" ? build : copy.from === depsCopy.from ? deps : undefined;
      expect(from).toBeDefined();
      const dest = copy.dest.startsWith("/") ? copy.dest : join("/app", copy.dest);
      for (const src of copy.sources) cpSync(join(from!, relative("/app", src)), join(image, relative("/app", dest)), { recursive: true });
    }
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    for (const dev of Object.keys(pkg.devDependencies)) expect([dev, existsSync(join(image, "node_modules", dev))]).toEqual([dev, false]);

    // A GitHub stand-in, in case start-up asks GET /app; the machine never reaches github.com.
    github = createHttpServer((req, res) => {
      if (req.method === "GET" && req.url === "/api/v3/app") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: 1, slug: "bounty-bot", name: "bounty-bot", owner: { login: "kubernetes", type: "Organization" } }));
      } else {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"message":"Not Found"}');
      }
    });
    await new Promise<void>((r) => github!.listen(0, "127.0.0.1", r));
    const ghPort = (github.address() as { port: number }).port;

    const port = await freePort();
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const env = {
      PATH: process.env.PATH!,
      NODE_ENV: "production",
      PORT: String(port),
      DATA_DIR: join(image, "data"),
      APP_ID: "1",
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: randomBytes(32).toString("hex"),
      ALLOWED_ACCOUNTS: "kubernetes",
      GHE_HOST: `127.0.0.1:${ghPort}`,
      GHE_PROTOCOL: "http",
    };
    let output = "";
    app = spawn(process.execPath, ["dist/src/main.js"], { cwd: image, env, stdio: ["ignore", "pipe", "pipe"] });
    app.stdout!.on("data", (d) => (output += d));
    app.stderr!.on("data", (d) => (output += d));

    const healthcheck = runtime().steps.find((s) => s.op === "HEALTHCHECK")!.args;
    const probe = JSON.parse(/CMD (\[.*\])$/.exec(healthcheck)![1]!) as string[];
    expect(probe[0]).toBe("node");
    const check = () =>
      run(process.execPath, probe.slice(1), { cwd: image, env: { PATH: env.PATH, PORT: env.PORT } }).then(
        () => 0,
        (e: { code: number }) => e.code,
      );

    const deadline = Date.now() + 90_000;
    let status = 0;
    while (Date.now() < deadline && app.exitCode === null) {
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (status !== 200) throw new Error(`/healthz never answered 200 (last ${status}); the app said:\n${output}`);
    // The image's own HEALTHCHECK command agrees, and fails once the app is gone.
    expect(await check()).toBe(0);
    const exited = new Promise((r) => app!.once("exit", r));
    app.kill("SIGTERM");
    await exited;
    expect(await check()).toBe(1);
  }, 300_000);
});
