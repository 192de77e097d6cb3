import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { owe } from "../support/owed.js";
import { call, checkAnswer, DOC } from "./support.js";

const template = (path: string) => path.replace(/:(\w+)/g, "{$1}");

test("an answer the document does not describe is caught: the check itself can fail", () => {
  expect(() => checkAnswer("GET", "/api/v1/budget", 200, "application/json", { token: "x" })).toThrow(/does not fit the document/);
  expect(() => checkAnswer("GET", "/api/v1/budget", 418, "application/json", {})).toThrow(/does not list/);
  expect(() => checkAnswer("GET", "/api/v1/nowhere", 200, "application/json", {})).toThrow(/not in the OpenAPI document/);
  expect(() => checkAnswer("POST", "/api/v1/rewards", 400, "application/json", { detail: "x" })).toThrow(/answered application\/json/);
});

describe.each(ENGINES)("the OpenAPI document on the app on %s", (engine) => {
  const h = useTestBot(engine, { token: false });

  test("every /api/v1 route the app mounts (rewards, solvency, the board's JSON twins) is in the document, and no other", () => {
    const mounted = h.bot.routes.filter((r) => r.path.startsWith("/api/v1/")).map((r) => `${r.method} ${template(r.path)}`).sort();
    const documented = Object.entries(DOC.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(documented).toEqual(mounted);
  });

  test("the board's JSON twins answer as the document says", async () => {
    for (const path of ["/api/v1/bounties", "/api/v1/experts", "/api/v1/leaderboard?period=week", "/api/v1/payouts", "/api/v1/users/nobody-here"]) {
      const r = await call(h.bot.url, "GET", path);
      expect([path, r.status]).toEqual([path, path.includes("nobody") ? 404 : 200]);
    }
  });

  test("is served at /api/v1/openapi.json as OpenAPI 3.1; every documented route is mounted on the app's router", async () => {
    const r = await call(h.bot.url, "GET", "/api/v1/openapi.json");
    expect([r.status, r.body.openapi, r.body]).toEqual([200, "3.1.0", JSON.parse(JSON.stringify(DOC))]);
    for (const [path, ops] of Object.entries(DOC.paths)) {
      for (const method of Object.keys(ops)) {
        const res = await fetch(`${h.bot.url}${path.replace(/\{[^}]+\}/g, "1")}`, { method: method.toUpperCase() });
        const body = (await res.json()) as { detail?: string };
        expect([method, path, res.status, body.detail]).not.toEqual([method, path, 404, "no such route"]);
        expect([method, path, res.status]).not.toEqual([method, path, 405]);
      }
    }
  });

  test("the solvency routes' answers fit the document (no payout wallet: wallet null with a note)", async () => {
    await owe(h.db, { id: 93001, login: "solvent" }, { earnings: 1234n });
    const report = await call(h.bot.url, "GET", "/api/v1/solvency");
    expect([report.status, report.body.wallet]).toEqual([200, null]);
    const proof = await call(h.bot.url, "GET", "/api/v1/solvency/proof/solvent");
    expect([proof.status, proof.body.proof.balance]).toEqual([200, "1234"]);
    expect((await call(h.bot.url, "GET", "/api/v1/solvency/proof/nobody-here")).status).toBe(404);
    expect((await call(h.bot.url, "GET", `/api/v1/solvency/proof/${encodeURIComponent("x;y")}`)).status).toBe(400);
  });
});
