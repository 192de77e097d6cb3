import { createHmac } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { pino } from "pino";
import { EsploraBackend } from "../../src/bitcoin/esplora.js";
import { createRouter, HttpError, type Route } from "../../src/http/router.js";
import { webhookRoute } from "../../src/http/webhooks.js";
import { SECRET, startTestBot } from "../support/bot.js";
import { ENGINES, createTestDb, type TestDb } from "../support/databases.js";
import { priceOracle, startPayoutRig } from "../support/payouts.js";

/** A logger whose JSON lines the test reads. */
function captured() {
  const lines: Array<Record<string, unknown>> = [];
  return { log: pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) }), lines };
}

async function serve(routes: Route[], log = captured().log): Promise<{ url: string; server: Server }> {
  const server = createServer(createRouter(routes, { log }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function problem(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json()) as { type: string; title: string; status: number; detail: string; checks?: Record<string, string> };
}

describe("the router", () => {
  let s: { url: string; server: Server };
  const { log, lines } = captured();
  beforeAll(async () => {
    s = await serve(
      [
        { method: "GET", path: "/things/:id", handle: (_req, res, ctx) => void res.end(`thing ${ctx.params.id}`) },
        { method: "POST", path: "/things/:id", maxBytes: 8, handle: async (_req, res, ctx) => void res.end((await ctx.body()).toString()) },
        { method: "GET", path: "/boom", handle: () => { throw new Error("secret detail"); } },
        { method: "GET", path: "/teapot", handle: () => { throw new HttpError(418, "short and stout"); } },
      ],
      log,
    );
  });
  afterAll(() => new Promise<void>((r) => s.server.close(() => r())));

  test("routes by pattern, and logs one line per request with the pattern, never the raw URL", async () => {
    const res = await fetch(`${s.url}/things/abc%20d`);
    expect(await res.text()).toBe("thing abc d");
    const line = lines.find((l) => l.msg === "HTTP request" && l.route === "/things/:id");
    expect(line).toMatchObject({ method: "GET", route: "/things/:id", status: 200, ms: expect.any(Number) });
    expect(JSON.stringify(lines)).not.toContain("abc");
  });

  test("errors are RFC 9457 problem answers: 404, 405 with Allow, 413 past the route's limit, 500 without the error's text", async () => {
    const missing = await fetch(`${s.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await problem(missing)).toEqual({ type: "about:blank", title: "Not Found", status: 404, detail: "no such route" });

    const wrongMethod = await fetch(`${s.url}/things/1`, { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, POST");
    expect(await problem(wrongMethod)).toMatchObject({ status: 405, title: "Method Not Allowed" });

    expect(await (await fetch(`${s.url}/things/1`, { method: "POST", body: "12345678" })).text()).toBe("12345678");
    const tooBig = await fetch(`${s.url}/things/1`, { method: "POST", body: "123456789" });
    expect(tooBig.status).toBe(413);
    expect(await problem(tooBig)).toMatchObject({ status: 413, title: "Payload Too Large" });

    const boom = await fetch(`${s.url}/boom`);
    expect(boom.status).toBe(500);
    const p = await problem(boom);
    expect(p).toEqual({ type: "about:blank", title: "Internal Server Error", status: 500, detail: "internal error" });

    const teapot = await fetch(`${s.url}/teapot`);
    expect(await problem(teapot)).toMatchObject({ status: 418, detail: "short and stout" });
  });

  test("a webhook while the app shuts down gets 503 and is not stored", async () => {
    const stored: string[] = [];
    const w = await serve([
      webhookRoute({ path: "/hook", secret: SECRET, log: pino({ level: "silent" }), receive: async (d) => void stored.push(d.id), accepting: () => false }),
    ]);
    try {
      const body = "{}";
      const res = await fetch(`${w.url}/hook`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "issue_comment",
          "x-github-delivery": "d-1",
          "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
        },
        body,
      });
      expect(res.status).toBe(503);
      expect(await problem(res)).toMatchObject({ status: 503, title: "Service Unavailable" });
      expect(stored).toEqual([]);
    } finally {
      await new Promise<void>((r) => w.server.close(() => r()));
    }
  });

  test("a webhook with the wrong content type gets a 415 problem answer", async () => {
    const w = await serve([webhookRoute({ path: "/hook", secret: SECRET, log: pino({ level: "silent" }), receive: async () => undefined })]);
    try {
      const res = await new Promise<{ status?: number; type?: string }>((resolve) => {
        const req = request(`${w.url}/hook`, { method: "POST", headers: { "content-type": "text/plain", "x-github-event": "ping", "x-github-delivery": "d", "x-hub-signature-256": "sha256=00" } }, (r) => {
          r.resume();
          resolve({ status: r.statusCode, type: r.headers["content-type"] });
        });
        req.end("x");
      });
      expect(res).toEqual({ status: 415, type: "application/problem+json" });
    } finally {
      await new Promise<void>((r) => w.server.close(() => r()));
    }
  });
});

describe.each(ENGINES)("/healthz and /readyz on %s", (engine) => {
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
  });
  afterAll(() => nock.enableNetConnect());
  afterEach(() => nock.cleanAll());

  test("ready with the database and the chain up; 503 naming the chain when the local chain stops, the database when it is closed", async () => {
    const t: TestDb = await createTestDb(engine);
    const rig = await startPayoutRig(t.db);
    const bot = await startTestBot(
      t.db,
      { BITCOIN_NETWORK: "regtest" },
      { payouts: { wallet: rig.wallet, prices: priceOracle("fixed:USD=60000;EUR=50000;GBP=40000"), schedule: false }, chain: new EsploraBackend({ url: rig.chain.url, retries: 0, timeoutMs: 1000 }) },
    );
    try {
      const up = await fetch(`${bot.url}/readyz`);
      expect(up.status).toBe(200);
      expect(await up.json()).toEqual({ status: "ready", checks: { database: "ok", chain: "ok" } });

      await rig.chain.close();
      const noChain = await fetch(`${bot.url}/readyz`);
      expect(noChain.status).toBe(503);
      const p = await problem(noChain);
      expect(p.checks).toEqual({ database: "ok", chain: expect.any(String) });
      expect(p.detail).toMatch(/^not ready: chain: /);

      await t.close();
      const noDb = await fetch(`${bot.url}/readyz`);
      expect(noDb.status).toBe(503);
      expect((await problem(noDb)).checks).toEqual({ database: expect.not.stringMatching(/^ok$/), chain: expect.not.stringMatching(/^ok$/) });
      // Alive all the same: Kubernetes must not restart a process that waits for its database.
      expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
    } finally {
      await bot.close().catch(() => undefined);
      await t.close().catch(() => undefined);
    }
  }, 30_000);
});
