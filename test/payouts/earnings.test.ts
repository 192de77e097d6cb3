import { availableBalance, earningsOf, escrowOf, TREASURY } from "../../src/ledger/rules.js";
import { openEscrow } from "../../src/store/escrow.js";
import { checkLedgerTotals } from "../../src/store/ledgerCheck.js";
import { accountBalance, transferNow } from "../../src/store/ledger.js";
import { listPayouts } from "../../src/store/payouts.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { ENGINES } from "../support/databases.js";
import { bob, bountyFlows } from "../support/flows.js";
import { usePaidTestBot } from "../support/paid.js";
import { enginesAndBackends, outputsOf, receivedBy } from "../support/payouts.js";

/**
 * The payout run pays what the ledger says a person is owed, not only awards: tips, answers,
 * survey responses and API rewards credit earnings without an award row, and are paid with them.
 * A person who spent award sats (an escrow drew on their earnings) is paid what is left, and the
 * run goes on for everyone else. Each credit below stands in for one of those features' transfers.
 */
const HOLD_0 = "payout:\n  hold: 0s\n";
let n = 0;

describe.each(enginesAndBackends(ENGINES))("payouts from the ledger's earnings (%s, %s)", (engine, backend) => {
  const h = usePaidTestBot(engine, { PAYOUT_MIN_SATS: "1000", PAYOUT_MODE: "auto" }, backend);
  const flows = bountyFlows({ bot: () => h.bot, db: () => h.db });
  const run = async () => {
    const r = await h.bot.payouts!.runNow();
    await h.bot.settled();
    return r;
  };
  const credit = (userId: number, sats: bigint) =>
    transferNow(h.db, { key: `reward:test:${++n}`, debit: TREASURY, credit: earningsOf(userId), sats, kind: "correction", ref: { test: "earnings" } });
  const available = async (userId: number) => availableBalance(await accountBalance(h.db, earningsOf(userId)));

  test("earnings credited without an award are paid in the next run, once", async () => {
    await h.rig.fund(200_000n);
    const address = randomAddress("p2wpkh");
    await flows.linkWallet(bob, address, HOLD_0);
    expect((await credit(bob.id, 12_000n)).ok).toBe(true);
    expect((await credit(bob.id, 3_000n)).ok).toBe(true);
    const r = await run();
    expect(r.queued).toBe(1);
    expect(outputsOf(h.rig, r.broadcast[0]!).get(address)).toBe(15_000n);
    expect(await available(bob.id)).toBe(0n);
    expect(await run()).toMatchObject({ queued: 0 });
    expect(receivedBy(h.rig, address).sats).toBe(15_000n);
    expect(await checkLedgerTotals(h.db)).toMatchObject({ ok: true });
  });

  test("an award and other earnings go out in one output", async () => {
    await h.rig.fund(200_000n);
    const address = randomAddress("p2wpkh");
    await flows.linkWallet(bob, address, HOLD_0);
    const { n: issue } = await flows.fundedIssue(["5usd"], HOLD_0);
    const pr = await flows.land(issue, bob, HOLD_0);
    await credit(bob.id, 2_000n);
    flows.recordComments(issue);
    flows.recordComments(pr);
    const r = await run();
    expect(r).toMatchObject({ credited: 1, queued: 1 });
    // $5 at 60,000 USD/BTC is 8,333 sats.
    expect(outputsOf(h.rig, r.broadcast[0]!).get(address)).toBe(8_333n + 2_000n);
    expect(await available(bob.id)).toBe(0n);
    expect(await checkLedgerTotals(h.db)).toMatchObject({ ok: true });
  });

  test("a person who escrowed part of their award sats is paid what is left; the run is not held up", async () => {
    await h.rig.fund(200_000n);
    const address = randomAddress("p2wpkh");
    await flows.linkWallet(bob, address, HOLD_0);
    const { n: issue } = await flows.fundedIssue(["5usd"], HOLD_0);
    const pr = await flows.land(issue, bob, HOLD_0);
    flows.recordComments(issue);
    flows.recordComments(pr);
    // The award is credited as a run would (priced at $5 = 8,333 sats), before bob spends part of it.
    await h.db.query("UPDATE awards SET state = 'credited', sats = 8333, priced_at = now() WHERE state = 'held'");
    await transferNow(h.db, { key: `award:manual:${++n}`, debit: TREASURY, credit: earningsOf(bob.id), sats: 8_333n, kind: "award" });
    // bob backs a question with 5,000 of those sats (funds first, then earnings: he has no funds).
    const esc = await h.db.transaction((tx) => openEscrow(tx, { escrow: escrowOf("question", 4242 + n), payer: { kind: "person", userId: bob.id }, slots: [5_000n], timeoutAt: null }));
    expect(esc.ok).toBe(true);
    const r = await run();
    expect(r.queued).toBe(1);
    expect(outputsOf(h.rig, r.broadcast[0]!).get(address)).toBe(3_333n);
    const [p] = await listPayouts(h.db);
    expect(p!.sats).toBe(3_333n);
    expect(await available(bob.id)).toBe(0n);
    expect(await checkLedgerTotals(h.db)).toMatchObject({ ok: true });
  });
});
