import { rewardsRoutes } from "../../src/api/rewards.js";
import { solvencyRoutes } from "../../src/http/solvency.js";
import { openDatabase } from "../../src/store/db.js";
import { useTestBot } from "../support/harness.js";
import { ENGINES } from "../support/databases.js";
import { owe } from "../support/owed.js";
import { silent } from "../support/payouts.js";
import { call, checkAnswer, DOC } from "./support.js";

const template = (path: string) => path.replace(/:(\w+)/g, "{$1}");

test("the document names exactly the /api/v1 routes the app mounts, and each with the method it has", async () => {
  const db = await openDatabase({ dataDir: "memory://" });
  try {
    const routes = [
      ...rewardsRoutes({ db, log: silent, github: { user: async () => null, installationOf: async () => null }, defaultCurrency: "USD", accounts: () => new Set() }),
      ...solvencyRoutes({ db, network: "regtest", log: silent }),
    ];
    const mounted = routes.map((r) => `${r.method} ${template(r.path)}`).sort();
    const documented = Object.entries(DOC.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(documented).toEqual(mounted);
    expect(mounted.every((r) => r.split(" ")[1]!.startsWith("/api/v1/"))).toBe(true);
  } finally {
    await db.close();
  }
});

test("an answer the document does not describe is caught: the check itself can fail", () => {
  expect(() => checkAnswer("GET", "/api/v1/budget", 200, "application/json", { token: "x" })).toThrow(/does not fit the document/);
  expect(() => checkAnswer("GET", "/api/v1/budget", 418, "application/json", {})).toThrow(/does not list/);
  expect(() => checkAnswer("GET", "/api/v1/nowhere", 200, "application/json", {})).toThrow(/not in the OpenAPI document/);
  expect(() => checkAnswer("POST", "/api/v1/rewards", 400, "application/json", { detail: "x" })).toThrow(/answered application\/json/);
});

describe.each(ENGINES)("the OpenAPI document on the app on %s", (engine) => {
  const h = useTestBot(engine, { token: false });

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
