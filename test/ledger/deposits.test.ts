import { decideDeposits, type AddressOwner, type DepositInput, type KnownOutpoint, type SeenOutput } from "../../src/ledger/deposits.js";
import { fundsOf, TREASURY, WALLET } from "../../src/ledger/rules.js";

const TX = "a".repeat(64);
const TX2 = "b".repeat(64);
const DEP = "bcrt1qdeposit";
const RECV = "bcrt1qreceive";
const where = { installationId: 1, owner: "o", repo: "r", issueNumber: 9 };
const carol: AddressOwner = { kind: "deposit", addressId: 1n, userId: 42, login: "carol", where };

const out = (o: Partial<SeenOutput> = {}): SeenOutput => ({ txid: TX, vout: 0, address: DEP, sats: 10_000n, confirmations: 2, ...o });
const rec = (o: Partial<KnownOutpoint> = {}): KnownOutpoint => ({ txid: TX, vout: 0, address: DEP, sats: 10_000n, generation: 1, state: "credited", ...o });

function decide(p: Partial<DepositInput> = {}) {
  return decideDeposits({
    addresses: new Map<string, AddressOwner>([
      [DEP, carol],
      [RECV, { kind: "treasury" }],
    ]),
    scanned: new Set([DEP, RECV]),
    outputs: [],
    ownTxids: new Set(),
    recorded: [],
    confirmations: 2,
    ...p,
  });
}

const summary = (p: Partial<DepositInput>) => decide(p).map((d) => (d.action === "see" ? "see" : `${d.action} ${d.transfer.key}`));

describe("deposit decisions", () => {
  test.each<[string, Partial<DepositInput>, string[]]>([
    ["in the mempool: only seen", { outputs: [out({ confirmations: 0 })] }, ["see"]],
    ["one confirmation of two: seen", { outputs: [out({ confirmations: 1 })] }, ["see"]],
    ["already seen, still shallow: nothing", { outputs: [out({ confirmations: 1 })], recorded: [rec({ state: "seen", generation: 0 })] }, []],
    ["deep enough: credited as generation 1", { outputs: [out()], recorded: [rec({ state: "seen", generation: 0 })] }, [`credit deposit:${TX}:0:1`]],
    ["deep at first sight: credited", { outputs: [out({ confirmations: 6 })] }, [`credit deposit:${TX}:0:1`]],
    ["credited already: nothing (exactly once)", { outputs: [out({ confirmations: 9 })], recorded: [rec()] }, []],
    ["credited and gone from the chain: reversed", { recorded: [rec()] }, [`reverse deposit:${TX}:0:1:reversal`]],
    ["credited and back in the mempool: reversed", { outputs: [out({ confirmations: 0 })], recorded: [rec()] }, [`reverse deposit:${TX}:0:1:reversal`]],
    ["credited, shallower after a reorg but still confirmed: kept", { outputs: [out({ confirmations: 1 })], recorded: [rec()] }, []],
    ["reversed and confirmed again: credited as generation 2", { outputs: [out()], recorded: [rec({ state: "reversed" })] }, [`credit deposit:${TX}:0:2`]],
    ["reversed and still gone: nothing (reversed once)", { recorded: [rec({ state: "reversed" })] }, []],
    ["credited but its address was not read this time: never judged gone", { recorded: [rec()], scanned: new Set([RECV]) }, []],
    ["an address nobody owns: ignored", { outputs: [out({ address: "bcrt1qsomeoneelse" })] }, []],
    ["to a receive address: a treasury receipt", { outputs: [out({ address: RECV })] }, [`credit treasury_receipt:${TX}:0`]],
    ["a receive address paid by our own payout transaction: not a receipt", { outputs: [out({ address: RECV })], ownTxids: new Set([TX]) }, []],
    ["a treasury receipt gone: reversed", { recorded: [rec({ address: RECV })] }, [`reverse treasury_receipt:${TX}:0:reversal`]],
    ["a treasury receipt again after its reversal: its own key", { outputs: [out({ address: RECV })], recorded: [rec({ address: RECV, state: "reversed" })] }, [`credit treasury_receipt:${TX}:0:2`]],
  ])("%s", (_name, input, expected) => {
    expect(summary(input)).toEqual(expected);
  });

  test("with DEPOSIT_CONFIRMATIONS=1 one confirmation is enough", () => {
    expect(summary({ outputs: [out({ confirmations: 1 })], confirmations: 1 })).toEqual([`credit deposit:${TX}:0:1`]);
  });

  test("credits move wallet → funds with a comment; reversals take back what was credited, funds → wallet, the one kind that may overdraw", () => {
    const [credit] = decide({ outputs: [out({ vout: 3, sats: 777n })] });
    expect(credit).toMatchObject({
      action: "credit",
      from: { state: "seen", generation: 0 },
      to: { state: "credited", generation: 1 },
      transfer: { key: `deposit:${TX}:3:1`, debit: WALLET, credit: fundsOf(42), sats: 777n, kind: "deposit" },
      comment: { dedupeKey: `deposit:${TX}:3:1`, where, body: `@carol your deposit of 777 sats (\`${TX}:3\`) is in your funds.` },
    });
    // The chain may show another amount for the outpoint no more; the reversal is of the credit.
    const [reversal] = decide({ recorded: [rec({ vout: 3, sats: 777n, generation: 2 })], outputs: [out({ vout: 3, sats: 1n, confirmations: 0 })] });
    expect(reversal).toMatchObject({
      action: "reverse",
      from: { state: "credited", generation: 2 },
      to: { state: "reversed", generation: 2 },
      transfer: { key: `deposit:${TX}:3:2:reversal`, debit: fundsOf(42), credit: WALLET, sats: 777n, kind: "deposit_reversal" },
    });
    expect(reversal!.action === "reverse" && reversal!.comment?.body).toContain("no longer in the chain");
  });

  test("treasury receipts: wallet → treasury, no comment; reversed treasury → wallet as a correction", () => {
    const [credit] = decide({ outputs: [out({ address: RECV })] });
    expect(credit).toMatchObject({ transfer: { debit: WALLET, credit: TREASURY, kind: "treasury_receipt" }, comment: undefined });
    const [reversal] = decide({ recorded: [rec({ address: RECV })] });
    expect(reversal).toMatchObject({ transfer: { debit: TREASURY, credit: WALLET, kind: "correction" }, comment: undefined });
  });

  test("an output listed twice is decided once; other outputs of the same transaction are their own outpoints", () => {
    expect(summary({ outputs: [out(), out(), out({ vout: 1 }), out({ txid: TX2 })] })).toEqual([
      `credit deposit:${TX}:0:1`,
      `credit deposit:${TX}:1:1`,
      `credit deposit:${TX2}:0:1`,
    ]);
  });

  test("refuses a depth below one", () => {
    expect(() => decide({ confirmations: 0 })).toThrow(/DEPOSIT_CONFIRMATIONS/);
  });
});
