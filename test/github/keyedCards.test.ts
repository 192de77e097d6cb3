import { pino } from "pino";
import { cardMarker, KeyedCardSyncer, type CardKind } from "../../src/github/keyedCards.js";
import type { IssueComment, RepoGitHub } from "../../src/github/client.js";
import { getCard, touchCard } from "../../src/store/cards.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";

const BOT = { login: "bounty-bot[bot]", userId: 777, appId: 123 };
const where = { installationId: 1, owner: "kubernetes", repo: "website", issueNumber: 5 };

/** An issue's comments as GitHub keeps them, and every write made. */
function fakeIssue(existing: IssueComment[] = [], listDelayMs = 0) {
  const comments = [...existing];
  const writes: string[] = [];
  let next = 1000;
  const gh = {
    owner: where.owner,
    repo: where.repo,
    async listComments() {
      writes.push("list");
      const seen = [...comments];
      // A slow GitHub: both processes would list before either creates, without the lease.
      if (listDelayMs) await new Promise((r) => setTimeout(r, listDelayMs));
      return seen;
    },
    async createComment(_n: number, body: string) {
      const id = next++;
      comments.push({ id, body, userLogin: BOT.login, userId: BOT.userId, userType: "Bot", viaAppId: BOT.appId });
      writes.push(`create ${id}`);
      return id;
    },
    async updateComment(id: number, body: string) {
      const c = comments.find((x) => x.id === id);
      if (!c) throw new Error(`no comment ${id}`);
      c.body = body;
      writes.push(`update ${id}`);
    },
  };
  return { gh: gh as unknown as RepoGitHub, comments, writes };
}

describe.each(ENGINES)("keyed cards on %s", (engine) => {
  let t: TestDb;
  let n = 0;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());

  const texts = new Map<string, string>();
  const kind: CardKind = { kind: "thing", render: async (_db, id) => texts.get(id) ?? null };
  const syncer = (gh: RepoGitHub) => new KeyedCardSyncer({ db: t.db, github: async () => gh, log: pino({ level: "silent" }), bot: BOT, kinds: [kind] });

  test("creates the card once with its marker, then edits it in place for each change", async () => {
    const id = `a${n++}`;
    const key = `thing:${id}`;
    const issue = fakeIssue();
    const s = syncer(issue.gh);
    texts.set(id, "first");
    await t.db.transaction((tx) => touchCard(tx, key, where));
    await s.sweep();
    await s.idle();
    texts.set(id, "second");
    await t.db.transaction((tx) => touchCard(tx, key, where));
    await s.sweep();
    await s.idle();
    expect(issue.writes).toEqual(["list", "create 1000", "update 1000"]);
    expect(issue.comments[0]!.body).toBe(`${cardMarker(key)}\nsecond`);
    expect(await getCard(t.db, key)).toMatchObject({ commentId: 1000, version: 2n, syncedVersion: 2n });
  });

  test("after a crash it finds its own card again instead of making a second, and never takes someone else's comment with the marker", async () => {
    const id = `b${n++}`;
    const key = `thing:${id}`;
    const forged: IssueComment = { id: 1, body: `${cardMarker(key)}\nfake`, userLogin: "mallory", userId: 9, userType: "User", viaAppId: null };
    const other: IssueComment = { id: 2, body: `${cardMarker(`thing:${id}0`)}\nanother card`, userLogin: BOT.login, userId: BOT.userId, userType: "Bot", viaAppId: BOT.appId };
    const ours: IssueComment = { id: 3, body: `${cardMarker(key)}\nold`, userLogin: BOT.login, userId: BOT.userId, userType: "Bot", viaAppId: BOT.appId };
    const issue = fakeIssue([forged, other, ours]);
    texts.set(id, "new");
    await t.db.transaction((tx) => touchCard(tx, key, where));
    const s = syncer(issue.gh);
    await s.sweep();
    await s.idle();
    expect(issue.writes).toEqual(["list", "update 3"]);
    expect(forged.body).toContain("fake");
    expect(other.body).toContain("another card");

    const alone = `c${n++}`;
    const lonely = fakeIssue([{ ...forged, body: `${cardMarker(`thing:${alone}`)}\nfake` }]);
    texts.set(alone, "real");
    await t.db.transaction((tx) => touchCard(tx, `thing:${alone}`, where));
    const s2 = syncer(lonely.gh);
    await s2.sweep();
    await s2.idle();
    expect(lonely.writes).toEqual(["list", "create 1000"]);
  });

  test("two syncers (two processes) kicked at once make one card", async () => {
    const id = `d${n++}`;
    const key = `thing:${id}`;
    const issue = fakeIssue([], 50);
    texts.set(id, "once");
    await t.db.transaction((tx) => touchCard(tx, key, where));
    const [a, b] = [syncer(issue.gh), syncer(issue.gh)];
    a.kick([key]);
    b.kick([key]);
    await Promise.all([a.idle(), b.idle()]);
    expect(issue.writes.filter((w) => w.startsWith("create"))).toHaveLength(1);
    expect(issue.comments).toHaveLength(1);
  });
});
