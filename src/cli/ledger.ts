/**
 * The operators' view of the ledger of money (src/ledger/rules.ts): balances, the solvency check,
 * transfers, and a CSV export of them. The audit log has its own command (`audit export`).
 */
import { parseDuration } from "../core/duration.js";
import { accountFromKey, availableBalance, postedBalance, type AccountKind } from "../ledger/rules.js";
import { assessSolvency } from "../payouts/run.js";
import { walletConfigured } from "../payouts/setup.js";
import { listAccounts, listTransfers, type AccountRow, type Transfer } from "../store/ledger.js";
import { loginsOf, userIdsOfLogin } from "../store/logins.js";
import { csvRecord, table } from "./format.js";
import { defineCommand, UsageError } from "./types.js";

const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const PAGE = 1000;

/** Whose an account is, for people reading the table. */
const owner = (a: AccountRow, logins: ReadonlyMap<number, string>): string =>
  a.userId === null ? "" : logins.has(a.userId) ? `@${logins.get(a.userId)}` : `user ${a.userId}`;

export const ledgerBalances = defineCommand({
  words: ["ledger", "balances"],
  usage: "ledger balances [--login <login>]",
  description:
    "Lists the ledger's accounts with their balances in sats: posted (credits less debits), pending in and out, and available " +
    "(posted less pending out). Without --login every account, the wallet, treasury and fees included, and their total (always 0); " +
    "with --login that person's funds and earnings.",
  examples: ["bounty-bot ledger balances", "bounty-bot ledger balances --login alice"],
  options: { login: { type: "string" } },
  parse({ values }): { login?: string } {
    const login = values.login as string | undefined;
    if (login === undefined) return {};
    const bare = login.startsWith("@") ? login.slice(1) : login;
    if (!LOGIN.test(bare)) throw new UsageError(`--login must be a GitHub login, not "${login}"`);
    return { login: bare };
  },
  async run({ login }, ctx) {
    const db = await ctx.db();
    let accounts: AccountRow[];
    if (login !== undefined) {
      const ids = await userIdsOfLogin(db, login);
      if (ids.length === 0) {
        ctx.err(`no one called @${login} is known here (no linked wallet, no award)`);
        return 1;
      }
      accounts = (await Promise.all(ids.map((userId) => listAccounts(db, { userId })))).flat();
      if (accounts.length === 0) {
        ctx.out(`@${login} has no ledger accounts yet.`);
        return 0;
      }
    } else {
      accounts = await listAccounts(db);
    }
    const logins = await loginsOf(db, [...new Set(accounts.flatMap((a) => (a.userId === null ? [] : [a.userId])))]);
    const rows = accounts.map((a) => [
      a.key,
      a.kind,
      owner(a, logins),
      String(postedBalance(a)),
      String(a.creditsPending),
      String(a.debitsPending),
      String(availableBalance(a)),
    ]);
    if (login === undefined) {
      const sum = (f: (a: AccountRow) => bigint) => String(accounts.reduce((s, a) => s + f(a), 0n));
      rows.push(["total", "", "", sum(postedBalance), sum((a) => a.creditsPending), sum((a) => a.debitsPending), ""]);
    }
    for (const line of table(["ACCOUNT", "KIND", "WHOSE", "POSTED", "PENDING IN", "PENDING OUT", "AVAILABLE"], rows)) ctx.out(line);
    return 0;
  },
});

export const ledgerCheck = defineCommand({
  words: ["ledger", "check"],
  usage: "ledger check",
  description:
    "Runs the solvency check a payout run runs before signing: the ledger sums to zero and every account's totals match its transfers; " +
    "what people deposited (and have in escrow) is covered by what the payout wallet holds on chain; every stored transaction pays exactly " +
    "its payouts. Exits 0 with a one-line summary, 1 with the report. Without a payout wallet configured the on-chain part is not checked (said so).",
  examples: ["bounty-bot ledger check"],
  parse: () => undefined,
  async run(_input, ctx) {
    const db = await ctx.db();
    const wallet = walletConfigured(ctx.env) ? await ctx.wallet() : null;
    const r = await assessSolvency(db, wallet);
    const unchecked = wallet ? [] : ["The on-chain part was not checked: no payout wallet is configured (WALLET_MNEMONIC or WALLET_MNEMONIC_FILE)."];
    if (r.ok) {
      ctx.out(`Ledger check passed: ${r.summary}.`);
      for (const line of unchecked) ctx.out(line);
      return 0;
    }
    ctx.out(`Ledger check FAILED (${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}); payout runs sign nothing until it passes:`);
    for (const p of r.problems) ctx.out(`  - ${p}`);
    ctx.out(`Figures: ${r.summary}.`);
    for (const line of unchecked) ctx.out(line);
    return 1;
  },
});

export const ledgerTransfers = defineCommand({
  words: ["ledger", "transfers"],
  usage: "ledger transfers [--account <key>] [--since <time|duration>]",
  description:
    "Lists transfers, oldest first: id, time, key, kind, phase, debit and credit accounts, sats. --account: only those touching one account " +
    "(wallet, treasury, fees, funds:<user id>, earnings:<user id>, escrow:<purpose>:<id>, charity:<id>); --since: an ISO time, or a duration back from now (7d, 12h).",
  examples: ["bounty-bot ledger transfers --account treasury --since 7d", "bounty-bot ledger transfers --since 2026-01-01T00:00:00Z"],
  options: { account: { type: "string" }, since: { type: "string" } },
  parse({ values }): { account?: string; since?: Date } {
    return { account: accountOption(values.account as string | undefined), since: sinceOption(values.since as string | undefined, new Date()) };
  },
  async run({ account, since }, ctx) {
    const db = await ctx.db();
    const header = ["ID", "AT", "KEY", "KIND", "PHASE", "DEBIT", "CREDIT", "SATS"];
    let first = true;
    for await (const page of transferPages(db, { account, since })) {
      const rows = page.map((t) => [String(t.id), t.at.toISOString(), t.key, t.kind, t.phase, t.debit, t.credit, String(t.sats)]);
      const lines = table(header, rows);
      // Pages are padded each on their own; the header is printed once.
      for (const line of first ? lines : lines.slice(1)) ctx.out(line);
      first = false;
    }
    if (first) ctx.out("No transfers.");
    return 0;
  },
});

export const TRANSFER_COLUMNS = ["id", "at", "key", "kind", "phase", "debit", "credit", "sats", "pending_id", "ref"] as const;

export const ledgerExport = defineCommand({
  words: ["ledger", "export"],
  usage: "ledger export --csv",
  description:
    `Writes the ledger's transfers as CSV on stdout, oldest first: ${TRANSFER_COLUMNS.join(", ")} (ref as JSON). ` +
    "The audit log (what used to be `ledger export`) is `audit export --csv`.",
  examples: ["bounty-bot ledger export --csv > transfers.csv"],
  options: { csv: { type: "boolean" } },
  parse({ values }) {
    if (values.csv !== true) throw new UsageError("say the format: --csv (the only one); the audit log is `audit export --csv`");
    return undefined;
  },
  async run(_input, ctx) {
    ctx.out(csvRecord([...TRANSFER_COLUMNS]));
    for await (const page of transferPages(await ctx.db(), {})) {
      for (const t of page) {
        ctx.out(csvRecord([t.id, t.at.toISOString(), t.key, t.kind, t.phase, t.debit, t.credit, t.sats, t.pendingId, JSON.stringify(t.ref)]));
      }
    }
    return 0;
  },
});

async function* transferPages(db: Parameters<typeof listTransfers>[0], opts: { account?: string; since?: Date }): AsyncGenerator<Transfer[]> {
  let afterId: bigint | undefined;
  for (;;) {
    const page = await listTransfers(db, { ...opts, afterId, limit: PAGE });
    if (page.length) yield page;
    if (page.length < PAGE) return;
    afterId = page[page.length - 1]!.id;
  }
}

function accountOption(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (!accountFromKey(key)) {
    const kinds: AccountKind[] = ["wallet", "treasury", "fees"];
    throw new UsageError(`--account must be an account key (${kinds.join(", ")}, funds:<user id>, earnings:<user id>, escrow:<purpose>:<id>, charity:<id>), not "${key}"`);
  }
  return key;
}

/** An ISO time (a date, or a date and time), or a duration back from `now`. */
export function sinceOption(text: string | undefined, now: Date): Date | undefined {
  if (text === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const at = new Date(text);
    if (!Number.isNaN(at.getTime())) return at;
  }
  const d = parseDuration(text);
  if (d.ok) return new Date(now.getTime() - d.value);
  throw new UsageError(`--since must be an ISO time (2026-01-31 or 2026-01-31T12:00:00Z) or a duration back from now (7d, 12h); ${d.error}`);
}
