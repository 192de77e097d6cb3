import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { once } from "node:events";
import ts from "typescript";
import { connectGitHubStandIn } from "../../dev/sandbox/github.js";
import { parseServeArgs } from "../../dev/sandbox/serve.js";

describe("serve.ts: the stand-in as a separate process", () => {
  test("parses its flags", () => {
    expect(parseServeArgs(["--port", "3001", "--latency-ms", "20", "--writes-per-minute", "80", "--app-id", "9", "--app-slug", "bb"])).toEqual({
      port: 3001,
      latencyMs: 20,
      secondaryRateLimit: { writesPerMinute: 80 },
      app: { id: 9, slug: "bb" },
    });
    expect(parseServeArgs([])).toEqual({ port: undefined, latencyMs: undefined, app: {} });
    expect(() => parseServeArgs(["--port", "x"])).toThrow(/--port must be a non-negative integer/);
    expect(() => parseServeArgs(["--bogus"])).toThrow();
  });

  test("runs under plain node, prints its address, is driven remotely and stops on SIGTERM", async () => {
    // Compile the three modules the script needs (node builtins only) into a scratch ES module package.
    const dir = await mkdtemp(path.join(os.tmpdir(), "standin-serve-"));
    let child: ChildProcess | undefined;
    try {
      await writeFile(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
      for (const name of ["serve", "github", "ids"]) {
        const source = await readFile(path.join(process.cwd(), "dev/sandbox", `${name}.ts`), "utf8");
        const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
        await writeFile(path.join(dir, `${name}.js`), out.outputText);
      }
      child = spawn(process.execPath, [path.join(dir, "serve.js"), "--latency-ms", "1"], { stdio: ["ignore", "pipe", "inherit"] });
      const [first] = (await once(child.stdout!, "data")) as [Buffer];
      const info = JSON.parse(first.toString().split("\n")[0]!) as { url: string; host: string; apiUrl: string };
      expect(info.apiUrl).toBe(`${info.url}/api/v3`);
      expect(info.host).toMatch(/^127\.0\.0\.1:\d+$/);

      const remote = connectGitHubStandIn(info.url);
      await remote.addRepo("k/k", { files: { ".github/bounties.yml": "a: 1\n" } });
      const issue = await remote.addIssue("k/k", { author: "bob" });
      const token = await remote.userToken("bob");
      const res = await fetch(`${info.apiUrl}/repos/k/k/issues/${issue.number}/comments`, {
        method: "POST",
        headers: { authorization: `token ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ body: "hello" }),
      });
      expect(res.status).toBe(201);
      expect((await remote.comments("k/k", issue.number)).map((c) => `${c.user.login}: ${c.body}`)).toEqual(["bob: hello"]);
      expect((await remote.writes()).map((w) => w.route)).toEqual(["POST /repos/{owner}/{repo}/issues/{issue_number}/comments"]);

      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
      child = undefined;
      await expect(fetch(`${info.url}/api/v3/repos/k/k`)).rejects.toThrow();
    } finally {
      child?.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
