import * as bitcoin from "bitcoinjs-lib";
import { parseAddress } from "../../src/bitcoin/address.js";
import {
  committedOutflow,
  failureReason,
  payoutProblems,
  solvencyReport,
  type LiveTx,
  type PayoutFacts,
  type SolvencyInput,
} from "../../src/ledger/solvency.js";
import { treasuryFit } from "../../src/payouts/plan.js";
import { randomAddress } from "../bitcoin/helpers.js";

const LEDGER_OK = { ok: true, problems: [], accounts: 5, transfers: 9n };

const input = (over: Partial<SolvencyInput> = {}): SolvencyInput => ({
  ledger: LEDGER_OK,
  people: { funds: 60_000n, escrow: 10_000n },
  holdings: { confirmedSats: 90_000n, unconfirmedSats: 10_000n, committedSats: 0n },
  payoutProblems: [],
  ...over,
});

describe("solvencyReport: whether payouts may be signed, and what the treasury may spend", () => {
  test("covered: ok, the reserve is what people are owed, the treasury may spend the rest", () => {
    const r = solvencyReport(input());
    expect(r).toMatchObject({ ok: true, problems: [], owedToPeople: 70_000n, reserve: 70_000n, holdings: 100_000n, treasuryMaySpend: 30_000n });
    expect(r.summary).toBe("5 accounts, 9 transfers; owed to people 70000 sats (funds 60000, escrow 10000); wallet holds 100000 sats; the treasury may spend 30000");
  });

  test("people's money not covered on chain: fails, with the figures", () => {
    const r = solvencyReport(input({ holdings: { confirmedSats: 50_000n, unconfirmedSats: 5_000n, committedSats: 0n } }));
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      "the wallet holds 55000 sats on chain (50000 confirmed, 5000 unconfirmed) but owes people 70000 sats (funds 60000, escrow from funds 10000): 15000 sats short",
    ]);
    expect(r.treasuryMaySpend).toBe(0n);
  });

  test("coins already promised to a signed transaction do not cover anything else", () => {
    const r = solvencyReport(input({ holdings: { confirmedSats: 100_000n, unconfirmedSats: 0n, committedSats: 40_000n } }));
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toContain("holds 60000 sats on chain after 40000 sats of transactions already signed");
    expect(r.problems[0]).toContain("10000 sats short");
  });

  test("exactly covered is ok; the treasury may then spend nothing", () => {
    const r = solvencyReport(input({ holdings: { confirmedSats: 70_000n, unconfirmedSats: 0n, committedSats: 0n } }));
    expect(r).toMatchObject({ ok: true, treasuryMaySpend: 0n });
  });

  test("the ledger's own problems and payout mismatches fail it, in that order", () => {
    const r = solvencyReport(input({ ledger: { ...LEDGER_OK, ok: false, problems: ["the ledger does not sum to zero"] }, payoutProblems: ["payout 3 …"] }));
    expect(r).toMatchObject({ ok: false, problems: ["the ledger does not sum to zero", "payout 3 …"] });
    expect(failureReason(r)).toBe(
      "solvency check failed: the ledger does not sum to zero; payout 3 …; nothing is signed until it passes (bounty-bot ledger check)",
    );
  });

  test("holdings not asked (no wallet): coverage is not checked, and the treasury's share is unknown", () => {
    const r = solvencyReport(input({ holdings: null }));
    expect(r).toMatchObject({ ok: true, holdings: null, treasuryMaySpend: null });
    expect(r.summary).toContain("on-chain holdings not checked");
  });

  test("holdings that could not be read fail closed", () => {
    const r = solvencyReport(input({ holdings: null, holdingsError: "ECONNREFUSED" }));
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/holdings could not be read.*ECONNREFUSED/);
  });
});

describe("treasuryFit: the treasury never spends the reserve", () => {
  const solvency = { reserve: 70_000n, holdings: 100_000n, treasuryMaySpend: 30_000n };
  test.each([
    ["fits", 30_000n, 0n, true],
    ["one sat over", 30_001n, 0n, false],
    ["paid from people's own funds: only the rest is the treasury's", 50_000n, 20_000n, true],
  ])("%s", (_name, spentSats, fromFundsSats, ok) => {
    expect(treasuryFit({ spentSats, fromFundsSats }, solvency).ok).toBe(ok);
  });
  test("the reason says how much covers deposits", () => {
    expect(treasuryFit({ spentSats: 40_000n, fromFundsSats: 0n }, solvency)).toEqual({
      ok: false,
      code: "treasury",
      reason:
        "waiting for the treasury to be funded: 70000 sats of the wallet's 100000 cover people's deposits; this needs 40000 sats with its fee, the treasury may spend 30000",
    });
  });
  test("holdings unknown: the treasury may spend nothing", () => {
    expect(treasuryFit({ spentSats: 1n, fromFundsSats: 0n }, { reserve: 0n, holdings: null, treasuryMaySpend: null }).ok).toBe(false);
  });
});

describe("committedOutflow", () => {
  const tx = (state: LiveTx["state"], inputs: string[]) => ({ state, inputs, payoutSats: 1_000n, feeSats: 100n });
  test("counts stored transactions whose coins the wallet still holds, not those already on the network or confirmed", () => {
    const coins = new Set(["a:0", "b:1"]);
    expect(committedOutflow(coins, [tx("signed", ["a:0"]), tx("broadcast", ["c:0", "b:1"]), tx("broadcast", ["d:0"]), tx("confirmed", ["a:0"])])).toBe(2_200n);
    expect(committedOutflow(new Set(), [tx("signed", ["a:0"])])).toBe(0n);
  });
});

describe("payoutProblems: stored transactions against payouts and their transfers", () => {
  const alice = randomAddress("p2wpkh");
  const bob = randomAddress("p2wpkh");
  const change = randomAddress("p2wpkh");

  function signed(outs: Array<[string, bigint]>): string {
    const t = new bitcoin.Transaction();
    t.addInput(Buffer.alloc(32, 1), 0);
    for (const [address, sats] of outs) {
      const p = parseAddress(address, "regtest");
      if (!p.ok) throw new Error(p.reason);
      t.addOutput(p.script, sats);
    }
    return t.toHex();
  }

  const liveTx = (over: Partial<LiveTx> = {}): LiveTx => ({
    id: 1n,
    txid: "t1",
    hex: signed([[alice, 5_000n], [bob, 7_000n], [change, 50_000n]]),
    network: "regtest",
    state: "broadcast",
    inputs: ["x:0"],
    outputs: [
      { payoutId: "1", vout: 0, sats: 5_000n, address: alice },
      { payoutId: "2", vout: 1, sats: 7_000n, address: bob },
    ],
    payoutSats: 12_000n,
    feeSats: 300n,
    ...over,
  });
  const payout = (id: number, over: Partial<PayoutFacts> = {}): PayoutFacts => ({
    id: BigInt(id),
    state: "broadcast",
    sats: id === 1 ? 5_000n : 7_000n,
    address: id === 1 ? alice : bob,
    txId: 1n,
    vout: id - 1,
    transfersRequired: true,
    pending: { sats: id === 1 ? 5_000n : 7_000n, resolution: "post", postedSats: id === 1 ? 5_000n : 7_000n },
    ...over,
  });

  test("all consistent: no problem", () => {
    expect(payoutProblems([liveTx()], [payout(1), payout(2)])).toEqual([]);
  });

  test.each<[string, LiveTx[], PayoutFacts[], string[]]>([
    ["a payout row changed after signing", [liveTx()], [payout(1, { sats: 5_001n }), payout(2)], ["transaction t1 pays payout 1 5000 sats; the payout is for 5001", "payout 1 pays 5001 sats but payout:1 posted 5000"]],
    ["a payout's address changed", [liveTx()], [payout(1), payout(2, { address: alice })], [`transaction t1 pays payout 2 to ${bob}; the payout goes to ${alice}`]],
    [
      "the stored outputs are not what the transaction pays",
      [liveTx({ hex: signed([[alice, 5_000n], [alice, 7_000n]]) })],
      [payout(1), payout(2)],
      [`transaction t1 output 1 pays 7000 sats to ${alice}, but is listed as payout 2's 7000 sats to ${bob}`],
    ],
    ["payout_sats disagrees with the outputs", [liveTx({ payoutSats: 12_500n })], [payout(1), payout(2)], ["transaction t1 lists outputs of 12000 sats but says it pays 12500"]],
    ["a sent payout with no transaction", [], [payout(1, { txId: null, vout: null })], ["payout 1 is broadcast but no live transaction is stored for it"]],
    ["a queued payout in a live transaction", [liveTx()], [payout(1, { state: "queued", txId: null, pending: { sats: 5_000n, resolution: null, postedSats: null } }), payout(2)], ["transaction t1 (broadcast) pays payout 1, which is queued"]],
    ["a transaction paying an unknown payout", [liveTx()], [payout(1)], ["transaction t1 pays payout 2, which does not exist"]],
    ["a sent payout whose transfer is still pending", [liveTx()], [payout(1, { pending: { sats: 5_000n, resolution: null, postedSats: null } }), payout(2)], ["payout 1 is broadcast but its transfer payout:1 is still pending"]],
    ["a sent payout without its transfer, formed after the ledger", [liveTx()], [payout(1, { pending: null }), payout(2)], ["payout 1 (broadcast, 5000 sats) has no ledger transfer payout:1"]],
    ["a queued payout whose pending reserves other sats", [], [payout(1, { state: "queued", txId: null, vout: null, pending: { sats: 4_000n, resolution: null, postedSats: null } })], ["payout 1 is for 5000 sats but payout:1 reserves 4000"]],
    ["a queued payout whose pending was voided", [], [payout(1, { state: "queued", txId: null, vout: null, pending: { sats: 5_000n, resolution: "void", postedSats: null } })], ["payout 1 is queued but its transfer payout:1 was already voided"]],
  ])("%s", (_name, txs, payouts, expected) => {
    expect(payoutProblems(txs, payouts)).toEqual(expected);
  });

  test("transfers are checked only where they exist for payouts formed before the ledger recorded them", () => {
    expect(payoutProblems([liveTx()], [payout(1, { pending: null, transfersRequired: false }), payout(2)])).toEqual([]);
    const queued = payout(1, { state: "queued", txId: null, vout: null, transfersRequired: false });
    expect(payoutProblems([], [queued])).toEqual(["payout 1 is queued but its transfer payout:1 was already posted"]);
  });

  test("a fee bump and its original both live: the payouts are bound to the bump, both list them", () => {
    const bump = liveTx({ id: 2n, txid: "t2", state: "signed" });
    expect(payoutProblems([liveTx(), bump], [payout(1, { txId: 2n }), payout(2, { txId: 2n })])).toEqual([]);
  });
});
