/**
 * A burst of 200 `/bounty` commands over 20 issues, sent as signed webhooks through the real
 * intake (HTTP → inbox → worker → card syncer) against the local GitHub API stand-in, with
 * Probot's real write throttling on. Prints GitHub writes per command and the time until every
 * card shows its final state. Goal: at most 2 writes per successful command.
 */
import { generateKeyPairSync } from "node:crypto";
import { pino } from "pino";
import { startGitHubStandIn } from "../dev/sandbox/github.js";
import { issueCommentCreated } from "../dev/sandbox/payloads.js";
import { deliver } from "../dev/sandbox/webhooks.js";
import { loadSettings } from "../src/settings.js";
import { startBountyBot } from "../src/server.js";
import { openDatabase } from "../src/store/db.js";

const ISSUES = 20;
const FUNDERS = 10;
const REPO = "kubernetes/kubernetes";
const INSTALLATION = 1;

export async function run(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const gh = await startGitHubStandIn({ latencyMs: 15, app: { publicKey, checkIssuer: true } });
  gh.addRepo(REPO, { installationId: INSTALLATION });
  const funders = Array.from({ length: FUNDERS }, (_, i) => gh.addUser(`maintainer-${i}`));
  for (const f of funders) gh.setPermission(REPO, f.login, "write");
  for (let n = 1; n <= ISSUES; n++) gh.addIssue(REPO, { number: n, title: `Flaky test ${n}`, author: "reporter" });

  const secret = "bench-secret";
  const settings = loadSettings({
    APP_ID: String(gh.appId),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: secret,
    ALLOWED_ACCOUNTS: REPO.split("/")[0]!,
    PORT: "0",
    HOST: "127.0.0.1",
    GHE_PROTOCOL: "http",
    GHE_HOST: gh.host,
    LOG_LEVEL: "silent",
  });
  const db = await openDatabase({ dataDir: "memory://" });
  const bot = await startBountyBot(settings, { db, log: pino({ level: "silent" }) });
  const hook = `${bot.url}${settings.webhookPath}`;

  // Every maintainer pledges on every issue; pledges differ so the final card is checkable.
  const commands: Array<() => Promise<unknown>> = [];
  let commentId = 1_000_000;
  for (let n = 1; n <= ISSUES; n++) {
    for (const [i, f] of funders.entries()) {
      const payload = issueCommentCreated({
        repo: REPO,
        installationId: INSTALLATION,
        issue: { number: n, title: `Flaky test ${n}`, author: "reporter" },
        comment: { id: commentId++, body: `/bounty ${i + 1}usd`, user: f },
      });
      commands.push(() => deliver(hook, secret, "issue_comment", payload));
    }
  }
  gh.clearRequests();
  const started = performance.now();
  let acked = 0;
  const statuses = await Promise.all(commands.map((send) => send().then((r) => ((acked++, r as { status: number }).status))));
  const ackedAt = performance.now();
  if (statuses.some((s) => s !== 200)) throw new Error(`some deliveries were refused: ${statuses.filter((s) => s !== 200).length}`);

  const expected = `**Total** | **$${(FUNDERS * (FUNDERS + 1)) / 2}**`;
  const allFinal = () =>
    Array.from({ length: ISSUES }, (_, k) => gh.comments(REPO, k + 1)).every(
      (cs) => cs.length === 1 && cs[0]!.body.includes(expected),
    );
  while (!allFinal()) {
    if (performance.now() - started > 15 * 60_000) throw new Error("cards did not become final within 15 minutes");
    await new Promise((r) => setTimeout(r, 50));
  }
  const finalAt = performance.now();
  await bot.settled();

  const writes = gh.writes();
  const by = (re: RegExp) => writes.filter((w) => re.test(`${w.method} ${w.route ?? w.path}`)).length;
  const creates = by(/^POST .*\/issues\/\{issue_number\}\/comments$/);
  const edits = by(/^PATCH .*\/issues\/comments\//);
  const labels = by(/\/labels/);
  const failed = writes.filter((w) => w.status >= 400).length;
  const n = commands.length;
  console.log(`commands sent:              ${n} over ${ISSUES} issues (${FUNDERS} funders each), all acknowledged in ${((ackedAt - started) / 1000).toFixed(2)} s`);
  console.log(`GitHub writes:              ${writes.length} (card creations ${creates}, card edits ${edits}, label writes ${labels}, failed ${failed})`);
  console.log(`writes per command:         ${(writes.length / n).toFixed(3)} (goal ≤ 2)`);
  console.log(`time until every card final: ${((finalAt - started) / 1000).toFixed(1)} s (Probot throttle: 1 write/s, 1 comment creation/3 s per installation)`);
  console.log(`cards per issue:            ${Array.from({ length: ISSUES }, (_, k) => gh.comments(REPO, k + 1).length).every((c) => c === 1) ? "exactly 1 everywhere" : "NOT 1"}`);
  await bot.close();
  await db.close();
  await gh.close();
  if (writes.length / n > 2) throw new Error("more than 2 GitHub writes per command");
}
