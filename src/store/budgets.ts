/**
 * The treasury's spends other than pledges (a funder's paid question, tip or survey), counted
 * against the same budgets as pledges (ACCOUNT_BUDGETS, funders.budget): one mechanism, so a
 * funder cannot get around a budget by asking or tipping instead of pledging.
 */
import { checkBudget, valueIn, type BudgetOver } from "../core/budget.js";
import type { Amount } from "../core/money.js";
import { budgetsOf, lockBudgets, spentInWindow, type PledgeTerms } from "./bounties.js";
import type { Queryable } from "./db.js";

export type ChargeKind = "question" | "tip" | "survey";

export type ChargeResult = { ok: true; replayed: boolean } | { ok: false; over: BudgetOver };

/**
 * Charges `amount` to the budgets `terms` names, in the caller's transaction, under the same
 * advisory locks as pledges. Over a budget, nothing is recorded and the answer says which and
 * what is left. Charging the same key again records nothing (a redelivery).
 */
export async function chargeBudget(
  tx: Queryable,
  c: { key: string; kind: ChargeKind; account: string; amount: Amount; terms: PledgeTerms },
): Promise<ChargeResult> {
  const account = c.account.toLowerCase();
  await lockBudgets(tx, account, c.terms);
  const [seen] = await tx.query("SELECT 1 FROM budget_charges WHERE key = $1", [c.key]);
  if (seen) return { ok: true, replayed: true };
  const counted: Record<string, string> = {};
  for (const { kind, budget } of budgetsOf(c.terms)) {
    const cur = budget.limit.currency;
    const value = valueIn(c.amount, cur, c.terms.rates);
    if (value === null) throw new Error(`no ${cur} price was read for a spend in ${c.amount.currency}; retrying`);
    const spent = await spentInWindow(tx, account, kind === "funder" ? c.terms.chargedUserId : null, budget, c.terms, { chargeKey: c.key });
    const check = checkBudget(budget, spent, value, null);
    if (!check.ok) return { ok: false, over: { kind, budget, spent: check.spent, left: check.left, value: check.value } };
    counted[cur] = value.toString();
  }
  const usedRates = Object.fromEntries(Object.entries(c.terms.rates).filter(([cur]) => cur === c.amount.currency || cur in counted));
  await tx.query(
    `INSERT INTO budget_charges (key, kind, account, charged_user_id, currency, amount_minor, counted, rates, charged_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      c.key,
      c.kind,
      account,
      c.terms.chargedUserId,
      c.amount.currency,
      c.amount.minor,
      JSON.stringify(counted),
      Object.keys(usedRates).length ? JSON.stringify(usedRates) : null,
      c.terms.now,
    ],
  );
  return { ok: true, replayed: false };
}

/** Money that came back (a question nobody answered, a cancelled tip) no longer counts. */
export async function releaseCharge(tx: Queryable, key: string, at = new Date()): Promise<boolean> {
  const rows = await tx.query("UPDATE budget_charges SET released_at = $2 WHERE key = $1 AND released_at IS NULL RETURNING id", [key, at]);
  return rows.length === 1;
}

/** What one funder has charged of a kind since `since` (e.g. tips today), in `amount`'s currency terms is left to the caller. */
export async function chargesSince(
  db: Queryable,
  q: { account: string; chargedUserId: number; kind: ChargeKind; since: Date },
): Promise<Array<{ amount: Amount; counted: Record<string, string> }>> {
  const rows = await db.query<{ currency: Amount["currency"]; amount_minor: bigint; counted: unknown }>(
    `SELECT currency, amount_minor, counted FROM budget_charges
     WHERE account = $1 AND charged_user_id = $2 AND kind = $3 AND charged_at >= $4 AND released_at IS NULL ORDER BY id`,
    [q.account.toLowerCase(), q.chargedUserId, q.kind, q.since],
  );
  return rows.map((r) => ({
    amount: { currency: r.currency, minor: BigInt(r.amount_minor) },
    counted: (typeof r.counted === "string" ? JSON.parse(r.counted) : r.counted) as Record<string, string>,
  }));
}
