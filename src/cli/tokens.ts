/**
 * API tokens for the rewards API: created with a budget per period (funded from the treasury on
 * the ledger), listed, revoked (what is left goes back to the treasury). The token is printed once;
 * only a hash of its secret is stored.
 */
import { randomBytes } from "node:crypto";
import { formatBudgetInput, parseBudget, type Budget } from "../core/budget.js";
import type { Amount } from "../core/money.js";
import { fiatToSats } from "../price/convert.js";
import { parseRepoPattern, periodBounds, secretHash, TOKEN_PREFIX } from "../api/rules.js";
import type { Db } from "../store/db.js";
import { fundPeriod, insertToken, listTokens, revokeToken, TokenNameTaken } from "../store/tokens.js";
import { table } from "./format.js";
import { defineCommand, UsageError, type CliContext } from "./types.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A budget with its unit written out: a bare number would mean DEFAULT_CURRENCY, too easy to get wrong with money. */
function budgetOption(flag: string, text: string): Budget {
  const a = parseBudget(text, "USD");
  const b = parseBudget(text, "BTC");
  if (!a.ok) throw new UsageError(`${flag}: ${a.error}`);
  if (!b.ok || a.value.limit.currency !== b.value.limit.currency) {
    throw new UsageError(`${flag} "${text}": write the unit, like 100000sats/1d or 50usd/7d`);
  }
  return a.value;
}

/**
 * With the embedded database the CLI cannot open it while the app runs (one process per data
 * directory); PostgreSQL is shared, so token commands work while the app runs.
 */
async function tokensDb(ctx: CliContext): Promise<Db> {
  try {
    return await ctx.db();
  } catch (err) {
    if (ctx.settings().databaseUrl) throw err;
    throw new Error(
      `${(err as Error).message}. With the embedded database (PGlite) the app must be stopped while "bounty-bot tokens" runs; ` +
        "with PostgreSQL (DATABASE_URL) tokens can be managed while it runs",
    );
  }
}

/** Sats for a budget's amount now: sats as they are, fiat at the price source's agreeing price. */
async function priced(ctx: CliContext, a: Amount): Promise<{ sats: bigint; rate: string | null }> {
  if (a.currency === "BTC") return { sats: a.minor, rate: null };
  const r = await ctx.prices().price(a.currency);
  if (!r.ok) throw new Error(`no agreeing BTC price in ${a.currency} just now (${r.reason}), so a ${a.currency} budget cannot be funded; try again later`);
  return { sats: fiatToSats(a.minor, a.currency, r.rateText), rate: r.rateText };
}

interface CreateInput {
  name: string;
  budget: Budget;
  repos: string[] | null;
  cap: Budget | null;
}

export const tokensCreate = defineCommand({
  words: ["tokens", "create"],
  usage: "tokens create --name <name> --budget <amount>/<period> [--repos owner/repo,owner/*] [--recipient-cap <amount>/<period>]",
  description:
    "Creates a token for the rewards API (POST /api/v1/rewards) and prints it once: only a hash is kept. Its budget is funded from the treasury " +
    "now and again at the start of each period (counted from now), reset rather than accumulated; a budget in fiat is priced in sats when each period is funded. " +
    "--repos: rewards must name a url in these repositories. --recipient-cap: the most one person may get from this token per period. " +
    "With the embedded database (PGlite) the app must be stopped; with PostgreSQL it may run.",
  examples: [
    "bounty-bot tokens create --name prow-flakes --budget 100000sats/1d --repos kubernetes/kubernetes,kubernetes-sigs/* --recipient-cap 20000sats/1d",
    "bounty-bot tokens create --name triage --budget 50usd/7d",
  ],
  options: { name: { type: "string" }, budget: { type: "string" }, repos: { type: "string" }, "recipient-cap": { type: "string" } },
  parse({ values }): CreateInput {
    const name = values.name as string | undefined;
    if (!name || !NAME.test(name)) throw new UsageError("--name is required: letters, digits, '.', '_' and '-', at most 64");
    const budgetText = values.budget as string | undefined;
    if (!budgetText) throw new UsageError("--budget is required, like 100000sats/1d or 50usd/7d");
    const budget = budgetOption("--budget", budgetText);
    let repos: string[] | null = null;
    if (values.repos !== undefined) {
      repos = String(values.repos).split(",").map((p) => {
        const r = parseRepoPattern(p);
        if (!r) throw new UsageError(`--repos: "${p}" is not owner/repo or owner/*`);
        return r;
      });
      repos = [...new Set(repos)];
    }
    const capText = values["recipient-cap"] as string | undefined;
    const cap = capText === undefined ? null : budgetOption("--recipient-cap", capText);
    return { name, budget, repos, cap };
  },
  async run({ name, budget, repos, cap }, ctx) {
    const db = await tokensDb(ctx);
    const { sats, rate } = await priced(ctx, budget.limit);
    if (sats <= 0n) throw new Error(`--budget ${formatBudgetInput(budget)} is worth less than one sat`);
    const secret = randomBytes(32).toString("base64url");
    let token;
    try {
      token = await db.transaction(async (tx) => {
        const t = await insertToken(tx, { name, secretHash: secretHash(secret), budget, repos, recipientCap: cap });
        await fundPeriod(tx, t.id, 0, sats, rate);
        return t;
      });
    } catch (err) {
      if (err instanceof TokenNameTaken) {
        ctx.err(err.message);
        return 1;
      }
      throw err;
    }
    ctx.out(`Created token "${name}": ${formatBudgetInput(budget)}, ${sats} sats set aside from the treasury for this period${rate ? ` (at ${rate} ${budget.limit.currency}/BTC)` : ""}.`);
    ctx.out("It is shown once; keep it in your CI's secrets:");
    ctx.out(`${TOKEN_PREFIX}${token.id}_${secret}`);
    return 0;
  },
});

export const tokensList = defineCommand({
  words: ["tokens", "list"],
  usage: "tokens list",
  description: "Lists the API tokens (never the tokens themselves): name, budget, repositories, recipient cap, what is spent and left this period, last use, state.",
  examples: ["bounty-bot tokens list"],
  parse: () => ({}),
  async run(_input, ctx) {
    const tokens = await listTokens(await tokensDb(ctx));
    if (tokens.length === 0) {
      ctx.out("No API tokens. Create one with: bounty-bot tokens create --name <name> --budget <amount>/<period>");
      return 0;
    }
    const rows = tokens.map((t) => {
      const bounds = t.period === null ? null : periodBounds(t.createdAt, t.budget.windowMs, t.period);
      return [
        t.name,
        formatBudgetInput(t.budget),
        t.repos ? t.repos.join(",") : "any",
        t.recipientCap ? formatBudgetInput(t.recipientCap) : "",
        t.revokedAt ? "" : String(t.spentSats),
        String(t.leftSats),
        bounds && !t.revokedAt ? `${t.period} (until ${bounds.end.toISOString()})` : "",
        t.lastUsedAt ? t.lastUsedAt.toISOString() : "never",
        t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : "live",
      ];
    });
    for (const line of table(["NAME", "BUDGET", "REPOS", "RECIPIENT CAP", "SPENT", "LEFT", "PERIOD", "LAST USED", "STATE"], rows)) ctx.out(line);
    return 0;
  },
});

export const tokensRevoke = defineCommand({
  words: ["tokens", "revoke"],
  usage: "tokens revoke <name>",
  description: "Revokes an API token at once (its calls get 401) and returns what is left of its budget to the treasury. Its rewards stay.",
  examples: ["bounty-bot tokens revoke prow-flakes"],
  positionals: true,
  parse({ positionals }): { name: string } {
    if (positionals.length !== 1 || !NAME.test(positionals[0]!)) throw new UsageError("give the name of one token");
    return { name: positionals[0]! };
  },
  async run({ name }, ctx) {
    const r = await revokeToken(await tokensDb(ctx), name);
    if (!r) {
      ctx.err(`no live token is named "${name}" (see bounty-bot tokens list)`);
      return 1;
    }
    ctx.out(`Revoked token "${name}"; ${r.returnedSats} sats went back to the treasury.`);
    return 0;
  },
});
