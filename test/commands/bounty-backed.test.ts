import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver, github, mockNoConfig, mockPermission, repoPath } from "../support/bot.js";
import { commentCreated, issueClosed, REPO, type Who } from "../support/payloads.js";
import { priceOracle, startPriceServer } from "../support/payouts.js";
import { ledgerProblems } from "../support/ledger.js";
import { availableBalance, fundsOf, WALLET } from "../../src/ledger/rules.js";
import { findBounty, listPledges } from "../../src/store/bounties.js";
import { escrowSlots } from "../../src/store/escrow.js";
import { accountBalance, listTransfers, transferNow } from "../../src/store/ledger.js";

/**
 * `/bounty <amount>` by someone who may not fund: backed by their own balance, end to end through
 * signed webhooks, GitHub answered by nock, prices from a local price server (USD 60,000).
 */

const alice: Who = { login: "alice", id: 1001 };
let nextIssue = 300;
let nextComment = 53000;
let nextUser = 4000;
let nextCard = 640000;

describe.each(ENGINES)("backed /bounty on %s", (engine) => {
  let priceServer: Awaited<ReturnType<typeof startPriceServer>>;
  beforeAll(async () => {
    priceServer = await startPriceServer({ USD: 60_000 });
  });
  afterAll(async () => {
    await priceServer.close();
  });
  const h = useTestBot(engine, {
    prices: () => priceOracle(`mempool:${priceServer.url}`),
    async beforeStart() {
      priceServer.down(false);
      priceServer.set({ USD: 60_000 });
    },
  });

  /** Someone without write access, with `sats` deposited (a deposit transfer on the ledger). */
  async function backer(sats: bigint): Promise<Who> {
    const id = ++nextUser;
    if (sats > 0n) await transferNow(h.db, { key: `deposit:cmd${id}:0:1`, debit: WALLET, credit: fundsOf(id), sats, kind: "deposit" });
    return { login: `sponsor${id}`, id };
  }
  const available = async (who: Who) => availableBalance(await accountBalance(h.db, fundsOf(who.id)));

  /** A comment by `user`; a pledge asks GitHub whether they may fund (`/bounty cancel` does not). */
  async function comment(n: number, body: string, user: Who, opts: { funder?: boolean } = {}) {
    mockNoConfig();
    if (body !== "/bounty cancel") mockPermission(user.login, opts.funder ? "write" : "read");
    await deliver(h.bot, "issue_comment", commentCreated({ issue: { number: n }, commentId: nextComment++, body, user }));
    await h.bot.settled();
  }
  /** The first pledge's card (and label) on a new issue; returns the card's bodies as sent, edits after. */
  function expectNewCard(n: number): { card: number; bodies: string[] } {
    const card = nextCard++;
    const bodies: string[] = [];
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: card };
      });
    github().post(`${repoPath}/issues/${n}/labels`, { labels: ["bounty"] }).reply(200, [{ name: "bounty" }]);
    return { card, bodies };
  }
  function expectEdit(card: number, bodies: string[]) {
    github()
      .patch(`${repoPath}/issues/comments/${card}`)
      .reply(200, (_u, b) => {
        bodies.push((b as { body: string }).body);
        return { id: card };
      });
  }
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
  async function pledgeOf(n: number, who: Who) {
    const b = await findBounty(h.db, REPO.id, n);
    return b === null ? undefined : (await listPledges(h.db, b.id)).find((p) => p.funderId === who.id);
  }
  const slots = async (escrow: string) => (await escrowSlots(h.db, escrow)).map((s) => [s.sats, s.state]);

  test("someone with funds backs a bounty: the sats at today's price are held from their funds, the card says so", async () => {
    const sponsor = await backer(50_000n);
    const n = nextIssue++;
    const card = expectNewCard(n);
    await comment(n, "/bounty 20usd", sponsor);
    expect(card.bodies).toHaveLength(1);
    expect(card.bodies[0]).toContain(`| @${sponsor.login} | $20, backed by 33,333 sats from their balance |`);
    const p = (await pledgeOf(n, sponsor))!;
    expect(p).toMatchObject({ status: "open", backed: { sats: 33_333n, rate: "60000" } });
    expect(await slots(p.backed!.escrow)).toEqual([[33_333n, "held"]]);
    expect(await available(sponsor)).toBe(16_667n);
    expect(await ledgerProblems(h.db)).toEqual([]);
  });

  test("without enough: the reply says how much is missing and how to /deposit, and nothing is recorded", async () => {
    const sponsor = await backer(1_000n);
    const n = nextIssue++;
    const replies = captureReply(n);
    await comment(n, "/bounty 20usd", sponsor);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain("> /bounty 20usd");
    expect(replies[0]).toContain(`only people with write access to ${REPO.owner}/${REPO.name} commit the treasury here`);
    expect(replies[0]).toContain("$20 (33,333 sats at today's price) is backed by your own balance");
    expect(replies[0]).toContain("you have 1000 sats available; 32333 sats more are needed. Use `/deposit`");
    expect(replies[0]).toContain("I recorded nothing.");
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();
    expect(await listTransfers(h.db, { account: fundsOf(sponsor.id).key })).toHaveLength(1);
    expect(await available(sponsor)).toBe(1_000n);
  });

  test("with no agreeing price a fiat pledge is refused (fail closed); one in sats needs none", async () => {
    const sponsor = await backer(50_000n);
    const n = nextIssue++;
    priceServer.down(true);
    const replies = captureReply(n);
    await comment(n, "/bounty 20usd", sponsor);
    expect(replies[0]).toMatch(/held in sats at today's USD price, and there is no agreeing USD price right now .*so I recorded nothing/);
    expect(await findBounty(h.db, REPO.id, n)).toBeNull();
    const card = expectNewCard(n);
    await comment(n, "/bounty 25000sats", sponsor);
    expect(card.bodies[0]).toContain(`| @${sponsor.login} | 25,000 sats, backed from their balance |`);
    expect(await available(sponsor)).toBe(25_000n);
  });

  test("a second /bounty replaces the first: the old escrow is returned, the new one held; /bounty cancel returns it", async () => {
    const sponsor = await backer(40_000n);
    const n = nextIssue++;
    const card = expectNewCard(n);
    await comment(n, "/bounty 20usd", sponsor);
    const first = (await pledgeOf(n, sponsor))!.backed!.escrow;
    // 33,333 held and 6,667 free: 38,000 fit only because the first goes back.
    expectEdit(card.card, card.bodies);
    await comment(n, "/bounty 38000sats", sponsor);
    const second = (await pledgeOf(n, sponsor))!.backed!.escrow;
    expect(second).not.toBe(first);
    expect(await slots(first)).toEqual([[33_333n, "returned"]]);
    expect(await slots(second)).toEqual([[38_000n, "held"]]);
    expect(await available(sponsor)).toBe(2_000n);
    expect(card.bodies.at(-1)).toContain(`| @${sponsor.login} | 38,000 sats, backed from their balance |`);

    expectEdit(card.card, card.bodies);
    github().delete(`${repoPath}/issues/${n}/labels/bounty`).reply(200, []);
    await comment(n, "/bounty cancel", sponsor);
    expect(await slots(second)).toEqual([[38_000n, "returned"]]);
    expect(await available(sponsor)).toBe(40_000n);
    expect((await pledgeOf(n, sponsor))!.status).toBe("withdrawn");
    expect(card.bodies.at(-1)).toContain("Cancelled");
    expect(await ledgerProblems(h.db)).toEqual([]);
  });

  test("closed as not planned: the backed pledge is cancelled and its escrow returned; a funder's beside it is unchanged", async () => {
    const sponsor = await backer(50_000n);
    const n = nextIssue++;
    const card = expectNewCard(n);
    await comment(n, "/bounty 10usd", alice, { funder: true });
    expectEdit(card.card, card.bodies);
    await comment(n, "/bounty 20usd", sponsor);
    expect(card.bodies.at(-1)).toContain("| @alice | $10 |");
    expect(card.bodies.at(-1)).toContain(`| @${sponsor.login} | $20, backed by 33,333 sats from their balance |`);
    expect((await pledgeOf(n, alice))!.backed).toBeNull();
    const escrow = (await pledgeOf(n, sponsor))!.backed!.escrow;

    expectEdit(card.card, card.bodies);
    github().delete(`${repoPath}/issues/${n}/labels/bounty`).reply(200, []);
    await deliver(h.bot, "issues", issueClosed({ issue: { number: n, stateReason: "not_planned" }, sender: alice }));
    await h.bot.settled();
    expect(await slots(escrow)).toEqual([[33_333n, "returned"]]);
    expect(await available(sponsor)).toBe(50_000n);
    expect((await pledgeOf(n, sponsor))!.status).toBe("cancelled");
    expect(await ledgerProblems(h.db)).toEqual([]);
  });
});
