import { watchDeposits } from "../../src/payouts/deposits.js";
import { issueDepositAddress } from "../../src/store/deposits.js";
import { createTestDb, type TestDb } from "../support/databases.js";
import { silent, startPayoutRig, type ChainBackendName, type PayoutRig } from "../support/payouts.js";

/**
 * The deposit watcher runs every 30 s over every deposit address ever handed out: each address's
 * history is read only as far as what changed since the last pass (Esplora: down to the newest
 * confirmed transaction it knew, still in the same block; Core: no transaction whose block is still
 * in the best chain is fetched again), and a reorganisation still reads it all.
 */
const ADDRESSES = 200;

describe.each(["esplora", "core"] as ChainBackendName[])("deposit watching: requests per pass (%s)", (backend) => {
  let t: TestDb;
  let rig: PayoutRig;
  beforeAll(async () => {
    t = await createTestDb("pglite");
    rig = await startPayoutRig(t.db, { backend });
  });
  afterAll(async () => {
    await rig.close();
    await t.close();
  });

  test(`${ADDRESSES} deposit addresses, each paid: a pass with nothing new reads each address once; new payments and a reorg are still seen`, async () => {
    const wallet = rig.wallet.depositWallet;
    const addresses: string[] = [];
    for (let i = 0; i < ADDRESSES; i++) {
      const a = await t.db.transaction((tx) =>
        issueDepositAddress(
          tx,
          { wallet, userId: 70_000 + i, login: `u${i}`, where: { installationId: 1, owner: "o", repo: "r", issueNumber: 1 }, at: new Date() },
          (index) => rig.wallet.depositAddress(index),
        ),
      );
      addresses.push(a.address);
    }
    // Every address paid twice, in two blocks: a history of confirmed transactions to page through.
    for (const a of addresses) rig.chain.fund(a, 10_000n);
    rig.chain.mine(1);
    for (const a of addresses) rig.chain.fund(a, 20_000n);
    rig.chain.mine(1);
    // Esplora's HTTP requests, or Core's JSON-RPC calls.
    const requests = () => (backend === "esplora" ? rig.chain.esploraRequests : rig.chain.rpc.calls.length);
    const pass = async () => {
      const before = requests();
      const report = await watchDeposits({ db: t.db, wallet: rig.wallet, confirmations: 1, log: silent });
      return { report, requests: requests() - before };
    };
    // Esplora: one history page per deposit address (it was two: the first page, then an empty next
    // one); Core: listreceivedbyaddress and the best tip per address, each block's header once (it
    // was gettransaction for every transaction). Both: what the wallet's own sync takes (each
    // deposit address's coins, the gap-limit scan, the tip). Before: 641 and 1041 here.
    const bound = backend === "esplora" ? 2 * ADDRESSES + 60 : 4 * ADDRESSES + 80;
    const first = await pass();
    expect(first.report.credited).toHaveLength(2 * ADDRESSES);
    const quiet = await pass();
    const again = await pass();
    console.log(`deposit watch on ${backend}, ${ADDRESSES} addresses: first pass ${first.requests} requests, then ${quiet.requests} and ${again.requests} with nothing new`);
    expect(quiet.report).toMatchObject({ credited: [], reversed: [], failed: 0 });
    expect(quiet.requests).toBeLessThanOrEqual(bound);

    // A new payment to one address, and a reorg taking a confirmed one away from another: both seen.
    const fresh = rig.chain.fund(addresses[7]!, 30_000n);
    rig.chain.mine(1);
    const moved = await pass();
    expect(moved.report.credited).toEqual([`deposit:${fresh.txid}:${fresh.vout}:1`]);
    const gone = rig.chain.fund(addresses[9]!, 40_000n);
    rig.chain.mine(1);
    expect((await pass()).report.credited).toEqual([`deposit:${gone.txid}:${gone.vout}:1`]);
    const res = await fetch(`${rig.chain.url}/regtest/reorg`, { method: "POST", body: JSON.stringify({ blocks: 1, drop: [gone.txid] }) });
    expect(res.status).toBe(200);
    rig.chain.mine(1);
    const reorged = await pass();
    expect(reorged.report.reversed).toEqual([`deposit:${gone.txid}:${gone.vout}:1:reversal`]);
    expect(reorged.requests).toBeLessThanOrEqual(bound);

    // The newest transaction mined again in the new branch (same txid, another block) while an
    // older one of the same address is dropped: the anchor's block changed, so all is read again.
    const older = rig.chain.fund(addresses[11]!, 50_000n);
    rig.chain.mine(1);
    const newer = rig.chain.fund(addresses[11]!, 60_000n);
    rig.chain.mine(1);
    expect((await pass()).report.credited.sort()).toEqual([`deposit:${older.txid}:${older.vout}:1`, `deposit:${newer.txid}:${newer.vout}:1`].sort());
    const res2 = await fetch(`${rig.chain.url}/regtest/reorg`, { method: "POST", body: JSON.stringify({ blocks: 2, drop: [older.txid] }) });
    expect(res2.status).toBe(200);
    rig.chain.mine(1);
    const remined = await pass();
    expect(remined.report.reversed).toEqual([`deposit:${older.txid}:${older.vout}:1:reversal`]);
  }, 300_000);
});
