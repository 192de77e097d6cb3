import { parseAddress } from "../../src/bitcoin/address.js";
import { Secret } from "../../src/bitcoin/secret.js";
import { openWalletOn } from "../../src/payouts/setup.js";
import { MemorySpendLog, MemoryWalletState } from "../../src/bitcoin/state.js";
import { PayoutWallet } from "../../src/bitcoin/wallet.js";
import { approvePayouts, listPayouts, listPayoutTxs } from "../../src/store/payouts.js";
import { bountyEvents, getBounty } from "../../src/store/bounties.js";
import { randomAddress, testConfig } from "../bitcoin/helpers.js";
import { openDatabase } from "../../src/store/db.js";
import { createServerDatabase, createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { ledgerProblems } from "../support/ledger.js";
import { CHAIN_BACKENDS, enginesAndBackends, linkWallet, PAYOUT_SETTINGS, priceOracle, seedAward, silent, startPayoutRig, startPriceServer, outputsOf, receivedBy, type PayoutRig } from "../support/payouts.js";

/** The rig's settings, with txids shown bare (no explorer link) in comments. */
const NO_LINKS = { ...PAYOUT_SETTINGS, explorerUrl: null };

/** The node drops a transaction from its mempool (as after expiry), through the local chain's dev endpoint. */
async function evict(rig: PayoutRig, txid: string): Promise<void> {
  const res = await fetch(`${rig.chain.url}/regtest/evict/${txid}`, { method: "POST" });
  if (!res.ok) throw new Error(`evict ${txid}: ${res.status} ${await res.text()}`);
}

async function outbox(db: TestDb["db"]) {
  return db.query<{ dedupe_key: string; issue_number: number; body: string }>("SELECT dedupe_key, issue_number, body FROM outbox ORDER BY id");
}

describe.each(enginesAndBackends(ENGINES, "exactly-once"))("payout run (%s, %s)", (engine, backend) => {
  let t: TestDb;
  let rig: PayoutRig;

  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    // Each test: a fresh wallet and chain, and a database without earlier payouts.
    await t.db.exec(
      "TRUNCATE outbox, spend_reservations, wallet_indexes, wallets, awards, payouts, payout_txs, claims, pledges, events, bounties, ledger_transfers, ledger_accounts RESTART IDENTITY CASCADE; " +
        "INSERT INTO ledger_accounts (key, kind) VALUES ('wallet', 'wallet'), ('treasury', 'treasury'), ('fees', 'fees')",
    ).catch(async () => {
      // events are append-only by trigger; TRUNCATE does not fire row triggers, but be explicit if an engine refuses.
      throw new Error("could not reset the database");
    });
    rig = await startPayoutRig(t.db, { backend });
  });
  afterEach(async () => {
    await rig.close();
    // Whatever the test did, the ledger still balances and agrees with the awards and payouts.
    expect(await ledgerProblems(t.db)).toEqual([]);
  });

  test("a held award past its hold is priced, paid in one transaction, announced, then confirmed", async () => {
    await rig.fund(200_000n);
    const alice = randomAddress("p2wpkh");
    await linkWallet(t.db, 501, "alice", alice);
    const { bountyId, issueNumber } = await seedAward(t.db, { recipients: [{ id: 501, login: "alice", amounts: [{ currency: "USD", minor: 500n }] }] });

    const r1 = await rig.run();
    expect(r1).toMatchObject({ ran: true, credited: 1, queued: 1 });
    expect(r1.signed).toHaveLength(1);
    expect(r1.broadcast).toEqual(r1.signed);
    const txid = r1.signed[0]!;
    // $5.00 at 60,000 USD/BTC = 8,333.33… sats, rounded to the nearest sat.
    expect(outputsOf(rig, txid).get(alice)).toBe(8_333n);

    const [award] = await t.db.query<{ sats: bigint; rates: { USD: { price: string } } }>("SELECT sats, rates FROM awards");
    expect(award!.sats).toBe(8_333n);
    expect(award!.rates.USD.price).toBe("60000");
    expect((await getBounty(t.db, bountyId)).status).toBe("paid");
    const [tx] = await listPayoutTxs(t.db);
    expect(tx).toMatchObject({ txid, state: "broadcast" });
    expect(tx!.feeSats).toBeGreaterThan(0n);

    const comments = await outbox(t.db);
    expect(comments.map((c) => c.issue_number).sort()).toEqual([issueNumber, issueNumber + 1]);
    expect(comments[0]!.body).toContain("8,333 sats to @alice ($5 at USD 60,000.00/BTC)");
    expect(comments[0]!.body).toContain(`https://mempool.space/testnet/tx/${txid}`);

    rig.chain.mine(1);
    const r2 = await rig.run();
    expect(r2.confirmed).toEqual([txid]);
    expect((await getBounty(t.db, bountyId)).status).toBe("confirmed");
    expect((await listPayouts(t.db))[0]!.state).toBe("confirmed");
    const kinds = (await bountyEvents(t.db, bountyId)).map((e) => e.kind);
    expect(kinds).toEqual(["award_credited", "payout_queued", "payout_signed", "payout_broadcast", "status", "payout_confirmed", "status"]);

    // Nothing left to do: another run changes nothing and sends nothing.
    const r3 = await rig.run();
    expect(r3).toMatchObject({ credited: 0, queued: 0, signed: [], broadcast: [], confirmed: [] });
    expect(receivedBy(rig, alice)).toEqual({ sats: 8_333n, txids: [txid] });
  });

  test("payouts to several recipients go out in one batch, and a held award waits for its hold", async () => {
    await rig.fund(300_000n, 50_000n);
    const people = [601, 602, 603].map((id) => ({ id, login: `user${id}`, address: randomAddress(id === 602 ? "p2tr" : "p2wpkh") }));
    for (const p of people) await linkWallet(t.db, p.id, p.login, p.address, id2type(p.address));
    await seedAward(t.db, { recipients: people.map((p) => ({ ...p, amounts: [{ currency: "BTC", minor: 20_000n }] })) });
    const later = await seedAward(t.db, {
      recipients: [{ id: 601, login: "user601", amounts: [{ currency: "EUR", minor: 1_000n }] }],
      holdUntil: new Date(Date.now() + 3_600_000),
    });

    const r = await rig.run();
    expect(r.signed).toHaveLength(1);
    const outs = outputsOf(rig, r.signed[0]!);
    for (const p of people) expect(outs.get(p.address)).toBe(20_000n);
    const [held] = await t.db.query<{ state: string }>("SELECT state FROM awards WHERE bounty_id = $1", [later.bountyId]);
    expect(held!.state).toBe("held");

    // After the hold: €10 at 50,000 EUR/BTC = 20,000 sats.
    const r2 = await rig.run({ now: () => new Date(Date.now() + 3_700_000) });
    expect(r2.credited).toBe(1);
    expect(outputsOf(rig, r2.signed[0]!).get(people[0]!.address)).toBe(20_000n);
  });

  test("a balance below PAYOUT_MIN_SATS waits and is paid in one output once awards add up", async () => {
    await rig.fund(100_000n);
    const bob = randomAddress("p2wpkh");
    await linkWallet(t.db, 701, "bob", bob);
    await seedAward(t.db, { recipients: [{ id: 701, login: "bob", amounts: [{ currency: "BTC", minor: 6_000n }] }] });
    const r1 = await rig.run({ settings: { ...NO_LINKS, minSats: 10_000n } });
    expect(r1).toMatchObject({ credited: 1, queued: 0, signed: [] });

    await seedAward(t.db, { recipients: [{ id: 701, login: "bob", amounts: [{ currency: "BTC", minor: 5_000n }] }] });
    const r2 = await rig.run({ settings: { ...NO_LINKS, minSats: 10_000n } });
    expect(r2).toMatchObject({ credited: 1, queued: 1 });
    expect(outputsOf(rig, r2.signed[0]!).get(bob)).toBe(11_000n);
    const comments = await outbox(t.db);
    expect(comments.filter((c) => c.dedupe_key.endsWith(":issue"))).toHaveLength(2);
    expect(comments[0]!.body).toContain("11,000 sats in all");
  });

  test("no wallet: asked once; after PAYOUT_UNCLAIMED_DAYS the amount goes to the unclaimed charity", async () => {
    await rig.fund(100_000n);
    const charity = { id: "coin-center", name: "Coin Center", address: randomAddress("p2wpkh") };
    const { issueNumber } = await seedAward(t.db, {
      recipients: [{ id: 801, login: "carol", amounts: [{ currency: "BTC", minor: 15_000n }] }],
      unclaimedCharity: charity,
    });
    const r1 = await rig.run();
    expect(r1).toMatchObject({ credited: 1, queued: 0 });
    await rig.run();
    const asks = (await outbox(t.db)).filter((c) => c.dedupe_key.startsWith("ask-wallet:"));
    expect(asks).toHaveLength(1);
    expect(asks[0]!.issue_number).toBe(issueNumber);
    expect(asks[0]!.body).toContain("@carol, 15,000 sats from this bounty are waiting for you");
    expect(asks[0]!.body).toContain("within 30 days, the amount goes to **Coin Center**");

    const r2 = await rig.run({ now: () => new Date(Date.now() + 29 * 86_400_000) });
    expect(r2.queued).toBe(0);
    const r3 = await rig.run({ now: () => new Date(Date.now() + 31 * 86_400_000) });
    expect(r3.queued).toBe(1);
    expect(outputsOf(rig, r3.signed[0]!).get(charity.address)).toBe(15_000n);
    const [p] = await listPayouts(t.db);
    expect(p).toMatchObject({ kind: "charity", charityId: "coin-center", userId: 801 });
    expect((await outbox(t.db)).find((c) => c.dedupe_key.endsWith(":issue"))!.body).toContain("**Coin Center** (on behalf of @carol)");
  });

  test("a wallet linked before the unclaimed period ends gets the money", async () => {
    await rig.fund(100_000n);
    await seedAward(t.db, {
      recipients: [{ id: 802, login: "dave", amounts: [{ currency: "BTC", minor: 15_000n }] }],
      unclaimedCharity: { id: "coin-center", name: "Coin Center", address: randomAddress("p2wpkh") },
    });
    await rig.run();
    const dave = randomAddress("p2tr");
    await linkWallet(t.db, 802, "dave", dave, "p2tr");
    const r = await rig.run();
    expect(outputsOf(rig, r.signed[0]!).get(dave)).toBe(15_000n);
  });

  test("price sources that disagree, or none answering: nothing is priced, the award waits", async () => {
    const a = await startPriceServer({ USD: 60_000 });
    const b = await startPriceServer({ USD: 66_000 });
    try {
      await rig.fund(100_000n);
      await linkWallet(t.db, 901, "erin", randomAddress("p2wpkh"));
      await seedAward(t.db, { recipients: [{ id: 901, login: "erin", amounts: [{ currency: "USD", minor: 1_000n }] }] });
      const prices = priceOracle(`mempool:${a.url},mempool:${b.url}`);
      const r1 = await rig.run({ prices });
      expect(r1).toMatchObject({ credited: 0, queued: 0, signed: [] });
      expect(r1.priceWaits.join()).toMatch(/differ by 9\.5%, more than PRICE_MAX_SPREAD 2%/);

      a.down(true);
      b.down(true);
      const fresh = priceOracle(`mempool:${a.url},mempool:${b.url}`);
      const r2 = await rig.run({ prices: fresh });
      expect(r2.credited).toBe(0);
      expect(r2.priceWaits.join()).toMatch(/no fresh USD price/);

      a.down(false);
      b.down(false);
      b.set({ USD: 60_600 });
      const r3 = await rig.run({ prices: fresh });
      expect(r3.credited).toBe(1);
      const [award] = await t.db.query<{ sats: bigint; rates: { USD: { price: string; sources: string[] } } }>("SELECT sats, rates FROM awards");
      // The median of 60,000 and 60,600 is 60,300: $10 = 16,583.74… → 16,584 sats.
      expect(award!.rates.USD.price).toBe("60300");
      expect(award!.sats).toBe(16_584n);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("an empty wallet keeps payouts queued with the reason; once funded the next run pays", async () => {
    const fay = randomAddress("p2wpkh");
    await linkWallet(t.db, 902, "fay", fay);
    await seedAward(t.db, { recipients: [{ id: 902, login: "fay", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    const r1 = await rig.run();
    expect(r1).toMatchObject({ queued: 1, signed: [] });
    expect(r1.waiting).toMatch(/cannot fund this batch/);
    const [p] = await listPayouts(t.db);
    expect(p).toMatchObject({ state: "queued" });
    expect(p!.waitReason).toBe(r1.waiting);

    await rig.fund(50_000n);
    const r2 = await rig.run();
    expect(outputsOf(rig, r2.signed[0]!).get(fay)).toBe(12_000n);
    expect((await listPayouts(t.db))[0]!.waitReason).toBeNull();
  });

  test("the chain backend down: nothing is lost, payouts stay queued with the reason, the next run pays", async () => {
    const { startLocalChain } = await import("../../dev/localchain/server.js");
    const chain = await startLocalChain({ network: "regtest" });
    const { port } = new URL(chain.url);
    const flaky = await startPayoutRig(t.db, { chain, backend });
    await flaky.fund(100_000n);
    const ned = randomAddress("p2wpkh");
    await linkWallet(t.db, 910, "ned", ned);
    await seedAward(t.db, { recipients: [{ id: 910, login: "ned", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    await chain.close(); // the Esplora server is gone
    const r1 = await flaky.run();
    expect(r1).toMatchObject({ credited: 1, queued: 1, signed: [] });
    expect(r1.waiting).toMatch(/ECONNREFUSED|unreachable|could not reach|fetch failed/i);
    expect((await listPayouts(t.db))[0]).toMatchObject({ state: "queued", waitReason: r1.waiting });

    // The server comes back with the same chain: the next run pays, once.
    const back = await startLocalChain({ chain: chain.chain, rpc: chain.rpc, rpcAuth: chain.rpcAuth, port: Number(port) });
    try {
      const r2 = await flaky.run();
      expect(r2.signed).toHaveLength(1);
      expect(r2.broadcast).toEqual(r2.signed);
      const got = chain.chain.utxosOf((parseAddress(ned, "regtest") as { script: Uint8Array }).script);
      expect(got.map((u) => u.value)).toEqual([12_000n]);
    } finally {
      await back.close();
    }
  });

  test("PAYOUT_MODE=approve: due payouts wait until approved", async () => {
    await rig.fund(100_000n);
    const gus = randomAddress("p2wpkh");
    await linkWallet(t.db, 903, "gus", gus);
    await seedAward(t.db, { recipients: [{ id: 903, login: "gus", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    const approve = { settings: { ...NO_LINKS, mode: "approve" as const } };
    expect(await rig.run(approve)).toMatchObject({ queued: 1, signed: [] });
    expect(await rig.run(approve)).toMatchObject({ queued: 0, signed: [] });
    const [p] = await listPayouts(t.db);
    expect(p!.state).toBe("awaiting_approval");
    expect(await approvePayouts(t.db, [p!.id], "operator")).toEqual([p!.id]);
    expect(await approvePayouts(t.db, [p!.id], "operator")).toEqual([]);
    const r = await rig.run(approve);
    expect(outputsOf(rig, r.signed[0]!).get(gus)).toBe(12_000n);
  });

  test("a recipient who changes wallet before the payout is signed is paid at the new address", async () => {
    await rig.fund(100_000n);
    const [old, fresh] = [randomAddress("p2wpkh"), randomAddress("p2tr")];
    await linkWallet(t.db, 911, "oli", old);
    const { bountyId } = await seedAward(t.db, { recipients: [{ id: 911, login: "oli", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    const approve = { settings: { ...NO_LINKS, mode: "approve" as const } };
    expect(await rig.run(approve)).toMatchObject({ queued: 1 });
    expect((await listPayouts(t.db))[0]).toMatchObject({ address: old, state: "awaiting_approval" });

    await linkWallet(t.db, 911, "oli", fresh, "p2tr");
    expect(await rig.run(approve)).toMatchObject({ queued: 1 });
    const payouts = await listPayouts(t.db);
    expect(payouts.map((p) => [p.address, p.state])).toEqual([[fresh, "awaiting_approval"]]);
    expect((await bountyEvents(t.db, bountyId)).map((e) => e.kind)).toContain("payout_dissolved");

    // Removed altogether: nothing is paid, and nothing is lost (the award is back on the balance).
    await t.db.query("DELETE FROM wallets WHERE user_id = 911");
    expect(await rig.run(approve)).toMatchObject({ queued: 0 });
    expect(await listPayouts(t.db)).toEqual([]);
    const [award] = await t.db.query<{ state: string; payout_id: bigint | null }>("SELECT state, payout_id FROM awards WHERE bounty_id = $1", [bountyId]);
    expect(award).toEqual({ state: "credited", payout_id: null });

    await linkWallet(t.db, 911, "oli", fresh, "p2tr");
    await rig.run();
    const r = await rig.run();
    expect(r.signed).toHaveLength(0);
    expect(receivedBy(rig, fresh).sats).toBe(12_000n);
    expect(receivedBy(rig, old).sats).toBe(0n);
  });

  test("interrupted after storing the signed transaction: the next run broadcasts that same transaction", async () => {
    await rig.fund(100_000n);
    const hal = randomAddress("p2wpkh");
    await linkWallet(t.db, 904, "hal", hal);
    await seedAward(t.db, { recipients: [{ id: 904, login: "hal", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    await expect(
      rig.run({
        checkpoint: (step) => {
          if (step === "stored") throw new Error("power cut");
        },
      }),
    ).rejects.toThrow("power cut");
    const [stored] = await listPayoutTxs(t.db);
    expect(stored!.state).toBe("signed");
    expect(rig.chain.chain.tx(stored!.txid)).toBeUndefined();

    const r = await rig.run();
    expect(r.signed).toEqual([]);
    expect(r.broadcast).toEqual([stored!.txid]);
    expect(receivedBy(rig, hal)).toEqual({ sats: 12_000n, txids: [stored!.txid] });
  });

  test("interrupted after broadcasting, before marking: the node already knows it, which counts as sent", async () => {
    await rig.fund(100_000n);
    const ivy = randomAddress("p2wpkh");
    await linkWallet(t.db, 905, "ivy", ivy);
    await seedAward(t.db, { recipients: [{ id: 905, login: "ivy", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    await expect(
      rig.run({
        checkpoint: (step) => {
          if (step === "broadcast") throw new Error("killed");
        },
      }),
    ).rejects.toThrow("killed");
    const [stored] = await listPayoutTxs(t.db);
    expect(stored!.state).toBe("signed");
    expect(rig.chain.chain.tx(stored!.txid)).toBeDefined();
    rig.chain.mine(1);
    const r = await rig.run();
    expect(r.broadcast).toEqual([stored!.txid]);
    expect(r.confirmed).toEqual([stored!.txid]);
    expect(receivedBy(rig, ivy)).toEqual({ sats: 12_000n, txids: [stored!.txid] });
    expect((await outbox(t.db)).filter((c) => c.dedupe_key.endsWith(":issue"))).toHaveLength(1);
  });

  test("payouts return to the queue only when a confirmed transaction conflicts with theirs", async () => {
    await rig.fund(100_000n);
    const jo = randomAddress("p2wpkh");
    await linkWallet(t.db, 906, "jo", jo);
    await seedAward(t.db, { recipients: [{ id: 906, login: "jo", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    const r1 = await rig.run();
    const first = r1.signed[0]!;
    // The node drops it (mempool expiry), and someone holding the keys spends the same coin elsewhere.
    await evict(rig, first);
    const unknown = await rig.run();
    expect(unknown.broadcast).toEqual([]);
    expect(rig.chain.chain.tx(first)).toBeDefined(); // rebroadcast unchanged, not replaced

    await evict(rig, first);
    const conflicting = await spendElsewhere(rig, (await listPayoutTxs(t.db))[0]!.inputs);
    const waiting = await rig.run();
    expect(waiting.replaced).toEqual([]); // in the mempool only: it may still be dropped
    expect((await listPayouts(t.db))[0]!.state).toBe("broadcast");

    rig.chain.mine(1);
    await rig.fund(60_000n);
    const r2 = await rig.run();
    expect(r2.replaced).toEqual([first]);
    const notices = (await outbox(t.db)).filter((c) => c.dedupe_key.startsWith("replaced:"));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.body).toContain(`The payout to @jo in transaction [\`${first}\`]`);
    expect(notices[0]!.body).toContain("queued again");
    expect(r2.signed).toHaveLength(1);
    expect(r2.signed[0]).not.toBe(first);
    expect(outputsOf(rig, r2.signed[0]!).get(jo)).toBe(12_000n);
    expect(receivedBy(rig, jo).txids).toEqual(expect.arrayContaining([r2.signed[0]]));
    expect(conflicting).not.toBe(first);
  });

  test("a transaction that spent the change of a replaced one is void too: both payouts are paid again, once", async () => {
    await rig.fund(100_000n);
    const [lee, max] = [randomAddress("p2wpkh"), randomAddress("p2wpkh")];
    await linkWallet(t.db, 908, "lee", lee);
    await linkWallet(t.db, 909, "max", max);
    await seedAward(t.db, { recipients: [{ id: 908, login: "lee", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    const first = (await rig.run()).signed[0]!;
    await seedAward(t.db, { recipients: [{ id: 909, login: "max", amounts: [{ currency: "BTC", minor: 13_000n }] }] });
    const second = (await rig.run()).signed[0]!;
    const [tx1, tx2] = await listPayoutTxs(t.db);
    expect(tx2!.inputs.some((i) => i.startsWith(`${first}:`))).toBe(true); // built on the unconfirmed change

    await evict(rig, first); // drops its descendant too, as a node does
    await spendElsewhere(rig, tx1!.inputs);
    rig.chain.mine(1);
    await rig.fund(80_000n);
    const r = await rig.run();
    expect(r.replaced).toEqual([first, second]);
    expect(r.signed).toHaveLength(1);
    const outs = outputsOf(rig, r.signed[0]!);
    expect([outs.get(lee), outs.get(max)]).toEqual([12_000n, 13_000n]);
    expect(receivedBy(rig, lee).sats).toBe(12_000n);
    expect(receivedBy(rig, max).sats).toBe(13_000n);
  });

  describe("fee bumping (RBF)", () => {
    const HOUR = 3_600_000;
    const bumping = (hours: number) => ({
      settings: { ...NO_LINKS, bumpAfterMs: 2 * HOUR },
      now: () => new Date(Date.now() + hours * HOUR),
    });
    async function stuckPayout(login: string, id: number) {
      rig.chain.chain.feeEstimates = { "1": 2, "6": 2, "144": 1 };
      await rig.fund(100_000n);
      const address = randomAddress("p2wpkh");
      await linkWallet(t.db, id, login, address);
      await seedAward(t.db, { recipients: [{ id, login, amounts: [{ currency: "BTC", minor: 12_000n }] }] });
      const first = (await rig.run()).broadcast[0]!;
      rig.chain.chain.feeEstimates = { "1": 30, "6": 20, "144": 5 };
      return { address, first };
    }

    test("a transaction stuck below today's fee estimate is replaced by one paying more; the recipient is paid once", async () => {
      const { address, first } = await stuckPayout("pat", 920);
      expect(await rig.run(bumping(1))).toMatchObject({ bumped: [] }); // not waited long enough
      const r = await rig.run(bumping(3));
      expect(r.bumped).toHaveLength(1);
      const bump = r.bumped[0]!;
      expect(r.broadcast).toEqual([bump]);
      expect(rig.chain.chain.tx(first)).toBeUndefined(); // evicted by the replacement
      expect(outputsOf(rig, bump).get(address)).toBe(12_000n);
      const [old, fresh] = await listPayoutTxs(t.db);
      expect(fresh!.feeSats).toBeGreaterThan(old!.feeSats);
      expect(fresh!.replacesTxId).toBe(old!.id);
      expect((await listPayouts(t.db))[0]).toMatchObject({ state: "broadcast", txid: bump });
      const notices = (await outbox(t.db)).filter((c) => c.dedupe_key.startsWith("bumped:"));
      expect(notices).toHaveLength(1);
      expect(notices[0]!.body).toContain(`follow \`${bump}\` now (it replaces \`${first}\`)`);

      expect((await rig.run(bumping(4))).bumped).toEqual([]); // the new one has not waited yet
      rig.chain.mine(1);
      const done = await rig.run(bumping(5));
      expect(done.confirmed).toEqual([bump]);
      expect(done.replaced).toEqual([first]);
      expect((await listPayouts(t.db)).map((p) => [p.state, p.txid])).toEqual([["confirmed", bump]]);
      expect(receivedBy(rig, address)).toEqual({ sats: 12_000n, txids: [bump] });
      expect((await outbox(t.db)).filter((c) => c.dedupe_key.startsWith("replaced:"))).toEqual([]);
    });

    test("if the original confirms instead of its bump, the payouts follow the original; nothing is paid twice", async () => {
      const { address, first } = await stuckPayout("quinn", 921);
      await expect(
        rig.run({
          ...bumping(3),
          checkpoint: (step) => {
            if (step === "stored") throw new Error("crash before the bump is sent");
          },
        }),
      ).rejects.toThrow("crash");
      rig.chain.mine(1); // the original is mined first
      const r = await rig.run(bumping(4));
      expect(r.confirmed).toEqual([first]);
      expect(r.replaced).toHaveLength(1); // the bump, never sent, can never confirm
      const payouts = await listPayouts(t.db);
      expect(payouts.map((p) => [p.state, p.txid])).toEqual([["confirmed", first]]);
      expect(receivedBy(rig, address)).toEqual({ sats: 12_000n, txids: [first] });
      expect(await rig.run(bumping(5))).toMatchObject({ queued: 0, signed: [], bumped: [] });
    });

    test("PAYOUT_BUMP_AFTER=off never bumps", async () => {
      await stuckPayout("ray", 922);
      expect((await rig.run({ now: () => new Date(Date.now() + 100 * HOUR) })).bumped).toEqual([]);
    });
  });

  test("two runs at once: one runs, the other does nothing", async () => {
    await rig.fund(100_000n);
    await linkWallet(t.db, 907, "kim", randomAddress("p2wpkh"));
    await seedAward(t.db, { recipients: [{ id: 907, login: "kim", amounts: [{ currency: "BTC", minor: 12_000n }] }] });
    const [a, b] = await Promise.all([rig.run(), rig.run()]);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
    expect([...a.signed, ...b.signed]).toHaveLength(1);
  });
});


function id2type(address: string): string {
  return address.startsWith("bcrt1p") ? "p2tr" : "p2wpkh";
}

/**
 * The same wallet restored elsewhere (same mnemonic, no shared state) spends one of `inputs`,
 * to someone else: a transaction conflicting with it.
 */
async function spendElsewhere(rig: PayoutRig, inputs: string[]): Promise<string> {
  // On the rig's backend (on Core, a watch-only wallet of its own there).
  const auth = { user: rig.chain.rpcAuth.user, password: new Secret(rig.chain.rpcAuth.password) };
  const core = rig.backend === "core" ? { core: { url: rig.chain.url, wallet: `elsewhere-${rig.mnemonic.split(" ")[1]}`, auth } } : {};
  const { wallet: other } = await openWalletOn(
    testConfig({ esploraUrl: rig.chain.url, mnemonicText: rig.mnemonic, ...core }),
    { state: new MemoryWalletState(), spendLog: new MemorySpendLog(), logger: silent },
    { retries: 1, backoffMs: 5 },
  );
  const { plan, outcomes } = await other.payBatch([{ id: "elsewhere", address: randomAddress("p2wpkh"), sats: 30_000n }]);
  expect(outcomes[0]!.status).toBe("sent");
  const mine = new Set(inputs);
  const theirs = plan.transactions[0]!.inputs.map((i) => `${i.txid}:${i.vout}`);
  expect(theirs.some((i) => mine.has(i))).toBe(true);
  return plan.transactions[0]!.txid;
}

/** Several app processes on one PostgreSQL: each has its own connection pool and wallet object. */
// Defined only where a PostgreSQL server is given (CI always gives one); PGlite is one process by design.
if (process.env.DATABASE_URL) describe.each(CHAIN_BACKENDS)("two payout workers on one PostgreSQL (%s)", (backend) => {
  test("racing runs never put a payout in two transactions; every award is paid exactly once", async () => {
    const server = await createServerDatabase();
    const dbs = [await openDatabase({ databaseUrl: server.url }), await openDatabase({ databaseUrl: server.url })];
    const rigA = await startPayoutRig(dbs[0]!, { backend });
    const rigB = await startPayoutRig(dbs[1]!, { chain: rigA.chain, mnemonic: rigA.mnemonic, backend });
    try {
      await rigA.fund(400_000n, 400_000n, 400_000n);
      const people = Array.from({ length: 12 }, (_, i) => ({ id: 5000 + i, login: `racer${i}`, address: randomAddress(i % 3 === 0 ? "p2tr" : "p2wpkh") }));
      for (const p of people) await linkWallet(dbs[0]!, p.id, p.login, p.address, p.address.startsWith("bcrt1p") ? "p2tr" : "p2wpkh");
      let round = 0;
      for (const p of people) {
        await seedAward(dbs[round % 2]!, { recipients: [{ id: p.id, login: p.login, amounts: [{ currency: "BTC", minor: 10_000n + BigInt(p.id - 5000) }] }] });
        const [a, b] = await Promise.all([rigA.run(), rigB.run()]);
        expect(a.ran || b.ran).toBe(true);
        if (++round % 4 === 0) rigA.chain.mine(1);
      }
      rigA.chain.mine(1);
      while ((await Promise.all([rigA.run(), rigB.run()])).some((r) => r.ran && (r.signed.length || r.broadcast.length))) rigA.chain.mine(1);
      await rigA.run();

      for (const p of people) {
        const parsed = parseAddress(p.address, "regtest");
        if (!parsed.ok) throw new Error(parsed.reason);
        expect(rigA.chain.chain.utxosOf(parsed.script).map((u) => u.value)).toEqual([10_000n + BigInt(p.id - 5000)]);
      }
      const payouts = await listPayouts(dbs[0]!);
      expect(payouts).toHaveLength(12);
      expect(new Set(payouts.map((p) => p.state))).toEqual(new Set(["confirmed"]));
    } finally {
      await rigB.close();
      await rigA.close();
      for (const db of dbs) await db.close();
      await server.drop();
    }
  });
});
