import { ratesNeeded, type Budget, type Rates } from "../core/budget.js";
import { formatAmount, type Amount } from "../core/money.js";
import type { RepoConfig } from "../config/schema.js";
import { uncountedCurrencies, type PledgeTerms } from "../store/bounties.js";
import type { Deps } from "./types.js";

export type TermsResult = { ok: true; terms: PledgeTerms } | { ok: false; reply: string };

/**
 * The budgets a pledge counts against and the prices counting it needs, read before the
 * transaction (the prepare phase). A budget in another currency than the pledge needs an agreeing
 * price now; when there is none the pledge is refused (fail closed). Same currencies need none.
 */
export async function pledgeTerms(
  deps: Pick<Deps, "db" | "accountBudgets" | "prices">,
  config: RepoConfig,
  owner: string,
  chargedUserId: number | null,
  amount: Amount,
): Promise<TermsResult> {
  const account = owner.toLowerCase();
  const now = new Date();
  const accountBudget = deps.accountBudgets?.get(account) ?? null;
  const funderBudget = chargedUserId === null ? null : config.funders.budget;
  const needed = new Set<keyof Rates>();
  const scopes: Array<{ budget: Budget; charged: number | null }> = [];
  if (accountBudget) scopes.push({ budget: accountBudget, charged: null });
  if (funderBudget) scopes.push({ budget: funderBudget, charged: chargedUserId });
  for (const { budget, charged } of scopes) {
    const to = budget.limit.currency;
    for (const c of ratesNeeded(amount.currency, to)) needed.add(c);
    for (const from of await uncountedCurrencies(deps.db, account, charged, budget, now)) {
      for (const c of ratesNeeded(from, to)) needed.add(c);
    }
  }
  const rates: Rates = {};
  for (const c of needed) {
    const refuse = (why: string): TermsResult => ({
      ok: false,
      reply: `${formatAmount(amount)} has to be counted against a budget in another currency, and ${why}, so I recorded nothing. Please try again later.`,
    });
    if (!deps.prices) return refuse("this app has no price source to value it with");
    const price = await deps.prices.price(c);
    if (!price.ok) return refuse(`there is no agreeing ${c} price right now (${price.reason})`);
    rates[c] = price.rateText;
  }
  return { ok: true, terms: { chargedUserId, funderBudget, accountBudget, rates, now } };
}
