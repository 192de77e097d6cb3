import type { Db } from "../../src/store/db.js";
import type { Cause } from "../../src/store/bounties.js";
import { bountyEvents } from "../../src/store/bounties.js";
import { listPayouts, listPayoutTxs } from "../../src/store/payouts.js";
import { removeWallet, setWallet } from "../../src/store/wallets.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { ledgerProblems } from "../support/ledger.js";
import { enginesAndBackends, PAYOUT_SETTINGS, seedAward, startPayoutRig, outputsOf, receivedBy, type PayoutRig, resetPayoutState } from "../support/payouts.js";

/**
 * A wallet change always wins before signing: the destination is read again inside the database
 * transaction that stores the signed batch. A `/wallet` committed while the run was forming and
 * signing (here: from the run's "signed" checkpoint, before the store) means that signed batch is
 * never stored nor broadcast; the payout is formed again at the new destination.
 */

const CHARITY = { id: "coin-center", name: "Coin Center" };

const cause = (id: number, login: string): Cause => ({ actor: { id, login }, deliveryId: `d-${id}-${Math.random()}` });

/** What `/wallet <address>` commits. */
function linkAddress(db: Db, id: number, login: string, address: string) {
  return db.transaction((tx) =>
    setWallet(tx, { userId: id, login, kind: "address", address, addressType: "p2wpkh", network: "regtest", charityId: null, charityName: null }, cause(id, login)),
  );
}

/** What `/wallet donate coin-center` commits. */
function donate(db: Db, id: number, login: string, charityAddress: string) {
  return db.transaction((tx) =>
    setWallet(
      tx,
      { userId: id, login, kind: "charity", address: charityAddress, addressType: "p2wpkh", network: "regtest", charityId: CHARITY.id, charityName: CHARITY.name },
      cause(id, login),
    ),
  );
}

async function award(db: Db, id: number, login: string, sats: bigint) {
  return seedAward(db, { recipients: [{ id, login, amounts: [{ currency: "BTC", minor: sats }] }] });
}

describe.each(enginesAndBackends(ENGINES))("a wallet change before signing (%s, %s)", (engine, backend) => {
  let t: TestDb;
  let rig: PayoutRig;

  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetPayoutState(t.db);
    rig = await startPayoutRig(t.db, { backend });
    await rig.fund(200_000n);
  });
  afterEach(async () => {
    await rig.close();
    // Whatever the test did, the ledger still balances and agrees with the awards and payouts.
    expect(await ledgerProblems(t.db)).toEqual([]);
  });

  /** A run that commits `change` once, after signing and before storing. */
  function runWithChange(change: () => Promise<unknown>) {
    const abandoned: string[] = [];
    const run = rig.run({
      checkpoint: async (step, { txids }) => {
        if (step !== "signed" || abandoned.length) return;
        abandoned.push(...txids);
        await change();
      },
    });
    return { run, abandoned };
  }

  test("a new address committed between forming and storing: the old address gets nothing, the new one is paid", async () => {
    const [old, fresh] = [randomAddress("p2wpkh"), randomAddress("p2wpkh")];
    await linkAddress(t.db, 2001, "olga", old);
    const { bountyId } = await award(t.db, 2001, "olga", 12_000n);

    const { run, abandoned } = runWithChange(() => linkAddress(t.db, 2001, "olga", fresh));
    const r = await run;
    expect(abandoned).toHaveLength(1);
    expect(r.signed).toHaveLength(1);
    expect(r.signed).not.toContain(abandoned[0]);
    expect(rig.chain.chain.tx(abandoned[0]!)).toBeUndefined();
    expect(receivedBy(rig, old).sats).toBe(0n);
    expect(receivedBy(rig, fresh).sats).toBe(12_000n);

    expect((await listPayoutTxs(t.db)).map((x) => x.txid)).toEqual(r.signed);
    expect((await listPayouts(t.db)).map((p) => [p.address, p.state])).toEqual([[fresh, "broadcast"]]);
    // The abandoned batch gave its cap reservation back.
    const reserved = await t.db.query<{ txid: string }>("SELECT txid FROM spend_reservations");
    expect(reserved.map((x) => x.txid)).toEqual(r.signed);
    expect((await bountyEvents(t.db, bountyId)).map((e) => e.kind)).toContain("payout_dissolved");
  });

  test("the wallet removed between forming and storing: nothing is paid, the award waits on the balance", async () => {
    const old = randomAddress("p2wpkh");
    await linkAddress(t.db, 2002, "pete", old);
    const { bountyId } = await award(t.db, 2002, "pete", 12_000n);

    const { run, abandoned } = runWithChange(() => t.db.transaction((tx) => removeWallet(tx, 2002, cause(2002, "pete"))));
    const r = await run;
    expect(abandoned).toHaveLength(1);
    expect(r.signed).toEqual([]);
    expect(rig.chain.chain.tx(abandoned[0]!)).toBeUndefined();
    expect(receivedBy(rig, old).sats).toBe(0n);
    expect(await listPayoutTxs(t.db)).toEqual([]);
    expect(await listPayouts(t.db)).toEqual([]);
    const [a] = await t.db.query<{ state: string; payout_id: bigint | null }>("SELECT state, payout_id FROM awards WHERE bounty_id = $1", [bountyId]);
    expect(a).toEqual({ state: "credited", payout_id: null });
  });

  test("one payee's change re-forms the batch: the other payouts in it are still paid, once", async () => {
    const [old, fresh, other] = [randomAddress("p2wpkh"), randomAddress("p2wpkh"), randomAddress("p2wpkh")];
    await linkAddress(t.db, 2003, "quin", old);
    await linkAddress(t.db, 2004, "rosa", other);
    await award(t.db, 2003, "quin", 12_000n);
    await award(t.db, 2004, "rosa", 13_000n);

    const { run } = runWithChange(() => linkAddress(t.db, 2003, "quin", fresh));
    const r = await run;
    expect(r.signed).toHaveLength(1);
    const outs = outputsOf(rig, r.signed[0]!);
    expect([outs.get(fresh), outs.get(other), outs.get(old)]).toEqual([12_000n, 13_000n, undefined]);
    expect(receivedBy(rig, old).sats).toBe(0n);
  });

  test("a donor's share in a shared charity payout follows the donor's new wallet, formed before the run", async () => {
    const charity = randomAddress("p2wpkh");
    const own = randomAddress("p2wpkh");
    await donate(t.db, 2005, "sam", charity);
    await donate(t.db, 2006, "tia", charity);
    await award(t.db, 2005, "sam", 12_000n);
    await award(t.db, 2006, "tia", 13_000n);
    const approve = { settings: { ...PAYOUT_SETTINGS, mode: "approve" as const } };
    await rig.run(approve);
    const [shared] = await listPayouts(t.db);
    expect(shared).toMatchObject({ kind: "charity", userId: null, address: charity, sats: 25_000n, state: "awaiting_approval" });

    await linkAddress(t.db, 2005, "sam", own);
    await rig.run(approve);
    const payouts = await listPayouts(t.db);
    expect(payouts.map((p) => [p.kind, p.address, p.sats]).sort()).toEqual(
      [
        ["charity", charity, 13_000n],
        ["user", own, 12_000n],
      ].sort(),
    );
  });

  test("a donor's switch to their own address committed between forming and storing: their share leaves the charity payout", async () => {
    const charity = randomAddress("p2wpkh");
    const own = randomAddress("p2wpkh");
    await donate(t.db, 2007, "uma", charity);
    await donate(t.db, 2008, "vic", charity);
    await award(t.db, 2007, "uma", 12_000n);
    await award(t.db, 2008, "vic", 13_000n);

    const { run, abandoned } = runWithChange(() => linkAddress(t.db, 2007, "uma", own));
    const r = await run;
    expect(abandoned).toHaveLength(1);
    expect(rig.chain.chain.tx(abandoned[0]!)).toBeUndefined();
    expect(r.signed).toHaveLength(1);
    expect(receivedBy(rig, charity).sats).toBe(13_000n);
    expect(receivedBy(rig, own).sats).toBe(12_000n);
  });
});
