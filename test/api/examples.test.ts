/**
 * The examples in examples/ work: the GitHub Actions step's curl line, run by bash with the
 * step's environment as Actions would set it, rewards the author on the app; run again (a
 * re-run of the workflow) it gets the same reward. `curl` must be installed (.ci/run installs it).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import { availableBalance, earningsOf } from "../../src/ledger/rules.js";
import { accountBalance } from "../../src/store/ledger.js";
import { github, mockUser, repoPath } from "../support/bot.js";
import { ENGINES } from "../support/databases.js";
import { useTestBot } from "../support/harness.js";
import { REPO } from "../support/payloads.js";
import { createToken, mockInstallation } from "./support.js";

const ACTIONS = "examples/github-actions-reward-flake-fix.yaml";
const PROW = "examples/prow-reward-flake-fix.yaml";

/** `${{ a.b.c }}` as Actions evaluates a property path (only what the example uses). */
function evaluate(text: string, context: Record<string, any>): string {
  return text.replace(/\$\{\{\s*([\w.]+)\s*\}\}/g, (_m, path: string) => {
    const v = path.split(".").reduce<any>((o, k) => (o === undefined ? undefined : o[k]), context);
    if (v === undefined) throw new Error(`the example uses ${path}, which the test's context does not have`);
    return String(v);
  });
}

function bash(script: string, env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { env: { PATH: process.env.PATH!, HOME: "/nonexistent", ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

describe.each(ENGINES)("examples/ on %s", (engine) => {
  const h = useTestBot(engine, { token: false });

  test("the GitHub Actions workflow's curl line rewards the author, once however often it runs", async () => {
    const workflow = yaml.load(readFileSync(ACTIONS, "utf8")) as any;
    expect(workflow.on).toEqual({ pull_request_target: { types: ["closed"] } });
    expect(workflow.jobs.reward.if).toMatch(/merged && contains\(github\.event\.pull_request\.labels\.\*\.name, 'kind\/flake'\)/);
    const step = workflow.jobs.reward.steps[0];
    expect(step.run).toMatch(/^curl /);

    const { token } = await createToken(h.db, ["--budget", "100000sats/7d", "--repos", `${REPO.owner}/${REPO.name}`]);
    const context = {
      secrets: { BOUNTY_BOT_URL: h.bot.url, BOUNTY_BOT_TOKEN: token },
      github: { repository: `${REPO.owner}/${REPO.name}`, run_id: 987654321, event: { pull_request: { number: 77, user: { login: "flake-hunter" } } } },
    };
    const env = Object.fromEntries(Object.entries(step.env as Record<string, string>).map(([k, v]) => [k, evaluate(v, context)]));

    mockInstallation();
    mockUser("flake-hunter", { id: 94001 });
    github().get(`${repoPath}/installation`).reply(200, { id: REPO.installationId });
    let comment = "";
    github()
      .post(`${repoPath}/issues/77/comments`, (b: { body: string }) => ((comment = b.body), true))
      .reply(201, { id: 1 });

    const first = await bash(step.run, env);
    expect([first.code, first.err]).toEqual([0, ""]);
    const reward = JSON.parse(first.out);
    expect(reward).toMatchObject({ recipient: { login: "flake-hunter", id: 94001 }, sats: 5000, url: `https://github.com/${REPO.owner}/${REPO.name}/pull/77` });
    // A re-run of the workflow: the same key, the same reward.
    const again = await bash(step.run, env);
    expect([again.code, JSON.parse(again.out)]).toEqual([0, reward]);
    expect(availableBalance(await accountBalance(h.db, earningsOf(94001)))).toBe(5000n);
    await h.bot.settled();
    expect(comment).toMatch(/^@flake-hunter was rewarded \*\*5000 sats\*\*/);
  });

  test("the Prow job is a postsubmit calling the same API with a key from the job's ids", () => {
    const config = yaml.load(readFileSync(PROW, "utf8")) as any;
    const [job] = config.postsubmits["kubernetes/kubernetes"];
    expect(job).toMatchObject({ name: "post-kubernetes-reward-flake-fix", decorate: true, branches: ["^master$"] });
    const script: string = job.spec.containers[0].command[2];
    expect(script).toContain('-X POST "$BOUNTY_BOT_URL/api/v1/rewards"');
    expect(script).toContain('-H "Idempotency-Key: prow/$JOB_NAME/$PULL_BASE_SHA"');
    expect(script).toContain('.name == "kind/flake"');
    expect(job.spec.containers[0].env.map((e: any) => e.name)).toEqual(["BOUNTY_BOT_URL", "BOUNTY_BOT_TOKEN"]);
  });
});
