import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import nock from "nock";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { BountyBot } from "../../src/server.js";
import { BOARD_CSP } from "../../src/http/board.js";
import { startTestBot } from "../support/bot.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { launchBrowser, screenshotPath, seriousViolations } from "./browser.js";
import { seedBoard, XSS_TITLE } from "./seed.js";

const PAGES: Array<{ name: string; path: string; heading: string }> = [
  { name: "board", path: "/board", heading: "Open bounties" },
  { name: "experts", path: "/board/experts", heading: "Expert directory" },
  { name: "leaderboard", path: "/board/leaderboard", heading: "Leaderboard" },
  { name: "payouts", path: "/board/payouts", heading: "Payouts" },
  { name: "user", path: "/u/bob-k8s", heading: "bob-k8s" },
];

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe.each(ENGINES)("the board in headless Chromium, on %s", (engine) => {
  let t: TestDb;
  let bot: BountyBot;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const dialogs: string[] = [];
  let txids: string[] = [];

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    t = await createTestDb(engine);
    ({ txids } = await seedBoard(t.db));
    bot = await startTestBot(t.db);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, javaScriptEnabled: true });
    context.on("request", (r) => requests.push(r.url()));
    page = await context.newPage();
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });
  afterAll(async () => {
    await context?.close();
    await bot?.close();
    await t?.close();
    expect(nock.pendingMocks()).toEqual([]);
    nock.cleanAll();
    nock.enableNetConnect();
  });

  test.each(PAGES)("$path renders under the CSP, passes axe-core, and is photographed light and dark", async ({ name, path, heading }) => {
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const res = await page.goto(`${bot.url}${path}`);
      expect(res!.status()).toBe(200);
      expect(res!.headers()["content-security-policy"]).toBe(BOARD_CSP);
      await expect(page.locator("h1").textContent()).resolves.toBe(heading);
      // The stylesheet loaded (from the app itself): the body's colours follow the scheme.
      const bg = await page.evaluate("getComputedStyle(document.body).backgroundColor");
      expect(bg).toBe(scheme === "light" ? "rgb(255, 255, 255)" : "rgb(15, 18, 22)");
      expect(await page.locator("header nav[aria-label=Board]").count()).toBe(1);
      expect(await seriousViolations(page)).toEqual([]);
      await page.screenshot({ path: screenshotPath(`${engine}-${name}-${scheme}`), fullPage: true });
    }
    if (name === "board" && engine === "pglite") {
      if (!existsSync("docs")) mkdirSync("docs");
      await page.emulateMedia({ colorScheme: "light" });
      await page.goto(`${bot.url}${path}`);
      await page.screenshot({ path: screenshotPath("board-readme") });
      if (process.env.UPDATE_BOARD_PNG === "1") copyFileSync(screenshotPath("board-readme"), "docs/board.png");
    }
  });

  test("the hostile title shows as text, and no script runs", async () => {
    await page.goto(`${bot.url}/board`);
    await expect(page.getByRole("link", { name: XSS_TITLE }).count()).resolves.toBe(1);
    expect(await page.locator("script").count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  test("clicking a label chip filters, the form filters by repository, and a name leads to that person's page", async () => {
    await page.goto(`${bot.url}/board`);
    await page.locator("a.chip", { hasText: "sig/node" }).first().click();
    await page.waitForURL(/label=sig%2Fnode/);
    const rows = page.locator("main table tbody tr");
    expect(await rows.count()).toBe(1);
    await expect(rows.first().textContent()).resolves.toContain("Document the node lifecycle");
    await page.locator("#f-label").selectOption("");
    await page.locator("#f-repo").selectOption("kubernetes/kubectl");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/repo=kubernetes%2Fkubectl/);
    expect(await rows.count()).toBe(1);
    await expect(rows.first().textContent()).resolves.toContain("kubectl explain is slow");

    await page.goto(`${bot.url}/board/payouts`);
    await expect(page.locator(`a[href$="${txids[0]}"]`).count()).resolves.toBe(1);
    await page.getByRole("link", { name: "bob-k8s" }).first().click();
    await page.waitForURL(/\/u\/bob-k8s$/);
    await expect(page.locator("h1").textContent()).resolves.toBe("bob-k8s");
    await expect(page.locator("main").textContent()).resolves.toContain("31,500 sats");
  });

  test("reads the same with JavaScript off", async () => {
    const off = await browser.newContext({ javaScriptEnabled: false });
    off.on("request", (r) => requests.push(r.url()));
    try {
      const p = await off.newPage();
      await p.goto(`${bot.url}/board?sort=age`);
      await expect(p.locator("main table tbody tr").count()).resolves.toBe(3);
      await p.getByRole("link", { name: "Leaderboard" }).click();
      await expect(p.locator("h1").textContent()).resolves.toBe("Leaderboard");
    } finally {
      await off.close();
    }
  });

  test("no request left this machine's app", async () => {
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.filter((u) => !u.startsWith(`${bot.url}/`))).toEqual([]);
  });
});
