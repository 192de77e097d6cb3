import { openDatabase, type Db } from "../../src/store/db.js";
import {
  advanceOutpoint,
  findOutpoint,
  issueDepositAddress,
  issuedDepositIndexes,
  listDepositAddresses,
  listOutpoints,
  markReceived,
  ownPayoutTxids,
  recordSeen,
} from "../../src/store/deposits.js";
import { ENGINES, createServerDatabase, createTestDb } from "../support/databases.js";

const where = (issueNumber: number) => ({ installationId: 5, owner: "acme", repo: "widgets", issueNumber });
const derive = (wallet: string) => (index: number) => `addr-${wallet}-${index}`;
let nextWallet = 0;
const freshWallet = () => `xpub-test-${process.pid}-${nextWallet++}`;

describe.each(ENGINES)("deposit store on %s", (engine) => {
  /** Two handles on one database: on PostgreSQL two connection pools, as two processes would have. */
  let a: Db;
  let b: Db;
  let close: () => Promise<void>;

  beforeAll(async () => {
    if (engine === "postgres") {
      const server = await createServerDatabase();
      a = await openDatabase({ databaseUrl: server.url });
      b = await openDatabase({ databaseUrl: server.url });
      close = async () => {
        await a.close();
        await b.close();
        await server.drop();
      };
    } else {
      const t = await createTestDb(engine);
      a = b = t.db;
      close = () => t.close();
    }
  });
  afterAll(() => close());

  const issue = (db: Db, wallet: string, userId: number, issueNumber = 1) =>
    db.transaction((tx) => issueDepositAddress(tx, { wallet, userId, login: `u${userId}`, where: where(issueNumber), at: new Date() }, derive(wallet)));

  test("one address per person at a time, a fresh one once it has received, and where they last asked", async () => {
    const w = freshWallet();
    const first = await issue(a, w, 1, 10);
    expect(first).toMatchObject({ index: 0, address: `addr-${w}-0`, userId: 1, fresh: true, receivedAt: null });
    const again = await issue(a, w, 1, 11);
    expect(again).toMatchObject({ index: 0, fresh: false, where: where(11) });
    const other = await issue(a, w, 2);
    expect(other.index).toBe(1);
    await a.transaction((tx) => markReceived(tx, first.id, new Date()));
    const next = await issue(a, w, 1);
    expect(next).toMatchObject({ index: 2, fresh: true });
    expect(await issuedDepositIndexes(a, w)).toEqual([0, 1, 2]);
    expect((await listDepositAddresses(a, w)).map((x) => [x.index, x.userId, x.receivedAt !== null])).toEqual([
      [0, 1, true],
      [1, 2, false],
      [2, 1, false],
    ]);
    // Another wallet (another mnemonic) counts from 0 on its own.
    expect((await issue(a, freshWallet(), 1)).index).toBe(0);
  });

  test("two processes issuing at once never hand out one index twice", async () => {
    const w = freshWallet();
    const got = await Promise.all(Array.from({ length: 8 }, (_, i) => issue(i % 2 ? a : b, w, 100 + i)));
    expect(new Set(got.map((g) => g.index)).size).toBe(8);
    expect(await issuedDepositIndexes(a, w)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test("an outpoint is recorded once and moves only from the state the decision was made on", async () => {
    const w = freshWallet();
    const addr = await issue(a, w, 7);
    const txid = "c".repeat(63) + String(nextWallet % 10);
    const o = { txid, vout: 1, wallet: w, address: addr.address, owner: "deposit" as const, addressId: addr.id, userId: 7, sats: 5_000n };
    await a.transaction((tx) => recordSeen(tx, o, new Date()));
    await a.transaction((tx) => recordSeen(tx, { ...o, sats: 1n }, new Date()));
    expect(await findOutpoint(a, txid, 1)).toMatchObject({ state: "seen", generation: 0, sats: 5_000n, userId: 7, addressId: addr.id });

    const credit = (db: Db) => db.transaction((tx) => advanceOutpoint(tx, o, { state: "seen", generation: 0 }, { state: "credited", generation: 1 }, new Date()));
    // Two processes decide the same credit: exactly one records it.
    const results = await Promise.all([credit(a), credit(b)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await credit(a)).toBe(false);
    const reverse = () => a.transaction((tx) => advanceOutpoint(tx, o, { state: "credited", generation: 1 }, { state: "reversed", generation: 1 }, new Date()));
    expect(await reverse()).toBe(true);
    expect(await reverse()).toBe(false);
    expect((await listOutpoints(a, w)).map((x) => [x.state, x.generation])).toEqual([["reversed", 1]]);
  });

  test("the schema refuses what the rules never do", async () => {
    const w = freshWallet();
    const addr = await issue(a, w, 8);
    const txid = "d".repeat(64);
    // A deposit without its person, and a credited state without a generation.
    await expect(
      a.transaction((tx) => recordSeen(tx, { txid, vout: 0, wallet: w, address: addr.address, owner: "deposit", addressId: null, userId: null, sats: 1n }, new Date())),
    ).rejects.toThrow();
    await a.transaction((tx) => recordSeen(tx, { txid, vout: 0, wallet: w, address: "recv", owner: "treasury", addressId: null, userId: null, sats: 1n }, new Date()));
    await expect(
      a.transaction((tx) => advanceOutpoint(tx, { txid, vout: 0 }, { state: "seen", generation: 0 }, { state: "credited", generation: 0 }, new Date())),
    ).rejects.toThrow();
    expect(await ownPayoutTxids(a, [txid])).toEqual(new Set());
  });
});
