import nock from "nock";
import { ENGINES, createServerDatabase, createTestDb, type TestDb } from "./support/databases.js";
import { deliver, github, mockNoConfig, mockPermission, mockToken, repoPath, startTestBot } from "./support/bot.js";
import { REPO, commentCreated, commentEdited, type Who } from "./support/payloads.js";
import type { BountyBot } from "../src/server.js";
import { openDatabase, type Db } from "../src/store/db.js";
import { findBounty, listPledges } from "../src/store/bounties.js";
import { CARD_MARKER } from "../src/github/card.js";

const alice: Who = { login: "alice", id: 1001 };
let nextIssue = 500;
let nextComment = 120000;

const bountyComment = (issue: number, body: string, user: Who = alice, commentId = nextComment++) =>
  commentCreated({ issue: { number: issue }, commentId, body, user });

async function inboxCount(db: Db): Promise<number> {
  const [r] = await db.query<{ n: bigint }>("SELECT count(*) AS n FROM webhook_inbox");
  return Number(r!.n);
}

describe.each(ENGINES)("webhook intake on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
    nock.enableNetConnect();
  });
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
  });

  test("a bad signature is refused and nothing is stored", async () => {
    const bot = await startTestBot(t.db);
    const before = await inboxCount(t.db);
    const res = await deliver(bot, "issue_comment", bountyComment(nextIssue++, "/bounty 5usd"), { secret: "wrong" });
    expect(res.status).toBe(400);
    expect(await inboxCount(t.db)).toBe(before);
    await bot.close();
  });

  test("edited comments, bot comments and events bounty-bot does not handle make no GitHub call", async () => {
    const bot = await startTestBot(t.db);
    const n = nextIssue++;
    const before = await inboxCount(t.db);
    await deliver(bot, "issue_comment", commentEdited({ issue: { number: n }, commentId: nextComment++, body: "/bounty 5usd", user: alice }));
    expect(await inboxCount(t.db)).toBe(before); // edited: not even stored
    await deliver(bot, "issue_comment", bountyComment(n, "/bounty 5usd", { login: "k8s-ci-robot", id: 9, type: "Bot" }));
    await deliver(bot, "issue_comment", bountyComment(n, "/lgtm\n/assign @alice\n```\n/bounty 5usd\n```\n> /bounty 6usd\n<!-- /bounty 7usd -->"));
    await bot.settled();
    expect(await findBounty(t.db, REPO.id, n)).toBeNull();
    await bot.close();
  });

  test("a redelivery (same delivery id) changes nothing and writes nothing", async () => {
    const bot = await startTestBot(t.db);
    const n = nextIssue++;
    mockToken();
    mockNoConfig();
    const replies: string[] = [];
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, (_u, b) => {
        replies.push((b as { body: string }).body);
        return { id: 1 };
      });
    const payload = bountyComment(n, "/bounty 5xyz");
    const first = await deliver(bot, "issue_comment", payload);
    await bot.settled();
    const again = await deliver(bot, "issue_comment", payload, { id: first.id });
    expect(again.status).toBe(200);
    await bot.settled();
    expect(replies).toHaveLength(1);
    await bot.close();
  });

  test("a delivery is stored before GitHub gets its 2xx: if storing fails GitHub sees an error", async () => {
    const failing: Db = {
      ...t.db,
      kind: t.db.kind,
      query: async (sql: string, params?: unknown[]) => {
        if (sql.includes("INSERT INTO webhook_inbox")) throw new Error("disk full");
        return t.db.query(sql, params);
      },
      exec: (sql) => t.db.exec(sql),
      transaction: (fn) => t.db.transaction(fn),
      withLock: (key, fn) => t.db.withLock(key, fn),
      close: async () => undefined,
    };
    const bot = await startTestBot(failing);
    const res = await deliver(bot, "issue_comment", bountyComment(nextIssue++, "/bounty 5usd"));
    expect(res.status).toBeGreaterThanOrEqual(500);
    await bot.close();
  });

  test("a delivery acknowledged and then cut off by a crash is processed after the restart", async () => {
    const n = nextIssue++;
    const crashed = await startTestBot(t.db);
    await crashed.inbox.stop(); // the process dies right after answering GitHub
    const res = await deliver(crashed, "issue_comment", bountyComment(n, "/bounty 12eur"));
    expect(res.status).toBe(200);
    await crashed.close();
    expect(await findBounty(t.db, REPO.id, n)).toBeNull();

    mockToken();
    mockNoConfig();
    mockPermission("alice", "write");
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    github().post(`${repoPath}/issues/${n}/comments`).reply(201, { id: 61 });
    github().post(`${repoPath}/issues/${n}/labels`).reply(200, []);
    const restarted = await startTestBot(t.db);
    await restarted.settled();
    const b = (await findBounty(t.db, REPO.id, n))!;
    expect((await listPledges(t.db, b.id)).map((p) => [p.amount.currency, p.amount.minor])).toEqual([["EUR", 1200n]]);
    await restarted.close();
  });

  test("a card created just before a crash is found again by its marker, never made twice", async () => {
    const n = nextIssue++;
    const bot = await startTestBot(t.db);
    mockToken();
    mockNoConfig();
    mockPermission("alice", "write");
    // GitHub already has our card (created, but its id never reached the database).
    github()
      .get(`${repoPath}/issues/${n}/comments`)
      .query(true)
      .reply(200, [
        { id: 70, body: "Nice issue", user: { login: "someone", id: 5, type: "User" } },
        { id: 71, body: `${CARD_MARKER}\nold`, user: { login: "bounty-bot[bot]", id: 6, type: "Bot" } },
      ]);
    github().patch(`${repoPath}/issues/comments/71`).reply(200, {});
    github().post(`${repoPath}/issues/${n}/labels`).reply(200, []);
    await deliver(bot, "issue_comment", bountyComment(n, "/bounty 3usd"));
    await bot.settled();
    expect((await findBounty(t.db, REPO.id, n))!.cardCommentId).toBe(71);
    await bot.close();
  });

  test("a burst of commands on one issue makes one card and coalesced edits showing all of them", async () => {
    const n = nextIssue++;
    const bot = await startTestBot(t.db);
    const funders: Who[] = Array.from({ length: 10 }, (_, i) => ({ login: `maint${i}`, id: 4000 + i }));
    mockToken();
    let creates = 0;
    let last = "";
    let writes = 0;
    github().get(`${repoPath}/contents/.github%2Fbounties.yml`).times(10).reply(404, {});
    github().get(`/repos/${REPO.owner}/.github/contents/.github%2Fbounties.yml`).times(10).reply(404, {});
    for (const f of funders) mockPermission(f.login, "write");
    github().get(`${repoPath}/issues/${n}/comments`).query(true).reply(200, []);
    // The card's creation is held until every command is recorded: however slowly the machine
    // processes the burst, the syncer must then show all of them in one or two more edits, not ten.
    const allRecorded = async () => {
      for (let i = 0; i < 1500; i++) {
        const [r] = await t.db.query<{ n: bigint }>(
          "SELECT count(*) AS n FROM pledges p JOIN bounties b ON b.id = p.bounty_id WHERE b.repo_id = $1 AND b.issue_number = $2 AND p.status = 'open'",
          [REPO.id, n],
        );
        if (Number(r!.n) === funders.length) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error("the burst's pledges were not all recorded within 30 s");
    };
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .reply(201, async (_u, b) => {
        await allRecorded();
        creates++;
        writes++;
        last = (b as { body: string }).body;
        return { id: 88 };
      });
    github().post(`${repoPath}/issues/${n}/labels`).reply(200, () => {
      writes++;
      return [];
    });
    github()
      .patch(`${repoPath}/issues/comments/88`)
      .delay(50)
      .times(10)
      .reply(200, (_u, b) => {
        writes++;
        last = (b as { body: string }).body;
        return {};
      });
    await Promise.all(funders.map((f, i) => deliver(bot, "issue_comment", bountyComment(n, `/bounty ${i + 1}usd`, f))));
    await bot.settled();
    expect(creates).toBe(1);
    for (const [i, f] of funders.entries()) expect(last).toContain(`@${f.login} | $${i + 1}`);
    expect(last).toContain("**Total** | **$55**");
    // One card creation and one label, then at most two edits (one may have been kicked while the creation was held).
    expect(writes).toBeLessThanOrEqual(4);
    // Only edits that coalescing made unnecessary may be left unused.
    expect(nock.pendingMocks().every((m) => m.startsWith("PATCH"))).toBe(true);
    nock.cleanAll();
    await bot.close();
  });
});

// Several processes share one database only on PostgreSQL (PGlite is embedded in one process).
if (process.env.DATABASE_URL) describe("two app processes on one PostgreSQL", () => {
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
  });
  test("each delivery is processed once and the issue gets one card", async () => {
    const server = await createServerDatabase();
    const dbA = await openDatabase({ databaseUrl: server.url });
    const dbB = await openDatabase({ databaseUrl: server.url });
    const a = await startTestBot(dbA);
    const b = await startTestBot(dbB);
    const n = 900;
    mockToken();
    mockToken();
    let creates = 0;
    let replies = 0;
    github().get(`${repoPath}/contents/.github%2Fbounties.yml`).times(20).reply(404, {});
    github().get(`/repos/${REPO.owner}/.github/contents/.github%2Fbounties.yml`).times(20).reply(404, {});
    github().get(`${repoPath}/collaborators/alice/permission`).times(20).reply(200, { permission: "write", role_name: "write" });
    github().get(`${repoPath}/issues/${n}/comments`).query(true).times(2).reply(200, []);
    github()
      .post(`${repoPath}/issues/${n}/comments`)
      .times(5)
      .reply(201, (_u, body) => {
        if ((body as { body: string }).body.startsWith(CARD_MARKER)) creates++;
        else replies++;
        return { id: 99 };
      });
    github().post(`${repoPath}/issues/${n}/labels`).times(2).reply(200, []);
    github().patch(`${repoPath}/issues/comments/99`).times(20).reply(200, {});
    // Both processes receive every delivery's wake-up; the inbox decides who does the work.
    for (let i = 0; i < 6; i++) {
      const target = i % 2 ? a : b;
      await deliver(target, "issue_comment", bountyComment(n, `/bounty ${i + 1}usd`, { login: "alice", id: 1001 }));
      a.inbox.kick();
      b.inbox.kick();
    }
    await Promise.all([a.settled(), b.settled()]);
    await Promise.all([a.settled(), b.settled()]);
    expect(creates).toBe(1);
    expect(replies).toBe(0);
    const bounty = (await findBounty(dbA, REPO.id, n))!;
    const [{ n: events }] = (await dbA.query<{ n: bigint }>(
      "SELECT count(*) AS n FROM events WHERE bounty_id = $1 AND kind = 'pledged'",
      [bounty.id],
    )) as [{ n: bigint }];
    expect(Number(events)).toBe(6);
    expect((await listPledges(dbA, bounty.id))[0]!.amount.minor).toBe(600n);
    await a.close();
    await b.close();
    await dbA.close();
    await dbB.close();
    await server.drop();
    nock.cleanAll();
  });
});
