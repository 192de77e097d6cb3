import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { generateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { startLocalChain, type LocalChainServer } from "../dev/localchain/server.js";
import { CLI_COMMANDS, runCli } from "../src/cli/index.js";
import { AUDIT_COLUMNS } from "../src/cli/audit.js";
import { awardByCommand } from "../src/store/awards.js";
import { appendEvent, lockBounty, pledge, setIssueState, userFunder } from "../src/store/bounties.js";
import { listPayouts } from "../src/store/payouts.js";
import { completeDelivery, failDelivery, pendingDeliveries, storeDelivery } from "../src/store/inbox.js";
import type { Db } from "../src/store/db.js";
import { randomAddress } from "./bitcoin/helpers.js";
import { createTestDb, ENGINES, type TestDb } from "./support/databases.js";
import { linkWallet, resetPayoutState, seedAward, silent } from "./support/payouts.js";

const run = promisify(execFile);

/** Runs one command line in-process against `db`; returns its exit status and what it printed. */
async function cli(argv: string[], env: Record<string, string | undefined>, db?: Db): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, {
    env,
    db,
    log: silent,
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

/** A minimal RFC 4180 reader, to check the export round-trips. */
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
    else if (c !== "\r") field += c;
  }
  if (field !== "" || record.length) record.push(field), records.push(record);
  return records;
}

describe("bounty-bot CLI: help and arguments", () => {
  test.each([[[]], [["help"]], [["--help"]], [["-h"]]])("%j prints every command and exits 0", async (argv) => {
    const r = await cli(argv, {});
    expect(r.code).toBe(0);
    for (const c of CLI_COMMANDS) expect(r.out).toContain(c.usage);
    expect(r.out).toContain("Exit status");
    expect(r.err).toBe("");
  });

  test("help for one group shows only its commands", async () => {
    const r = await cli(["payouts", "--help"], {});
    expect(r.code).toBe(0);
    expect(r.out).toContain("payouts approve");
    expect(r.out).not.toContain("wallet balance");
  });

  // A DATA_DIR that does not exist: a refused command must not even create it.
  test.each([
    [["frobnicate"], /unknown command "frobnicate"/],
    [["payouts", "pay"], /unknown command "payouts pay"; try one of: payouts list, payouts run, payouts approve/],
    [["payouts", "list", "--state", "lost"], /--state must be one of awaiting_approval, queued, signed, broadcast, confirmed, not "lost"/],
    [["payouts", "list", "--bogus"], /payouts list: Unknown option '--bogus'/],
    [["payouts", "list", "extra"], /payouts list: .*positional/],
    [["payouts", "approve"], /say which payouts/],
    [["payouts", "approve", "3", "--all"], /ids or --all, not both/],
    [["payouts", "approve", "3", "x7", "-1"], /payout ids are whole numbers; not "x7"|Unknown option '-1'/],
    [["payouts", "approve", "0"], /payout ids are whole numbers; not "0"/],
    [["payouts", "approve", "3"], /say who approves: --by <name> \(or set \$USER\)/],
    [["awards", "lst"], /unknown command "awards lst"; try one of: awards list, awards approve/],
    [["awards", "list", "--state", "held"], /awards list: Unknown option '--state'/],
    [["awards", "list", "7"], /awards list: .*positional/],
    [["awards", "approve"], /say which award: one id/],
    [["awards", "approve", "3", "4"], /say which award: one id/],
    [["awards", "approve", "x7"], /award ids are whole numbers; not "x7"/],
    [["awards", "approve", "0"], /award ids are whole numbers; not "0"/],
    [["awards", "approve", "3"], /say who approves: --by <name> \(or set \$USER\)/],
    [["ledger", "export"], /ledger export: say the format: --csv \(the only one\); the audit log is `audit export --csv`/],
    [["audit", "export"], /audit export: say the format: --csv/],
    [["audit", "export", "--json"], /audit export: Unknown option '--json'/],
    [["ledger", "balances", "--login", "no such"], /--login must be a GitHub login, not "no such"/],
    [["ledger", "balances", "--login"], /ledger balances: Option '--login <value>' argument missing/],
    [["ledger", "check", "--fix"], /ledger check: Unknown option '--fix'/],
    [["ledger", "transfers", "--account", "bank"], /--account must be an account key .* not "bank"/],
    [["ledger", "transfers", "--since", "last week"], /--since must be an ISO time .* or a duration back from now/],
    [["ledger", "transfers", "--since", "2026-13-45"], /--since must be an ISO time/],
    [["ledger", "balance"], /unknown command "ledger balance"; try one of: ledger balances, ledger check, ledger transfers, ledger export/],
    [["deliveries", "retry"], /say which deliveries: their ids \(see deliveries list --failed\), or --all/],
    [["deliveries", "retry", "abc", "--all"], /delivery ids or --all, not both/],
    [["deliveries", "retry", "abc", "no;such"], /delivery ids are GitHub's X-GitHub-Delivery values; not "no;such"/],
    [["deliveries", "list", "--limit", "0"], /--limit must be a whole number/],
    [["deliveries", "list", "--state", "failed"], /deliveries list: Unknown option '--state'/],
    [["wallet", "address", "--csv"], /wallet address: Unknown option '--csv'/],
  ])("%j: exit 2 with a clear message, nothing opened", async (argv, message) => {
    const dir = join(tmpdir(), `bounty-cli-never-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const r = await cli(argv, { DATA_DIR: dir, USER: undefined, USERNAME: undefined });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/usage: bounty-bot|See: bounty-bot help/);
    expect(r.out).toBe("");
    expect(existsSync(dir)).toBe(false);
  });

  test("a bad environment is an error (exit 1), not a usage error", async () => {
    const r = await cli(["payouts", "list"], { DATABASE_URL: "mysql://nope" });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/DATABASE_URL must be a postgres/);
  });
});

describe.each(ENGINES)("bounty-bot CLI on %s", (engine) => {
  let t: TestDb;
  let chain: LocalChainServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await createTestDb(engine);
    chain = await startLocalChain({ network: "regtest" });
  });
  afterAll(async () => {
    await chain.close();
    await t.close();
  });
  beforeEach(async () => {
    await resetPayoutState(t.db);
    // A fresh wallet each test, on the local chain over HTTP, configured as the app would be.
    env = {
      BITCOIN_NETWORK: "regtest",
      WALLET_MNEMONIC: generateMnemonic(wordlist),
      ESPLORA_URL: chain.url,
      PRICE_SOURCES: "fixed:USD=60000;EUR=55000;GBP=48000",
      PAYOUT_HOLD: "0s",
      PAYOUT_MIN_SATS: "1000",
      USER: "operator-ann",
    };
  });

  test("wallet address hands out a new address each time; wallet balance shows confirmed and unconfirmed", async () => {
    const a = await cli(["wallet", "address"], env, t.db);
    const b = await cli(["wallet", "address"], env, t.db);
    expect(a.code).toBe(0);
    const first = a.out.trim();
    const second = b.out.trim();
    expect(first).toMatch(/^bcrt1q[a-z0-9]{38}$/);
    expect(second).toMatch(/^bcrt1q/);
    expect(second).not.toBe(first);

    expect((await cli(["wallet", "balance"], env, t.db)).out).toBe("confirmed:   0 sats (0.00000000 BTC)\nunconfirmed: 0 sats (0.00000000 BTC)\n");
    chain.fund(first, 150_000n);
    chain.mine(1);
    chain.fund(second, 2_500n);
    const bal = await cli(["wallet", "balance"], env, t.db);
    expect(bal.code).toBe(0);
    expect(bal.out).toBe("confirmed:   150000 sats (0.00150000 BTC)\nunconfirmed: 2500 sats (0.00002500 BTC)\n");
  });

  test("wallet commands without a wallet configured fail with exit 1 and say what to set", async () => {
    const r = await cli(["wallet", "balance"], { BITCOIN_NETWORK: "regtest" }, t.db);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no payout wallet: set WALLET_MNEMONIC/);
  });

  test("payouts run pays a due award; payouts list shows it; a block later it is confirmed", async () => {
    const contributor = randomAddress("p2wpkh");
    await linkWallet(t.db, 501, "contributor", contributor);
    await seedAward(t.db, { recipients: [{ id: 501, login: "contributor", amounts: [{ currency: "USD", minor: 500n }] }] });

    // Nothing to spend yet: the run reports why the payout waits, and still exits 0.
    const empty = await cli(["payouts", "run"], env, t.db);
    expect(empty.code).toBe(0);
    expect(empty.out).toMatch(/Awards priced and credited: +1/);
    expect(empty.out).toMatch(/New payouts: +1/);
    expect(empty.out).toMatch(/Queued payouts wait: +.+/);
    const waiting = await cli(["payouts", "list"], env, t.db);
    expect(waiting.out).toMatch(/^ID +STATE +PAYEE +ADDRESS +SATS +TXID +WAIT REASON$/m);
    // $5 at $60,000/BTC = 8333.33… → 8333 sats.
    expect(waiting.out).toMatch(new RegExp(`^1 +queued +contributor +${contributor} +8333 +- +\\S.*$`, "m"));

    const fund = await cli(["wallet", "address"], env, t.db);
    chain.fund(fund.out.trim(), 100_000n);
    chain.mine(1);
    const paid = await cli(["payouts", "run"], env, t.db);
    expect(paid.code).toBe(0);
    const txid = /Transactions broadcast: +([0-9a-f]{64})/.exec(paid.out)?.[1];
    expect(txid).toBeDefined();
    expect(chain.chain.tx(txid!)).toBeDefined();

    const listed = await cli(["payouts", "list", "--state", "broadcast"], env, t.db);
    expect(listed.out).toMatch(new RegExp(`^1 +broadcast +contributor +${contributor} +8333 +${txid}$`, "m"));
    expect((await cli(["payouts", "list", "--state", "queued"], env, t.db)).out).toBe("No payouts in state queued.\n");

    chain.mine(1);
    const confirmed = await cli(["payouts", "run"], env, t.db);
    expect(confirmed.out).toMatch(new RegExp(`Transactions confirmed: +${txid}`));
    expect((await listPayouts(t.db)).map((p) => p.state)).toEqual(["confirmed"]);
  });

  test("a payout run that cannot start exits non-zero with the reason", async () => {
    const r = await cli(["payouts", "run"], { ...env, PRICE_SOURCES: "gold:standard" }, t.db);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/PRICE_SOURCES/);
  });

  test("PAYOUT_MODE=approve: payouts wait for payouts approve, which records who approved", async () => {
    const approveEnv = { ...env, PAYOUT_MODE: "approve" };
    for (const [id, login] of [[601, "ada"], [602, "bob"], [603, "cy"]] as const) {
      await linkWallet(t.db, id, login, randomAddress("p2wpkh"));
      await seedAward(t.db, { recipients: [{ id, login, amounts: [{ currency: "BTC", minor: 20_000n }] }] });
    }
    const formed = await cli(["payouts", "run"], approveEnv, t.db);
    expect(formed.out).toMatch(/New payouts: +3 \(awaiting approval/);
    const listed = await cli(["payouts", "list", "--state", "awaiting_approval"], approveEnv, t.db);
    expect(listed.out.trim().split("\n")).toHaveLength(4);

    const one = await cli(["payouts", "approve", "2", "--by", "lead-lee"], approveEnv, t.db);
    expect(one).toMatchObject({ code: 0, err: "" });
    expect(one.out).toBe("Approved by lead-lee: 2. They are paid at the next payout run.\n");

    // Already approved, and unknown: reported, exit 1; the other id is still approved.
    const mixed = await cli(["payouts", "approve", "2", "3", "99"], approveEnv, t.db);
    expect(mixed.code).toBe(1);
    expect(mixed.out).toBe("Approved by operator-ann: 3. They are paid at the next payout run.\n");
    expect(mixed.err).toBe("payout 2: queued, not awaiting approval\npayout 99: no such payout\n");

    const all = await cli(["payouts", "approve", "--all"], approveEnv, t.db);
    expect(all.out).toBe("Approved by operator-ann: 1. They are paid at the next payout run.\n");
    expect((await cli(["payouts", "approve", "--all"], approveEnv, t.db)).out).toBe("No payouts were awaiting approval.\n");

    const approvals = await t.db.query<{ actor_login: string; data: { payout_id: string } }>(
      "SELECT actor_login, data FROM events WHERE kind = 'payout_approved' ORDER BY id",
    );
    expect(approvals.map((a) => [a.actor_login, a.data.payout_id])).toEqual([
      ["lead-lee", "2"],
      ["operator-ann", "3"],
      ["operator-ann", "1"],
    ]);
    expect((await listPayouts(t.db)).map((p) => p.state)).toEqual(["queued", "queued", "queued"]);
  });

  test("awards list [--held] shows who waits for approval and why; awards approve releases one, records who, refuses the rest", async () => {
    const issue = { installationId: 7, repoId: 500, owner: "kubernetes", repo: "website", number: 31, title: "Docs" };
    const carol = { id: 3, login: "carol" };
    const [bobs, carols] = await t.db.transaction(async (tx) => {
      const b = await lockBounty(tx, issue);
      await pledge(tx, b, userFunder({ id: 1, login: "alice" }), { currency: "USD", minor: 1000n }, { actor: { id: 1, login: "alice" }, deliveryId: "d1" });
      await pledge(tx, b, userFunder(carol), { currency: "USD", minor: 500n }, { actor: carol, deliveryId: "d2" });
      const r = await awardByCommand(
        tx,
        b,
        [{ id: 2, login: "bob", bps: 5000 }, { ...carol, bps: 5000 }],
        { holdMs: 0, unclaimed: null },
        "r",
        { actor: { id: 1, login: "alice" }, deliveryId: "d3" },
      );
      return r.ok ? r.awards : [];
    });
    const all = await cli(["awards", "list"], env, t.db);
    expect(all.code).toBe(0);
    expect(all.out.split("\n").map((l) => l.replace(/ +/g, " "))).toEqual([
      "ID ISSUE RECIPIENT SHARE AMOUNT STATE WHY HELD",
      `${bobs!.id} kubernetes/website#31 @bob (2) 50% $7.50 held the issue is open`,
      `${carols!.id} kubernetes/website#31 @carol (3) 50% $7.50 held needs approval: @carol pledged on this bounty; the issue is open`,
      "",
    ]);
    await t.db.transaction((tx) => setIssueState(tx, issue.repoId, issue.number, "completed"));
    const held = await cli(["awards", "list", "--held"], env, t.db);
    expect(held.out.trim().split("\n").map((l) => l.replace(/ +/g, " "))).toEqual([
      "ID ISSUE RECIPIENT SHARE AMOUNT STATE WHY HELD",
      `${carols!.id} kubernetes/website#31 @carol (3) 50% $7.50 held needs approval: @carol pledged on this bounty`,
    ]);

    const notHeld = await cli(["awards", "approve", String(bobs!.id)], env, t.db);
    expect(notHeld).toMatchObject({ code: 1, out: "", err: `award ${bobs!.id}: it is not held for approval (nothing to approve); nothing changed.\n` });
    const unknown = await cli(["awards", "approve", "99"], env, t.db);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("award 99: no such award");

    const ok = await cli(["awards", "approve", String(carols!.id), "--by", "lead-lee"], env, t.db);
    expect(ok).toMatchObject({ code: 0, err: "" });
    expect(ok.out).toContain(`Approved by lead-lee: award ${carols!.id} to @carol ($7.50).`);
    const again = await cli(["awards", "approve", String(carols!.id)], env, t.db);
    expect(again).toMatchObject({ code: 1, err: `award ${carols!.id}: it was already approved by lead-lee; nothing changed.\n` });
    expect((await cli(["awards", "list", "--held"], env, t.db)).out).toBe("No awards wait for approval.\n");
    expect((await cli(["awards", "list"], env, t.db)).out).toContain("held (approved by lead-lee)");

    const approvals = await t.db.query<{ actor_login: string; user_id: bigint; data: { award_id: string } }>(
      "SELECT actor_login, user_id, data FROM events WHERE kind = 'award_approved' ORDER BY id",
    );
    expect(approvals.map((a) => [a.actor_login, Number(a.user_id), a.data.award_id])).toEqual([["lead-lee", 3, String(carols!.id)]]);
  });

  test("audit export --csv writes the audit log with repository and issue, quoted where needed", async () => {
    const { bountyId, issueNumber } = await seedAward(t.db, {
      recipients: [{ id: 701, login: "dee", amounts: [{ currency: "USD", minor: 1_000n }] }],
    });
    await appendEvent(t.db, {
      bountyId,
      userId: 701,
      kind: "pledge",
      data: { note: 'says "hi", then\nleaves', amount: "10 USD" },
      cause: { actor: { id: 9, login: "maintainer" }, deliveryId: "d-1" },
    });
    await appendEvent(t.db, { kind: "wallet_linked", userId: 701, data: {}, cause: { actor: { id: 701, login: "dee" }, deliveryId: null } });

    const r = await cli(["audit", "export", "--csv"], env, t.db);
    expect(r.code).toBe(0);
    const records = parseCsv(r.out);
    expect(records[0]).toEqual([...AUDIT_COLUMNS]);
    expect(records).toHaveLength(3);
    const [pledge, wallet] = [records[1]!, records[2]!];
    expect(pledge.slice(0, 8)).toEqual(["1", pledge[1], "octocat/Hello-World", String(issueNumber), "pledge", "maintainer", "701", "d-1"]);
    expect(new Date(pledge[1]!).toISOString()).toBe(pledge[1]);
    expect(JSON.parse(pledge[8]!)).toEqual({ note: 'says "hi", then\nleaves', amount: "10 USD" });
    expect(wallet).toEqual(["2", wallet[1], "", "", "wallet_linked", "dee", "701", "", "{}"]);
    // The quoted field is really quoted in the text, not just parsed leniently.
    expect(r.out).toContain('"{""note"":""says \\""hi\\"", then\\nleaves"",""amount"":""10 USD""}"');
  });

  test("audit export pages through a long log in order", async () => {
    const values = Array.from({ length: 2_345 }, (_, i) => `(NULL, 'bulk', '{"n": ${i}}'::jsonb, 'system')`).join(",");
    await t.db.exec(`INSERT INTO events (bounty_id, kind, data, actor_login) VALUES ${values}`);
    const r = await cli(["audit", "export", "--csv"], env, t.db);
    const records = parseCsv(r.out).slice(1);
    expect(records).toHaveLength(2_345);
    expect(records.map((x) => JSON.parse(x[8]!).n)).toEqual(Array.from({ length: 2_345 }, (_, i) => i));
  });
});

describe.each(ENGINES)("bounty-bot deliveries on %s", (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => {
    await t.close();
  });

  test("deliveries list --failed shows the parked ones with their error; deliveries retry arms them again", async () => {
    const d = (id: string) => ({ id, event: "issue_comment", action: "created", payload: { id }, objectKey: `comment:${id}` });
    for (const id of ["d-done", "d-parked-1", "d-parked-2"]) await storeDelivery(t.db, d(id));
    await t.db.transaction((tx) => completeDelivery(tx, "d-done", "done"));
    await failDelivery(t.db, "d-parked-1", "GitHub answered 502\nBad Gateway", 1);
    await failDelivery(t.db, "d-parked-2", "config fetch timed out", 1);
    expect(await storeDelivery(t.db, { ...d("d-replay"), objectKey: "comment:d-done" })).toBe("duplicate");

    const failed = await cli(["deliveries", "list", "--failed"], {}, t.db);
    expect(failed.code).toBe(0);
    const lines = failed.out.trim().split("\n");
    expect(lines[0]).toMatch(/^ID +EVENT +STATE +ATTEMPTS +RECEIVED +LAST ERROR$/);
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(/^d-parked-1 +issue_comment\.created +parked +1 +\S+Z +GitHub answered 502 Bad Gateway$/),
      expect.stringMatching(/^d-parked-2 +issue_comment\.created +parked +1 +\S+Z +config fetch timed out$/),
    ]);
    const all = await cli(["deliveries", "list"], {}, t.db);
    expect(all.out).toMatch(/^d-done +issue_comment\.created +done +0 /m);
    expect(all.out).toMatch(/^d-replay +issue_comment\.created +duplicate of d-done +0 /m);

    // One named, one not parked, one unknown: the parked one is armed, the others reported, exit 1.
    const mixed = await cli(["deliveries", "retry", "d-parked-1", "d-done", "nope"], {}, t.db);
    expect(mixed.code).toBe(1);
    expect(mixed.out).toBe("Retrying: d-parked-1. The app processes them at its next sweep.\n");
    expect(mixed.err).toBe("delivery d-done: done, not parked\ndelivery nope: no such delivery\n");
    expect((await pendingDeliveries(t.db)).map((p) => p.id)).toEqual(["d-parked-1"]);

    expect((await cli(["deliveries", "retry", "--all"], {}, t.db)).out).toBe("Retrying: d-parked-2. The app processes them at its next sweep.\n");
    expect((await cli(["deliveries", "retry", "--all"], {}, t.db)).out).toBe("No deliveries were parked.\n");
    expect((await cli(["deliveries", "list", "--failed"], {}, t.db)).out).toBe("No parked deliveries.\n");
  });
});

describe("the built command (node dist/src/cli.js)", () => {
  const root = join(import.meta.dirname, "..");
  const script = join(root, "dist/src/cli.js");

  beforeAll(async () => {
    // CI builds first; locally, build when the compiled CLI is missing or older than its sources.
    const sources = [join(root, "src/cli.ts"), ...readdirSync(join(root, "src/cli")).map((f) => join(root, "src/cli", f))];
    const stale = !existsSync(script) || sources.some((s) => statSync(s).mtimeMs > statSync(script).mtimeMs);
    if (stale) await run("npx", ["tsc", "-p", "."], { cwd: root }).catch(() => undefined); // type errors elsewhere still emit
    if (!existsSync(script)) throw new Error(`could not build ${script}`);
  }, 240_000);

  test("help runs as a program and exits 0", async () => {
    const r = await run(process.execPath, [script, "help"], { cwd: tmpdir(), env: { PATH: process.env.PATH } });
    expect(r.stdout).toContain("Usage: bounty-bot <command> [options]");
    for (const c of CLI_COMMANDS) expect(r.stdout).toContain(c.usage);
  });

  test("bad arguments exit 2", async () => {
    await expect(run(process.execPath, [script, "payouts", "list", "--state", "lost"], { cwd: tmpdir() })).rejects.toMatchObject({ code: 2 });
  });

  test("refuses to open an embedded database another process has open", async () => {
    const { openDatabase } = await import("../src/store/db.js");
    const dir = mkdtempSync(join(tmpdir(), "bounty-cli-lock-"));
    const db = await openDatabase({ dataDir: dir });
    try {
      const err = await run(process.execPath, [script, "payouts", "list"], { cwd: tmpdir(), env: { PATH: process.env.PATH, DATA_DIR: dir } }).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect(err).toMatchObject({ code: 1 });
      expect((err as { stderr: string }).stderr).toContain(
        `the embedded database in ${dir} is in use by process ${process.pid}; stop it, or use DATABASE_URL to share a PostgreSQL server`,
      );
    } finally {
      await db.close();
    }
    // Closed: the CLI may open it now.
    const r = await run(process.execPath, [script, "payouts", "list"], { cwd: tmpdir(), env: { PATH: process.env.PATH, DATA_DIR: dir } });
    expect(r.stdout).toBe("No payouts.\n");
    rmSync(dir, { recursive: true, force: true });
  });
});
