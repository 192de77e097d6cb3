import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockConfig, mockPermission, repoPath } from "../support/bot.js";
import { REPO, issueLabeled, type Who } from "../support/payloads.js";
import { findBounty, labelFunder, listPledges, lockBounty, pledge, userFunder } from "../../src/store/bounties.js";

const alice: Who = { login: "alice", id: 1001 };
const prow: Who = { login: "k8s-ci-robot", id: 20407524, type: "Bot" };
const CONFIG =
  "funders:\n  budget: 20usd/30d\nlabels:\n  auto:\n    bounty/15: 15usd\n    bounty/5: 5usd\n  trusted_senders: [k8s-ci-robot]\n";
let nextIssue = 3300;

/**
 * Label pledges (`labels.auto`) count against budgets like any pledge: against whoever added the
 * label, and against the account alone when a trusted bot did.
 */
describe.each(ENGINES)("label pledges within budgets on %s", (engine) => {
  const h = useTestBot(engine, {
    env: { ACCOUNT_BUDGETS: "kubernetes=40usd/30d" },
    async beforeStart(db) {
      await db.exec("TRUNCATE webhook_inbox, outbox, pledges, events, bounties RESTART IDENTITY CASCADE");
    },
  });

  const label = (n: number, name: string, sender: Who) =>
    deliver(h.bot, "issues", issueLabeled({ issue: { number: n }, label: name, sender }));
  function captureReply(n: number): string[] {
    const bodies: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: 1 };
      });
    return bodies;
  }
  function expectNewCard(n: number): void {
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${n}/comments`).reply(201, { id: 60000 + n });
    github().post(`${repoPath}/issues/${n}/labels`, { labels: ["bounty"] }).reply(200, []);
  }
  /** alice's own pledge somewhere else in the account. */
  const alicePledged = (minor: bigint) =>
    h.db.transaction(async (tx) => {
      const b = await lockBounty(tx, { installationId: REPO.installationId, repoId: 77_001, owner: "kubernetes", repo: "kubectl", number: 1, title: "x" });
      await pledge(tx, b, userFunder(alice), { currency: "USD", minor }, { actor: alice, deliveryId: null });
    });

  test("a label a funder adds counts against that funder's budget: over it, a reply and no pledge", async () => {
    await alicePledged(1_000n);
    const n = nextIssue++;
    mockConfig(CONFIG);
    mockPermission("alice", "write");
    const replies = captureReply(n);
    await label(n, "bounty/15", alice);
    await h.bot.settled();
    expect(replies[0]).toBe(
      "@alice: the label `bounty/15` adds a bounty, but $15 would go over your funder budget of $20 per 30d (`funders.budget`): " +
        "$10 is already pledged in that window, so only $10 is left. I recorded nothing.",
    );
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();

    // A smaller label fits, and is charged to alice: her budget is now full.
    mockConfig(CONFIG);
    mockPermission("alice", "write");
    expectNewCard(n);
    await label(n, "bounty/5", alice);
    await h.bot.settled();
    const [row] = await h.db.query<{ funder_key: string; charged_user_id: bigint }>("SELECT funder_key, charged_user_id FROM pledges WHERE funder_key LIKE 'label:%'");
    expect(row).toEqual({ funder_key: "label:bounty/5", charged_user_id: 1001n });
  });

  test("a trusted bot's label counts against the account budget alone", async () => {
    await alicePledged(2_000n); // alice's budget is full
    const n = nextIssue++;
    mockConfig(CONFIG);
    expectNewCard(n);
    await label(n, "bounty/15", prow);
    await h.bot.settled();
    const b = (await findBounty(h.db, REPO.id, n))!;
    expect((await listPledges(h.db, b.id)).map((p) => [p.funderKey, p.amount.minor])).toEqual([[labelFunder("bounty/15", "x").key, 1_500n]]);

    // The account has $40: $20 + $15 pledged, so a second $15 label is over it.
    const m = nextIssue++;
    mockConfig(CONFIG);
    const replies = captureReply(m);
    await label(m, "bounty/15", prow);
    await h.bot.settled();
    expect(replies[0]).toContain("$15 would go over kubernetes's account budget of $40 per 30d (ACCOUNT_BUDGETS): $35 is already pledged");
    expect(await findBounty(h.db, REPO.id, m)).toBeNull();
  });
});
