import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { proofFromJson, verifyProof } from "../../src/ledger/merkle.js";
import { createRouter } from "../../src/http/router.js";
import { solvencyRoutes, type SolvencyReport } from "../../src/http/solvency.js";
import { useTestBot } from "../support/harness.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { priceOracle, silent, startPayoutRig, type PayoutRig } from "../support/payouts.js";
import { credit, owe, TESTNET_ADDRESS } from "../support/owed.js";

async function get(url: string): Promise<{ status: number; type: string | null; cache: string | null; body: any }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type"), cache: res.headers.get("cache-control"), body: await res.json() };
}

const rootOf = (r: SolvencyReport) => ({ hash: Buffer.from(r.root.hash, "hex"), sum: BigInt(r.root.sum) });

describe.each(ENGINES)("GET /api/v1/solvency on %s", (engine) => {
  describe("on the app, with its payout wallet", () => {
    let rig: PayoutRig;
    const h = useTestBot(engine, {
      env: { BITCOIN_NETWORK: "regtest" },
      // These routes ask GitHub nothing.
      token: false,
      async payouts(db) {
        rig = await startPayoutRig(db);
        return { wallet: rig.wallet, prices: priceOracle("fixed:USD=60000"), schedule: false };
      },
      afterStop: () => rig.close(),
    });

    test("publishes what is owed, the tree's root and the wallet's coins; each person's proof verifies against the root", async () => {
      await owe(h.db, { id: 7101, login: "Alice" }, { funds: 30_000n, earnings: 5_000n });
      await owe(h.db, { id: 7102, login: "bob" }, { earnings: 12_000n });
      const a = rig.chain.fund(await rig.wallet.receiveAddress(), 40_000n);
      rig.chain.mine(1);
      const b = rig.chain.fund(await rig.wallet.receiveAddress(), 9_000n);

      const res = await get(`${h.bot.url}/api/v1/solvency`);
      expect(res.status).toBe(200);
      expect(res.type).toBe("application/json");
      expect(res.cache).toMatch(/^public, max-age=\d+$/);
      const r = res.body as SolvencyReport;
      // Every person the ledger has ever seen in this file's database is in the tree; ours are two of them.
      const people = BigInt(r.owed.people_sats);
      expect(people).toBeGreaterThanOrEqual(47_000n);
      expect(r.root.sum).toBe(r.owed.people_sats);
      expect(BigInt(r.owed.total_sats)).toBe(people + BigInt(r.owed.charities_sats) + BigInt(r.owed.escrow_sats));
      expect(r.root.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.leaf_count).toBeGreaterThanOrEqual(2);
      expect([r.network, r.scheme, new Date(r.generated_at).getTime()]).toEqual(["regtest", "bounty-bot-merkle-sum-v1", Number(r.epoch)]);
      expect(r.wallet!.outpoints).toEqual(
        [
          { outpoint: `${a.txid}:${a.vout}`, txid: a.txid, vout: a.vout, sats: "40000", confirmed: true },
          { outpoint: `${b.txid}:${b.vout}`, txid: b.txid, vout: b.vout, sats: "9000", confirmed: false },
        ].sort((x, y) => (x.txid < y.txid ? -1 : 1)),
      );
      expect([r.wallet!.total_sats, r.wallet!.confirmed_sats]).toEqual(["49000", "40000"]);
      expect(r.wallet!.covers_owed).toBe(49_000n >= BigInt(r.owed.total_sats));
      // Nothing in the report names a person.
      expect(JSON.stringify(r)).not.toMatch(/alice|bob|7101|7102/i);

      for (const [login, balance] of [["alice", "35000"], ["BOB", "12000"]] as const) {
        const p = await get(`${h.bot.url}/api/v1/solvency/proof/${login}`);
        expect(p.status).toBe(200);
        expect([p.body.login, p.body.epoch, p.body.root, p.body.proof.balance]).toEqual([login, r.epoch, r.root, balance]);
        expect(verifyProof(proofFromJson(p.body.proof), rootOf(r))).toEqual({ ok: true });
      }
    });

    test("a login it never saw is 404, a malformed one 400, another method 405, each as problem+json", async () => {
      const unknown = await get(`${h.bot.url}/api/v1/solvency/proof/nobody-at-all`);
      expect([unknown.status, unknown.type, unknown.body.detail]).toEqual([404, "application/problem+json", "bounty-bot holds no balance for nobody-at-all"]);
      const bad = await get(`${h.bot.url}/api/v1/solvency/proof/${encodeURIComponent("x;drop")}`);
      expect([bad.status, bad.type, bad.body.title]).toEqual([400, "application/problem+json", "Bad Request"]);
      const post = await fetch(`${h.bot.url}/api/v1/solvency`, { method: "POST" });
      expect([post.status, post.headers.get("allow")]).toEqual([405, "GET"]);
      await post.text();
    });
  });

  describe("on the app without a payout wallet", () => {
    const h = useTestBot(engine, { token: false });

    test("says there is no wallet rather than listing none", async () => {
      await owe(h.db, { id: 7201, login: "carol" }, { funds: 1_000n }, TESTNET_ADDRESS);
      const r = (await get(`${h.bot.url}/api/v1/solvency`)).body as SolvencyReport;
      expect(r.wallet).toBeNull();
      expect(r.wallet_note).toMatch(/no payout wallet is configured/);
      expect(r.network).toBe("testnet");
      const p = await get(`${h.bot.url}/api/v1/solvency/proof/carol`);
      expect(verifyProof(proofFromJson(p.body.proof), rootOf(r))).toEqual({ ok: true });
    });
  });

  describe("the report, built at most once a minute", () => {
    let t: TestDb;
    let chain: LocalChainServer;
    let rig: PayoutRig;
    let server: Server;
    let url: string;
    let clock = Date.parse("2026-12-01T12:00:00Z");
    beforeAll(async () => {
      t = await createTestDb(engine);
      chain = await startLocalChain({ network: "regtest" });
      rig = await startPayoutRig(t.db, { chain });
      const router = createRouter(solvencyRoutes({ db: t.db, network: "regtest", wallet: rig.wallet, log: silent, now: () => new Date(clock) }), { log: silent });
      server = createServer(router);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rig.close();
      await chain.close();
      await t.close();
    });

    test("is kept for 60 s; after that a changed balance changes the root and the old proof no longer verifies", async () => {
      await owe(t.db, { id: 7301, login: "dana" }, { funds: 2_000n });
      await owe(t.db, { id: 7302, login: "eli" }, { earnings: 3_000n });
      const first = (await get(`${url}/api/v1/solvency`)).body as SolvencyReport;
      const oldProof = (await get(`${url}/api/v1/solvency/proof/dana`)).body;
      expect(first.root.sum).toBe("5000");

      await credit(t.db, 7301, { funds: 1n });
      clock += 59_000;
      const cached = await get(`${url}/api/v1/solvency`);
      expect(cached.body).toEqual(first);
      expect(cached.cache).toBe("public, max-age=1");

      clock += 1_000;
      const second = (await get(`${url}/api/v1/solvency`)).body as SolvencyReport;
      expect(second.root.sum).toBe("5001");
      expect(second.root.hash).not.toBe(first.root.hash);
      expect(second.epoch).not.toBe(first.epoch);
      // The old proof was for the old report only.
      expect(verifyProof(proofFromJson(oldProof.proof), rootOf(second)).ok).toBe(false);
      const fresh = (await get(`${url}/api/v1/solvency/proof/dana`)).body;
      expect(fresh.proof.balance).toBe("2001");
      expect(fresh.proof.salt).not.toBe(oldProof.proof.salt);
      expect(verifyProof(proofFromJson(fresh.proof), rootOf(second))).toEqual({ ok: true });
    });

    test("when the chain backend does not answer: 503, no report, and the next request tries again", async () => {
      clock += 120_000;
      await chain.close();
      const down = await get(`${url}/api/v1/solvency`);
      expect([down.status, down.type]).toEqual([503, "application/problem+json"]);
      expect(down.body.detail).toMatch(/could not be read from the chain/);
      const port = Number(new URL(chain.url).port);
      chain = await startLocalChain({ chain: chain.chain, port });
      const up = await get(`${url}/api/v1/solvency`);
      expect(up.status).toBe(200);
    });
  });
});
