import { tip, tipEscrow } from "../../../src/features/tips/tip.js";
import type { CommandContext, Outcome, Step } from "../../../src/commands/types.js";
import { DEFAULT_CONFIG, type RepoConfig } from "../../../src/config/schema.js";
import { extractCommands } from "../../../src/core/commands.js";
import type { GitHubUser } from "../../../src/github/client.js";
import { fundsOf, WALLET } from "../../../src/ledger/rules.js";
import { accountBalance, transferNow } from "../../../src/store/ledger.js";
import { checkLedgerTotals } from "../../../src/store/ledgerCheck.js";
import { tipsOnIssue } from "../../../src/store/tips.js";
import { createTestDb, ENGINES, type TestDb } from "../../support/databases.js";
import { priceOracle } from "../../support/payouts.js";

const REPO_ID = 424_242;
let nextComment = 9_300_000;
let nextUser = 52_000;
let nextIssue = 1;

/** What /tip sees of a comment: a fake context, GitHub answered from `users`, the author not a funder unless said. */
function context(o: { author: { id: number; login: string }; issue: number; users?: GitHubUser[]; funder?: boolean; config?: RepoConfig; commentId?: number }): CommandContext {
  const users = o.users ?? [];
  return {
    deliveryId: `d-${Math.random()}`,
    issue: { installationId: 1, repoId: REPO_ID, owner: "kubernetes", repo: "website", number: o.issue, title: "x", isPullRequest: false, state: "open" },
    commentId: o.commentId ?? nextComment++,
    author: o.author,
    config: o.config ?? DEFAULT_CONFIG,
    network: "testnet",
    mayFund: async () => (o.funder ? { ok: true } : { ok: false, who: "people with write access" }),
    user: async (login) => users.find((u) => u.login.toLowerCase() === login.toLowerCase()) ?? null,
    teamMembers: async () => null,
    pledgeTerms: async () => ({ ok: true, terms: { chargedUserId: o.author.id, funderBudget: null, accountBudget: null, rates: {}, now: new Date() } }),
    prices: priceOracle("fixed:USD=60000"),
  };
}

/** Runs every command line of `body` as the comment runner does: all reads first, then the steps in one transaction. */
async function plan(body: string, ctx: CommandContext): Promise<Array<Outcome | Step>> {
  const out: Array<Outcome | Step> = [];
  for (const line of extractCommands(body)) out.push(await tip.run(line, ctx));
  return out;
}

describe("/tip refusals at the command, before any step", () => {
  const alice = { id: 1, login: "alice" };
  test.each([
    ["/tip @alice 5usd", [{ id: 1, login: "alice", type: "User" }], /yourself/],
    ["/tip @dependabot 5usd", [{ id: 2, login: "dependabot", type: "Bot" }], /not a person's account \(Bot\)/],
    ["/tip @ghost 5usd", [], /not a GitHub account/],
    ["/tip @bob 0usd", [{ id: 3, login: "bob", type: "User" }], /more than zero/],
    ["/tip @bob", [{ id: 3, login: "bob", type: "User" }], /say how much/],
    ["/tip @bob 5gbp", [{ id: 3, login: "bob", type: "User" }], /no agreeing GBP price/],
  ])("%s", async (body, users, why) => {
    const [r] = await plan(body, context({ author: alice, issue: 1, users }));
    expect(typeof r).toBe("object");
    expect((r as Outcome).reply).toMatch(why);
  });

  test("/tip help answers with the help table", async () => {
    expect(await plan("/tip help", context({ author: alice, issue: 1 }))).toEqual([{ help: true }]);
  });
});

describe.each(ENGINES)("/tip steps on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  const person = (name: string) => ({ id: ++nextUser, login: `${name}${nextUser}` });
  const funds = async (id: number) => {
    const b = await accountBalance(t.db, fundsOf(id));
    return b.creditsPosted - b.debitsPosted - b.debitsPending;
  };
  const run = (steps: Array<Outcome | Step>) => t.db.transaction(async (tx) => {
    const out: Outcome[] = [];
    for (const s of steps) out.push(typeof s === "function" ? await s(tx) : s);
    return out;
  });

  test("one comment worked twice (two processes past the intake) makes its tip once", async () => {
    const carol = person("carol");
    const bob = { ...person("bob"), type: "User" };
    const issue = ++nextIssue;
    await transferNow(t.db, { key: `deposit:tips-${carol.id}:0:1`, debit: WALLET, credit: fundsOf(carol.id), sats: 10_000n, kind: "deposit" });
    const commentId = nextComment++;
    const body = `/tip @${bob.login} 3000sats`;
    // Each process reads GitHub for itself, then records.
    const first = await plan(body, context({ author: carol, issue, users: [bob], commentId }));
    const second = await plan(body, context({ author: carol, issue, users: [bob], commentId }));
    const outcomes = engine === "postgres" ? await Promise.all([run(first), run(second)]) : [await run(first), await run(second)];
    expect(outcomes.map((o) => o[0]!.react)).toEqual([true, true]);
    expect(outcomes[0]![0]!.reply).toBe(outcomes[1]![0]!.reply);
    expect((await tipsOnIssue(t.db, REPO_ID, issue)).map((x) => x.key)).toEqual([`${commentId}.0`]);
    expect(await funds(carol.id)).toBe(7_000n);
    expect((await accountBalance(t.db, tipEscrow(`${commentId}.0`))).creditsPending).toBe(3_000n);
    expect((await checkLedgerTotals(t.db)).problems).toEqual([]);
  });

  test("a funder's tip worked twice is charged to the budgets once", async () => {
    const alice = person("alice");
    const bob = { ...person("bob"), type: "User" };
    const issue = ++nextIssue;
    const commentId = nextComment++;
    const body = `/tip @${bob.login} 5usd`;
    const a = await plan(body, context({ author: alice, issue, users: [bob], commentId, funder: true }));
    const b = await plan(body, context({ author: alice, issue, users: [bob], commentId, funder: true }));
    if (engine === "postgres") await Promise.all([run(a), run(b)]);
    else await run(a).then(() => run(b));
    const charged = await t.db.query("SELECT key FROM budget_charges WHERE charged_user_id = $1", [alice.id]);
    expect(charged).toEqual([{ key: `tip:${commentId}.0` }]);
    expect((await accountBalance(t.db, tipEscrow(`${commentId}.0`))).creditsPending).toBe(8_333n);
  });

  test("one /tip cancel worked twice takes back one tip, not the one before it too", async () => {
    const carol = person("carol");
    const bob = { ...person("bob"), type: "User" };
    const issue = ++nextIssue;
    await transferNow(t.db, { key: `deposit:tips-${carol.id}:0:1`, debit: WALLET, credit: fundsOf(carol.id), sats: 10_000n, kind: "deposit" });
    await run(await plan(`/tip @${bob.login} 1000sats`, context({ author: carol, issue, users: [bob] })));
    await run(await plan(`/tip @${bob.login} 2000sats`, context({ author: carol, issue, users: [bob] })));
    expect(await funds(carol.id)).toBe(7_000n);
    const commentId = nextComment++;
    const cancel = `/tip cancel @${bob.login}`;
    const [once] = await run(await plan(cancel, context({ author: carol, issue, commentId })));
    const [again] = await run(await plan(cancel, context({ author: carol, issue, commentId })));
    expect(once!.reply).toContain("took back your tip of 2,000 sats");
    expect(again).toEqual(once);
    expect((await tipsOnIssue(t.db, REPO_ID, issue)).map((x) => x.state)).toEqual(["held", "cancelled"]);
    expect(await funds(carol.id)).toBe(9_000n);
    // A cancel of its own takes back the one before.
    const [next] = await run(await plan(cancel, context({ author: carol, issue })));
    expect(next!.reply).toContain("took back your tip of 1,000 sats");
    expect(await funds(carol.id)).toBe(10_000n);
    expect((await checkLedgerTotals(t.db)).problems).toEqual([]);
  });

  test("someone else's /tip cancel takes back nothing", async () => {
    const carol = person("carol");
    const mallory = person("mallory");
    const bob = { ...person("bob"), type: "User" };
    const issue = ++nextIssue;
    await transferNow(t.db, { key: `deposit:tips-${carol.id}:0:1`, debit: WALLET, credit: fundsOf(carol.id), sats: 1_000n, kind: "deposit" });
    await run(await plan(`/tip @${bob.login} 1000sats`, context({ author: carol, issue, users: [bob] })));
    const [r] = await run(await plan(`/tip cancel @${bob.login}`, context({ author: mallory, issue })));
    expect(r!.reply).toContain(`you have no tip to @${bob.login} on this issue`);
    expect((await tipsOnIssue(t.db, REPO_ID, issue)).map((x) => x.state)).toEqual(["held"]);
  });
});
