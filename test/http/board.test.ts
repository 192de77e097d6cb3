import { setHidden } from "../../src/store/board.js";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { BOARD_CSP } from "../../src/http/board.js";
import { useTestBot, type TestBotHandle } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { deliver } from "../support/bot.js";
import { issueLabeled, issueTitleEdited, REPO, repositoryEvent } from "../support/payloads.js";
import { ALICE, BOB, CAROL, DAVE, PRIVATE_REPO, seedBoard, seedIssue, seedPaidAward, seedPledge, XSS_TITLE } from "../web/seed.js";

async function page(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
async function json(url: string): Promise<any> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.json();
}

/** GitHub's issues.assigned: the issue with its assignees after the change, and the one assigned. */
function issueAssigned(number: number, assignees: Array<{ id: number; login: string }>, action: "assigned" | "unassigned" = "assigned") {
  const p = issueLabeled({ issue: { number }, label: "x", sender: ALICE });
  delete p.label;
  p.action = action;
  p.repository.private = false;
  p.issue.labels = [{ name: "sig/node" }, { name: "area/kubelet" }];
  p.issue.assignees = assignees.map((a) => ({ login: a.login, id: a.id, type: "User" }));
  p.assignee = { login: (assignees[0] ?? CAROL).login, id: (assignees[0] ?? CAROL).id, type: "User" };
  return p;
}

function seeded(h: TestBotHandle): { txids: string[] } {
  const s = { txids: [] as string[] };
  beforeAll(async () => {
    s.txids = (await seedBoard(h.db)).txids;
  });
  return s;
}

describe.each(ENGINES)("the public board on %s", (engine) => {
  describe("by default", () => {
    const h = useTestBot(engine, { token: false });
    const s = seeded(h);

    test("/board lists open public bounties largest first, the title escaped, labels as chips, who is on it, questions beside, under a strict CSP", async () => {
      const r = await page(`${h.bot.url}/board`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(r.headers.get("content-security-policy")).toBe(BOARD_CSP);
      expect(BOARD_CSP).toMatch(/^default-src 'none'; style-src 'self'; img-src 'self'/);
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.text).not.toContain("<script");
      expect(r.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends");
      expect(r.text).toContain('<a class="chip" href="/board?label=sig%2Fdocs">sig/docs</a>');
      // Only sig/, kind/ and area/ labels are chips.
      expect(r.text).not.toContain(">help wanted<");
      expect(r.text).toContain('<span class="taken">Taken:</span> <a href="/u/bob-k8s">bob-k8s</a>');
      expect(r.text).toContain("Question to @carol: 15,000 sats");
      expect(r.text).not.toContain("A private plan");
      const order = ["kubernetes/website#101", "kubernetes/kubectl#7", "kubernetes/website#102"].map((k) => r.text.indexOf(k));
      expect(order.every((i) => i > 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(r.text).toMatch(/<main id="main">/);
    });

    test("filters by repository, label, currency and minimum, sorts by age, and the JSON twin answers the same", async () => {
      const numbers = async (q: string) => ((await json(`${h.bot.url}/api/v1/bounties${q}`)).bounties as any[]).map((b) => `${b.repo}#${b.issueNumber}`);
      expect(await numbers("")).toEqual(["kubernetes/website#101", "kubernetes/kubectl#7", "kubernetes/website#102"]);
      expect(await numbers("?label=sig%2Fnode")).toEqual(["kubernetes/website#102"]);
      expect(await numbers("?repo=kubernetes%2Fkubectl")).toEqual(["kubernetes/kubectl#7"]);
      expect(await numbers("?currency=eur")).toEqual(["kubernetes/kubectl#7"]);
      expect(await numbers("?min=50000")).toEqual(["kubernetes/website#101"]);
      expect(await numbers("?sort=age")).toEqual(["kubernetes/website#102", "kubernetes/website#101", "kubernetes/kubectl#7"]);
      expect(await numbers("?state=paid")).toEqual(["kubernetes/website#90"]);
      expect(await numbers("?page=2")).toEqual([]);
      const all = await json(`${h.bot.url}/api/v1/bounties`);
      expect([all.page, all.pages, all.total]).toEqual([1, 1, 3]);
      const first = all.bounties[0];
      expect([first.title, first.sats, first.amounts, first.funders, first.assignees, first.labels]).toEqual([
        XSS_TITLE, "83000", [{ currency: "USD", minor: "5000" }], ["alice"], ["bob-k8s"], ["sig/docs", "kind/bug", "help wanted"],
      ]);
      expect(all.bounties[2].funders).toEqual(["alice", "dave"]);
      const html = await page(`${h.bot.url}/board?label=sig%2Fnode`);
      expect(html.text).toContain("Document the node lifecycle");
      expect(html.text).not.toContain("kubectl explain is slow");
      expect(html.text).toContain('<option value="sig/node" selected>');
      const bad = await fetch(`${h.bot.url}/api/v1/bounties?currency=DOGE`);
      expect([bad.status, ((await bad.json()) as any).detail]).toEqual([400, "currency must be one of USD, EUR, GBP, BTC"]);
    });

    test("every page and JSON twin has an ETag and answers 304 to it", async () => {
      for (const path of ["/board", "/board/experts", "/board/leaderboard?period=week", "/board/payouts", "/u/bob-k8s", "/board/style.css",
        "/api/v1/bounties", "/api/v1/experts", "/api/v1/leaderboard", "/api/v1/payouts", "/api/v1/users/bob-k8s"]) {
        const first = await page(`${h.bot.url}${path}`);
        expect([path, first.status]).toEqual([path, 200]);
        const etag = first.headers.get("etag")!;
        expect(etag).toMatch(/^"[\w-]+"$/);
        const again = await page(`${h.bot.url}${path}`, { "if-none-match": etag });
        expect([path, again.status, again.text, again.headers.get("etag")]).toEqual([path, 304, "", etag]);
        expect((await page(`${h.bot.url}${path}`, { "if-none-match": '"other"' })).status).toBe(200);
      }
    });

    test("assignees come from the issues.assigned / unassigned deliveries the app now takes in", async () => {
      const before = await json(`${h.bot.url}/api/v1/bounties?label=sig%2Fnode`);
      expect(before.bounties[0].assignees).toEqual([]);
      const d = await deliver(h.bot, "issues", issueAssigned(102, [CAROL]));
      expect(d.status).toBe(200);
      await h.bot.settled();
      expect((await json(`${h.bot.url}/api/v1/bounties?label=sig%2Fnode`)).bounties[0].assignees).toEqual(["carol"]);
      expect((await page(`${h.bot.url}/board?label=sig%2Fnode`)).text).toContain('Taken:</span> <a href="/u/carol">carol</a>');
      await deliver(h.bot, "issues", issueAssigned(102, [], "unassigned"));
      await h.bot.settled();
      expect((await json(`${h.bot.url}/api/v1/bounties?label=sig%2Fnode`)).bounties[0].assignees).toEqual([]);
      // A replay of the same change under a new delivery id is recognised.
      const p = issueAssigned(102, [DAVE]);
      expect((await deliver(h.bot, "issues", p)).status).toBe(200);
      await h.bot.settled();
      const [{ n }] = await h.db.query<{ n: bigint }>("SELECT count(*) AS n FROM webhook_inbox WHERE action = 'assigned'");
      await deliver(h.bot, "issues", p);
      const [{ n: after }] = await h.db.query<{ n: bigint }>("SELECT count(*) AS n FROM webhook_inbox WHERE action = 'assigned' AND duplicate_of IS NULL");
      expect(Number(after)).toBe(Number(n));
      expect(REPO.id).toBe(186853002);
    });

    test("the leaderboard counts bounties, tips and answers apart, by period, and funders by reliability", async () => {
      const all = await json(`${h.bot.url}/api/v1/leaderboard?period=all`);
      expect(all.earners.slice(0, 2)).toEqual([
        { login: "bob-k8s", bountySats: "30000", tipSats: "1500", answerSats: "0", totalSats: "31500" },
        { login: "carol", bountySats: "0", tipSats: "0", answerSats: "12000", totalSats: "12000" },
      ]);
      expect(all.funders).toEqual([{ login: "alice", pledgesClosed: 1, paidWithin7Days: 1, reliabilityBps: 10000, paidSats: "30000" }]);
      const week = await json(`${h.bot.url}/api/v1/leaderboard?period=week`);
      expect(week.earners.map((e: any) => e.login)).toEqual(["bob-k8s", "carol"]);
      const r = await page(`${h.bot.url}/board/leaderboard?period=month`);
      expect(r.text).toContain("31,500 sats");
      expect(r.text).toContain("100%");
      expect((await fetch(`${h.bot.url}/api/v1/leaderboard?period=year`)).status).toBe(400);
    });

    test("payouts link each txid to EXPLORER_URL, show the fiat at the rate used and the solvency summary, and never the payout address", async () => {
      const r = await page(`${h.bot.url}/board/payouts`);
      expect(r.text).toContain(`<a href="https://mempool.space/testnet/tx/${s.txids[0]}"><code>${s.txids[0]}</code></a>`);
      expect(r.text).toContain("$50 <span class=\"muted\">at 60000.00/BTC</span>");
      expect(r.text).toMatch(/Owed<strong>[\d,]+ sats/);
      expect(r.text).toContain("no payout wallet is configured here");
      expect(r.text).not.toContain("tb1qsecret");
      const j = await json(`${h.bot.url}/api/v1/payouts`);
      expect(j.payouts[0]).toMatchObject({ recipient: "bob-k8s", sats: "30000", txid: s.txids[0], url: `https://mempool.space/testnet/tx/${s.txids[0]}`, issue: { repo: "kubernetes/website", number: 90 } });
      expect(JSON.stringify(j)).not.toContain("tb1qsecret");
      expect(j.solvency.heldSats).toBeNull();
    });

    test("the experts directory shows the price, answers, median time and how to ask", async () => {
      const j = await json(`${h.bot.url}/api/v1/experts`);
      expect(j.experts).toEqual([{ login: "carol", price: { currency: "USD", minor: "2000" }, charityId: null, answers: 1, medianAnswerSeconds: 3600, lists: [] }]);
      const r = await page(`${h.bot.url}/board/experts`);
      expect(r.text).toContain("$20");
      expect(r.text).toContain("1.0 h");
      expect(r.text).toContain("<code>/ask @carol what about</code>");
    });

    test("a person's page: earned, paid with txids, pending, answers, pledges; unknown is 404", async () => {
      const u = await json(`${h.bot.url}/api/v1/users/BOB-K8S`);
      expect([u.login, u.earnedSats, u.earned, u.pendingSats, u.paid.map((p: any) => p.txid)]).toEqual([
        "bob-k8s", "31500", { bountySats: "30000", tipSats: "1500", answerSats: "0" }, "0", s.txids,
      ]);
      const alice = await json(`${h.bot.url}/api/v1/users/alice`);
      expect(alice.pledges.map((p: any) => `${p.repo}#${p.issueNumber} ${p.status}`)).toEqual(["kubernetes/website#90 awarded", "kubernetes/website#102 open", "kubernetes/website#101 open"]);
      const carol = await page(`${h.bot.url}/u/carol`);
      expect(carol.text).toContain("kubernetes/website#102</a>: 12,000 sats");
      expect((await page(`${h.bot.url}/u/nobody-here`)).status).toBe(404);
      expect((await fetch(`${h.bot.url}/api/v1/users/nobody-here`)).status).toBe(404);
    });

    test("a person who left the board has no page and is anonymous everywhere, until they come back", async () => {
      await setHidden(h.db, BOB, true);
      try {
        expect((await page(`${h.bot.url}/u/bob-k8s`)).status).toBe(404);
        expect((await fetch(`${h.bot.url}/api/v1/users/bob-k8s`)).status).toBe(404);
        const lb = await json(`${h.bot.url}/api/v1/leaderboard`);
        expect(lb.earners[0]).toMatchObject({ login: null, totalSats: "31500" });
        const html = await page(`${h.bot.url}/board/leaderboard`);
        expect(html.text).toContain('<span class="muted">anonymous</span>');
        expect(html.text).not.toContain("bob-k8s");
        expect((await page(`${h.bot.url}/board`)).text).not.toContain("bob-k8s");
        expect((await page(`${h.bot.url}/board/payouts`)).text).not.toContain("bob-k8s");
      } finally {
        await setHidden(h.db, BOB, false);
      }
      expect((await page(`${h.bot.url}/u/bob-k8s`)).status).toBe(200);
    });

    test("the open bounties' totals follow their pledges and their state (kept by the store's triggers)", async () => {
      const sats = async () => Object.fromEntries(((await json(`${h.bot.url}/api/v1/bounties`)).bounties as any[]).map((b) => [b.issueNumber, b.sats]));
      expect(await sats()).toEqual({ 101: "83000", 7: "40000", 102: "25000" });
      await h.db.query("UPDATE pledges SET status = 'withdrawn' WHERE funder_login = 'dave' AND currency = 'BTC'");
      await h.db.query("UPDATE bounties SET status = 'awarded' WHERE issue_number = 7");
      try {
        expect(await sats()).toEqual({ 101: "83000", 102: "20000" });
        expect((await json(`${h.bot.url}/api/v1/bounties?currency=EUR`)).bounties).toEqual([]);
      } finally {
        await h.db.query("UPDATE pledges SET status = 'open' WHERE funder_login = 'dave' AND currency = 'BTC'");
        await h.db.query("UPDATE bounties SET status = 'open' WHERE issue_number = 7");
      }
      expect(await sats()).toEqual({ 101: "83000", 7: "40000", 102: "25000" });
    });
  });

  describe("following GitHub", () => {
    const h = useTestBot(engine, { token: false });
    seeded(h);

    test("a repository made private leaves the board at once, and comes back when made public; an old delivery replayed changes nothing", async () => {
      const numbers = async () => ((await json(`${h.bot.url}/api/v1/bounties`)).bounties as any[]).map((b) => `${b.repo}#${b.issueNumber}`);
      expect(await numbers()).toContain("kubernetes/website#101");
      const publicized = repositoryEvent({ action: "publicized", sender: ALICE });
      const privatized = repositoryEvent({ action: "privatized", sender: ALICE });
      expect((await deliver(h.bot, "repository", privatized)).status).toBe(200);
      await h.bot.settled();
      expect(await numbers()).toEqual(["kubernetes/kubectl#7"]);
      expect((await page(`${h.bot.url}/board`)).text).not.toContain("Document the node lifecycle");
      // A publicized made before it, arriving late, and the privatized replayed under a new delivery id: still private.
      await deliver(h.bot, "repository", publicized);
      await deliver(h.bot, "repository", privatized);
      await h.bot.settled();
      expect(await numbers()).toEqual(["kubernetes/kubectl#7"]);
      expect((await h.db.query("SELECT 1 FROM webhook_inbox WHERE action = 'privatized' AND duplicate_of IS NOT NULL")).length).toBe(1);
      const again = repositoryEvent({ action: "publicized", sender: ALICE });
      await deliver(h.bot, "repository", again);
      await h.bot.settled();
      expect(await numbers()).toContain("kubernetes/website#101");
      expect(await numbers()).toContain("kubernetes/website#102");
      // Privacy fails closed: a late, older privatized hides it again (until a newer delivery says otherwise).
      await deliver(h.bot, "repository", { ...privatized, repository: { ...privatized.repository, updated_at: "2024-01-01T00:00:01Z" } });
      await h.bot.settled();
      expect(await numbers()).toEqual(["kubernetes/kubectl#7"]);
    });

    test("an issue's title edited on GitHub is the title the board shows; other edits and issues without a bounty are ignored", async () => {
      const edited = issueTitleEdited({ issue: { number: 102, title: "Document the kubelet's node lifecycle" }, from: "Document the node lifecycle", sender: ALICE });
      edited.repository.private = false;
      expect((await deliver(h.bot, "issues", edited)).status).toBe(200);
      await h.bot.settled();
      const titles = async () => ((await json(`${h.bot.url}/api/v1/bounties`)).bounties as any[]).map((b) => b.title);
      expect(await titles()).toContain("Document the kubelet's node lifecycle");
      expect((await page(`${h.bot.url}/board`)).text).toContain("Document the kubelet&#39;s node lifecycle");
      const other = issueTitleEdited({ issue: { number: 999, title: "Not on the board" }, from: "x", sender: ALICE });
      other.repository.private = false;
      await deliver(h.bot, "issues", other);
      await h.bot.settled();
      const [{ n }] = await h.db.query<{ n: bigint }>("SELECT count(*) AS n FROM webhook_inbox WHERE action = 'edited' AND outcome = 'ignored'");
      expect(Number(n)).toBe(1);
    });
  });

  describe.each([
    ["by default", {}, false],
    ["with BOARD_PRIVATE_REPOS=on", { BOARD_PRIVATE_REPOS: "on" }, true],
  ] as const)("earnings in a private repository, %s", (_name, env, shown) => {
    const h = useTestBot(engine, { token: false, env });
    const EVE = { id: 13005, login: "eve" };
    let txid = "";
    beforeAll(async () => {
      await seedBoard(h.db);
      const secret = await seedIssue(h.db, PRIVATE_REPO, { number: 2, title: "A private fix", status: "paid" });
      await h.db.query("UPDATE bounties SET issue_state = 'completed', issue_closed_at = now() - interval '1 day' WHERE id = $1", [secret]);
      await seedPledge(h.db, secret, DAVE, { currency: "BTC", minor: 7_000n, sats: 7_000n, status: "awarded" });
      txid = await seedPaidAward(h.db, secret, EVE, 7_000n);
    });

    test(shown ? "count in the leaderboard, the person's page and the payouts" : "are left out of the leaderboard, the person's page and the payouts", async () => {
      const lb = await json(`${h.bot.url}/api/v1/leaderboard?period=all`);
      expect(lb.earners.some((e: any) => e.login === "eve")).toBe(shown);
      // dave funded it: his reliability counts that bounty only where it is shown.
      expect(lb.funders.some((f: any) => f.login === "dave")).toBe(shown);
      const eve = await fetch(`${h.bot.url}/api/v1/users/eve`);
      if (shown) {
        const u = (await eve.json()) as any;
        expect([u.earnedSats, u.paid.map((p: any) => p.txid)]).toEqual(["7000", [txid]]);
      } else {
        // Known to the store, but nothing of theirs is shown: their page says only what is public.
        const u = eve.status === 200 ? ((await eve.json()) as any) : null;
        expect(u === null || (u.earnedSats === "0" && u.paid.length === 0)).toBe(true);
      }
      const payouts = await json(`${h.bot.url}/api/v1/payouts`);
      expect(payouts.payouts.some((p: any) => p.txid === txid)).toBe(shown);
      expect((await page(`${h.bot.url}/board/payouts`)).text.includes(txid)).toBe(shown);
    });
  });

  describe("deliveries stored before the board existed", () => {
    const h = useTestBot(engine, { token: false });
    test("fill its issues and repositories when migration 22 runs (the newest delivery wins)", async () => {
      const older = issueAssigned(555, [ALICE]);
      const newer = issueAssigned(555, [DAVE]);
      for (const [p, repoId, isPrivate] of [[older, 424242, false], [newer, 424242, true]] as const) {
        p.repository.id = repoId;
        p.repository.full_name = "kubernetes/backfilled";
        p.repository.private = isPrivate;
      }
      await h.db.query(
        `INSERT INTO webhook_inbox (delivery_id, event, action, payload, received_at, processed_at) VALUES
           ('bf-1', 'issues', 'assigned', $1, now() - interval '2 hours', now()), ('bf-2', 'issues', 'assigned', $2, now() - interval '1 hour', now())`,
        [JSON.stringify(older), JSON.stringify(newer)],
      );
      const sql = MIGRATIONS.find((m) => m.version === 22)!.sql;
      await h.db.exec(sql.slice(sql.indexOf("-- Filled from the deliveries")));
      const [issue] = await h.db.query<any>("SELECT labels, assignees FROM board_issues WHERE repo_id = 424242 AND issue_number = 555");
      expect([issue.labels, typeof issue.assignees === "string" ? JSON.parse(issue.assignees) : issue.assignees]).toEqual([["sig/node", "area/kubelet"], [{ id: DAVE.id, login: DAVE.login }]]);
      const [repo] = await h.db.query<any>("SELECT full_name, private FROM board_repos WHERE repo_id = 424242");
      expect(repo).toEqual({ full_name: "kubernetes/backfilled", private: true });
    });
  });

  describe("with BOARD_PRIVATE_REPOS=on", () => {
    const h = useTestBot(engine, { token: false, env: { BOARD_PRIVATE_REPOS: "on" } });
    seeded(h);
    test("private repositories' bounties are shown", async () => {
      expect((await page(`${h.bot.url}/board`)).text).toContain("A private plan");
    });
  });

  describe("with BOARD=off", () => {
    const h = useTestBot(engine, { token: false, env: { BOARD: "off" } });
    test("the pages and their JSON twins are gone; the solvency report stays", async () => {
      for (const path of ["/board", "/board/experts", "/board/leaderboard", "/board/payouts", "/u/alice", "/board/style.css",
        "/api/v1/bounties", "/api/v1/experts", "/api/v1/leaderboard", "/api/v1/payouts", "/api/v1/users/alice"]) {
        expect([path, (await page(`${h.bot.url}${path}`)).status]).toEqual([path, 404]);
      }
      expect((await page(`${h.bot.url}/api/v1/solvency`)).status).toBe(200);
    });
  });
});
