import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { startLocalChain, type LocalChainServer } from "../../dev/localchain/server.js";
import { runCli } from "../../src/cli/index.js";
import { sinceOption, TRANSFER_COLUMNS } from "../../src/cli/ledger.js";
import { earningsOf, fundsOf, TREASURY, WALLET } from "../../src/ledger/rules.js";
import type { Db } from "../../src/store/db.js";
import { mustTransfer, postPending } from "../../src/store/ledger.js";
import { randomAddress } from "../bitcoin/helpers.js";
import { createTestDb, ENGINES, type TestDb } from "../support/databases.js";
import { linkWallet, silent } from "../support/payouts.js";

async function cli(argv: string[], env: Record<string, string | undefined>, db?: Db): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { env, db, log: silent, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** RFC 4180, enough to read the export back. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") record.push(field), (field = "");
    else if (c === "\n") record.push(field), records.push(record), (record = []), (field = "");
    else field += c;
  }
  return records;
}

const squeeze = (text: string) => text.trim().split("\n").map((l) => l.replace(/ +/g, " "));

test("--since takes an ISO time or a duration back from now", () => {
  const now = new Date("2026-03-10T12:00:00Z");
  expect(sinceOption("7d", now)).toEqual(new Date("2026-03-03T12:00:00Z"));
  expect(sinceOption("1h30m", now)).toEqual(new Date("2026-03-10T10:30:00Z"));
  expect(sinceOption("2026-01-31", now)).toEqual(new Date("2026-01-31T00:00:00Z"));
  expect(sinceOption("2026-01-31T08:00:00+02:00", now)).toEqual(new Date("2026-01-31T06:00:00Z"));
  expect(sinceOption(undefined, now)).toBeUndefined();
  expect(() => sinceOption("yesterday", now)).toThrow(/--since must be an ISO time/);
});

describe.each(ENGINES)("bounty-bot ledger on %s", (engine) => {
  let t: TestDb;
  let chain: LocalChainServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    chain = await startLocalChain({ network: "regtest" });
  });
  afterAll(async () => {
    await chain.close();
  });
  beforeEach(async () => {
    t = await createTestDb(engine);
    env = { BITCOIN_NETWORK: "regtest", WALLET_MNEMONIC: generateMnemonic(wordlist), ESPLORA_URL: chain.url };
    // alice deposited 60,000 sats; bob was awarded 10,000, of which 4,000 are in a payout being formed, and 3,000 more already sent.
    await linkWallet(t.db, 501, "alice", randomAddress("p2wpkh"));
    await linkWallet(t.db, 502, "bob", randomAddress("p2wpkh"));
    await t.db.transaction(async (tx) => {
      await mustTransfer(tx, { key: "deposit:aa:0:1", debit: WALLET, credit: fundsOf(501), sats: 60_000n, kind: "deposit", ref: { txid: "aa", note: 'a "quoted", text' } });
      await mustTransfer(tx, { key: "award:1", debit: TREASURY, credit: earningsOf(502), sats: 10_000n, kind: "award", ref: { award: "1" } });
      await mustTransfer(tx, { key: "payout:1", debit: earningsOf(502), credit: WALLET, sats: 4_000n, kind: "payout", pending: { timeoutAt: null } });
      await mustTransfer(tx, { key: "payout:2", debit: earningsOf(502), credit: WALLET, sats: 3_000n, kind: "payout", pending: { timeoutAt: null } });
      await postPending(tx, "payout:2", { key: "payout:2:post" });
    });
  });
  afterEach(async () => {
    await t.close();
  });

  test("ledger balances: every account, the wallet, treasury and fees included, and the total; --login one person's", async () => {
    const all = await cli(["ledger", "balances"], {}, t.db);
    expect(all.code).toBe(0);
    expect(squeeze(all.out)).toEqual([
      "ACCOUNT KIND WHOSE POSTED PENDING IN PENDING OUT AVAILABLE",
      "earnings:502 earnings @bob 7000 0 4000 3000",
      "fees fees 0 0 0 0",
      "funds:501 funds @alice 60000 0 0 60000",
      "treasury treasury -10000 0 0 -10000",
      "wallet wallet -57000 4000 0 -57000",
      "total 0 4000 4000",
    ]);
    const bob = await cli(["ledger", "balances", "--login", "@BOB"], {}, t.db);
    expect(squeeze(bob.out)).toEqual(["ACCOUNT KIND WHOSE POSTED PENDING IN PENDING OUT AVAILABLE", "earnings:502 earnings @bob 7000 0 4000 3000"]);
    await linkWallet(t.db, 503, "cy", randomAddress("p2wpkh"));
    expect(await cli(["ledger", "balances", "--login", "cy"], {}, t.db)).toMatchObject({ code: 0, out: "@cy has no ledger accounts yet.\n" });
    expect(await cli(["ledger", "balances", "--login", "nobody"], {}, t.db)).toMatchObject({
      code: 1,
      out: "",
      err: "no one called @nobody is known here (no linked wallet, no award)\n",
    });
  });

  test("ledger check: people's deposits must be on chain; a corrupted balance fails it with a readable report", async () => {
    const empty = await cli(["ledger", "check"], env, t.db);
    expect(empty.code).toBe(1);
    expect(empty.out).toBe(
      "Ledger check FAILED (1 problem); payout runs sign nothing until it passes:\n" +
        "  - the wallet holds 0 sats on chain (0 confirmed, 0 unconfirmed) but owes people 60000 sats (funds 60000, escrow from funds 0): 60000 sats short\n" +
        "Figures: 5 accounts, 5 transfers; owed to people 60000 sats (funds 60000, escrow 0); wallet holds 0 sats; the treasury may spend 0.\n",
    );

    const address = (await cli(["wallet", "address"], env, t.db)).out.trim();
    chain.fund(address, 70_000n);
    chain.mine(1);
    chain.fund(address, 5_000n);
    const ok = await cli(["ledger", "check"], env, t.db);
    expect(ok).toMatchObject({ code: 0, err: "" });
    expect(ok.out).toBe(
      "Ledger check passed: 5 accounts, 5 transfers; owed to people 60000 sats (funds 60000, escrow 0); wallet holds 75000 sats; the treasury may spend 15000.\n",
    );

    await t.db.query("UPDATE ledger_accounts SET debits_posted = debits_posted + 5 WHERE key = 'funds:501'");
    const bad = await cli(["ledger", "check"], env, t.db);
    expect(bad.code).toBe(1);
    expect(bad.out.split("\n").slice(0, 4)).toEqual([
      "Ledger check FAILED (2 problems); payout runs sign nothing until it passes:",
      "  - the ledger does not sum to zero: posted debits are 73005 and posted credits 73000 over all accounts (5 apart)",
      "  - account funds:501: debits_posted is 5 on its row, 0 by its transfers",
      "Figures: 5 accounts, 5 transfers; owed to people 59995 sats (funds 59995, escrow 0); wallet holds 75000 sats; the treasury may spend 15005.",
    ]);
  });

  test("ledger check without a wallet: the ledger is checked, the on-chain part is said not to be", async () => {
    const r = await cli(["ledger", "check"], {}, t.db);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe(
      "Ledger check passed: 5 accounts, 5 transfers; owed to people 60000 sats (funds 60000, escrow 0); on-chain holdings not checked.\n" +
        "The on-chain part was not checked: no payout wallet is configured (WALLET_MNEMONIC or WALLET_MNEMONIC_FILE).\n",
    );
    await t.db.query("UPDATE ledger_accounts SET credits_pending = credits_pending + 1 WHERE key = 'wallet'");
    const bad = await cli(["ledger", "check"], {}, t.db);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("  - account wallet: credits_pending is 4001 on its row, 4000 by its transfers\n");
    expect(bad.out).toContain("The on-chain part was not checked");
  });

  test("ledger transfers: oldest first, by account, since a time", async () => {
    const all = await cli(["ledger", "transfers"], {}, t.db);
    expect(all.code).toBe(0);
    const lines = squeeze(all.out);
    expect(lines[0]).toBe("ID AT KEY KIND PHASE DEBIT CREDIT SATS");
    expect(lines.slice(1).map((l) => l.split(" ").filter((_, i) => i !== 1).join(" "))).toEqual([
      "1 deposit:aa:0:1 deposit single wallet funds:501 60000",
      "2 award:1 award single treasury earnings:502 10000",
      "3 payout:1 payout pending earnings:502 wallet 4000",
      "4 payout:2 payout pending earnings:502 wallet 3000",
      "5 payout:2:post payout post earnings:502 wallet 3000",
    ]);
    const funds = await cli(["ledger", "transfers", "--account", "funds:501", "--since", "1h"], {}, t.db);
    expect(squeeze(funds.out).slice(1).map((l) => l.split(" ")[2])).toEqual(["deposit:aa:0:1"]);
    expect((await cli(["ledger", "transfers", "--since", "2999-01-01"], {}, t.db)).out).toBe("No transfers.\n");
    expect((await cli(["ledger", "transfers", "--account", "funds:999"], {}, t.db)).out).toBe("No transfers.\n");
  });

  test("ledger export --csv: the transfers, refs as JSON, quoted where needed", async () => {
    const r = await cli(["ledger", "export", "--csv"], {}, t.db);
    expect(r.code).toBe(0);
    const [header, ...rows] = parseCsv(r.out);
    expect(header).toEqual([...TRANSFER_COLUMNS]);
    expect(rows).toHaveLength(5);
    expect(rows[0]!.filter((_, i) => i !== 1)).toEqual(["1", "deposit:aa:0:1", "deposit", "single", "wallet", "funds:501", "60000", "", '{"note":"a \\"quoted\\", text","txid":"aa"}']);
    expect(new Date(rows[0]![1]!).toISOString()).toBe(rows[0]![1]);
    expect(rows[4]!.filter((_, i) => i !== 1)).toEqual(["5", "payout:2:post", "payout", "post", "earnings:502", "wallet", "3000", "4", "{}"]);
    expect(JSON.parse(rows[0]![9]!)).toEqual({ txid: "aa", note: 'a "quoted", text' });
  });
});
