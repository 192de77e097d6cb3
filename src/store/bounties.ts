import { checkBudget, countedValue, valueIn, windowStart, type Budget, type BudgetOver, type Rates } from "../core/budget.js";
import type { Amount, Currency } from "../core/money.js";
import { escrowOf, type AccountSpec } from "../ledger/rules.js";
import { fromJson, type Db, type Queryable } from "./db.js";
import { openEscrow, returnSlots } from "./escrow.js";

export type BountyStatus = "open" | "awarded" | "paid" | "confirmed" | "cancelled";
export type PledgeStatus = "open" | "withdrawn" | "cancelled" | "awarded";
/** How the issue was last closed ('open' while it is open): an award needs 'completed'. */
export type IssueState = "open" | "completed" | "not_planned";

export interface IssueRef {
  installationId: number;
  repoId: number;
  owner: string;
  repo: string;
  number: number;
  title: string;
}

/** Who acted: a GitHub user, or the app itself (id null). */
export interface Actor {
  id: number | null;
  login: string;
}

/** Who offers the money: a person ('user:<id>') or a label the app pledges for ('label:<name>'). */
export interface Funder {
  key: string;
  id: number | null;
  login: string;
}

export interface Bounty {
  id: bigint;
  installationId: number;
  repoId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  issueTitle: string;
  status: BountyStatus;
  statusReason: string | null;
  cardCommentId: number | null;
  cardVersion: bigint;
  cardSyncedVersion: bigint;
  /** The label kept on the issue while the bounty is open (config labels.bounty). */
  labelName: string;
  labelApplied: boolean;
  issueState: IssueState;
}

export interface Pledge {
  id: bigint;
  funderKey: string;
  funderId: number | null;
  funderLogin: string;
  amount: Amount;
  status: PledgeStatus;
  createdAt: Date;
  updatedAt: Date;
  /** A backed pledge (by someone who may not fund): the sats held for it from the backer's balance; null for the treasury's. */
  backed?: { sats: bigint; rate: string | null; escrow: string } | null;
}

/**
 * A backed pledge's escrow: one per version of the pledge (a second `/bounty` replaces the
 * pledge row but not its ledger history, whose keys are forever).
 */
export const pledgeEscrow = (pledgeId: bigint, version: number): AccountSpec => escrowOf("pledge", `${pledgeId}.${version}`);

/** Where a change came from, for the audit log. */
export interface Cause {
  actor: Actor;
  deliveryId: string | null;
}

export const userFunder = (u: { id: number; login: string }): Funder => ({ key: `user:${u.id}`, id: u.id, login: u.login });
export const labelFunder = (label: string, appLogin: string): Funder => ({ key: `label:${label}`, id: null, login: appLogin });

type BountyRow = {
  id: bigint;
  installation_id: bigint;
  repo_id: bigint;
  repo_owner: string;
  repo_name: string;
  issue_number: number;
  issue_title: string;
  status: BountyStatus;
  status_reason: string | null;
  card_comment_id: bigint | null;
  card_version: bigint;
  card_synced_version: bigint;
  label_name: string;
  label_applied: boolean;
  issue_state: IssueState;
};

const toBounty = (r: BountyRow): Bounty => ({
  id: BigInt(r.id),
  installationId: Number(r.installation_id),
  repoId: Number(r.repo_id),
  owner: r.repo_owner,
  repo: r.repo_name,
  issueNumber: Number(r.issue_number),
  issueTitle: r.issue_title,
  status: r.status,
  statusReason: r.status_reason,
  cardCommentId: r.card_comment_id === null ? null : Number(r.card_comment_id),
  cardVersion: BigInt(r.card_version),
  cardSyncedVersion: BigInt(r.card_synced_version),
  labelName: r.label_name,
  labelApplied: r.label_applied,
  issueState: r.issue_state,
});

/** Bigints travel through JSON as decimal strings. */
const amountJson = (a: Amount) => ({ currency: a.currency, minor: a.minor.toString() });

export async function appendEvent(
  tx: Queryable,
  e: { bountyId?: bigint | null; userId?: number | null; kind: string; data: Record<string, unknown>; cause: Cause },
): Promise<void> {
  await tx.query(
    `INSERT INTO events (bounty_id, user_id, actor_id, actor_login, kind, data, delivery_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      e.bountyId ?? null,
      e.userId ?? null,
      e.cause.actor.id,
      e.cause.actor.login,
      e.kind,
      JSON.stringify(e.data),
      e.cause.deliveryId,
    ],
  );
}

export async function findBounty(db: Queryable, repoId: number, issueNumber: number): Promise<Bounty | null> {
  const rows = await db.query<BountyRow>("SELECT * FROM bounties WHERE repo_id = $1 AND issue_number = $2", [
    repoId,
    issueNumber,
  ]);
  return rows[0] ? toBounty(rows[0]) : null;
}

export async function getBounty(db: Queryable, id: bigint): Promise<Bounty> {
  const rows = await db.query<BountyRow>("SELECT * FROM bounties WHERE id = $1", [id]);
  if (!rows[0]) throw new Error(`bounty ${id} not found`);
  return toBounty(rows[0]);
}

/** An existing bounty, locked for the rest of the transaction. */
export async function lockBountyById(tx: Queryable, id: bigint): Promise<Bounty> {
  const rows = await tx.query<BountyRow>("SELECT * FROM bounties WHERE id = $1 FOR UPDATE", [id]);
  if (!rows[0]) throw new Error(`bounty ${id} not found`);
  return toBounty(rows[0]);
}

/** Records how the issue was closed (or that it was reopened). Returns the bounty, or null when the issue has none. */
export async function setIssueState(tx: Queryable, repoId: number, issueNumber: number, state: IssueState): Promise<Bounty | null> {
  const rows = await tx.query<BountyRow>(
    `UPDATE bounties SET issue_state = $3, issue_closed_at = CASE WHEN $3 = 'open' THEN NULL ELSE now() END
     WHERE repo_id = $1 AND issue_number = $2 RETURNING *`,
    [repoId, issueNumber, state],
  );
  return rows[0] ? toBounty(rows[0]) : null;
}

/** The issue's bounty, created on first use; locked for the rest of the transaction. */
/** An issue's title edited on GitHub (issues.edited): what the board shows of its bounty follows. */
export async function setIssueTitle(tx: Queryable, repoId: number, issueNumber: number, title: string): Promise<boolean> {
  const rows = await tx.query("UPDATE bounties SET issue_title = $3 WHERE repo_id = $1 AND issue_number = $2 AND issue_title <> $3 RETURNING id", [repoId, issueNumber, title]);
  return rows.length > 0;
}

export async function lockBounty(tx: Queryable, issue: IssueRef, labelName = "bounty"): Promise<Bounty> {
  const rows = await tx.query<BountyRow>(
    `INSERT INTO bounties (installation_id, repo_id, repo_owner, repo_name, issue_number, issue_title, label_name)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (repo_id, issue_number) DO UPDATE
       SET installation_id = EXCLUDED.installation_id, repo_owner = EXCLUDED.repo_owner,
           repo_name = EXCLUDED.repo_name, issue_title = EXCLUDED.issue_title,
           label_name = CASE WHEN bounties.label_applied THEN bounties.label_name ELSE EXCLUDED.label_name END
     RETURNING *`,
    [issue.installationId, issue.repoId, issue.owner, issue.repo, issue.number, issue.title, labelName],
  );
  return toBounty(rows[0]!);
}

export async function listPledges(db: Queryable, bountyId: bigint): Promise<Pledge[]> {
  const rows = await db.query<{
    id: bigint;
    funder_key: string;
    funder_id: bigint | null;
    funder_login: string;
    currency: Currency;
    amount_minor: bigint;
    status: PledgeStatus;
    created_at: Date;
    updated_at: Date;
    backed_sats: bigint | null;
    backed_rate: string | null;
    backed_version: number;
  }>("SELECT * FROM pledges WHERE bounty_id = $1 ORDER BY created_at, id", [bountyId]);
  return rows.map((r) => ({
    id: BigInt(r.id),
    funderKey: r.funder_key,
    funderId: r.funder_id === null ? null : Number(r.funder_id),
    funderLogin: r.funder_login,
    amount: { currency: r.currency, minor: BigInt(r.amount_minor) },
    status: r.status,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    backed:
      r.backed_sats === null
        ? null
        : { sats: BigInt(r.backed_sats), rate: r.backed_rate, escrow: pledgeEscrow(BigInt(r.id), Number(r.backed_version)).key },
  }));
}

export async function hasOpenPledges(db: Queryable, bountyId: bigint): Promise<boolean> {
  const open = await db.query("SELECT 1 FROM pledges WHERE bounty_id = $1 AND status = 'open' LIMIT 1", [bountyId]);
  return open.length > 0;
}

/** Something on the card changed: the card syncer will edit it. */
export async function touch(tx: Queryable, bountyId: bigint): Promise<void> {
  await tx.query("UPDATE bounties SET card_version = card_version + 1, updated_at = now() WHERE id = $1", [bountyId]);
}

/** open while a pledge is open; cancelled when none is left (unless already awarded or later). */
async function settleStatus(tx: Queryable, bounty: Bounty, reason: string | null, cause: Cause): Promise<void> {
  if (bounty.status !== "open" && bounty.status !== "cancelled") return;
  const next: BountyStatus = (await hasOpenPledges(tx, bounty.id)) ? "open" : "cancelled";
  const nextReason = next === "open" ? null : reason;
  if (next === bounty.status && nextReason === bounty.statusReason) return;
  await tx.query("UPDATE bounties SET status = $2, status_reason = $3 WHERE id = $1", [bounty.id, next, nextReason]);
  await appendEvent(tx, { bountyId: bounty.id, kind: "status", data: { status: next, reason: nextReason }, cause });
}

/**
 * What a pledge counts against, decided before the transaction: the budgets that apply and the
 * prices read for them (the price oracle is asked in the prepare phase, never in here).
 */
export interface PledgeTerms {
  /** Whose funders.budget it counts against; null: the account budget alone (a trusted bot's label). */
  chargedUserId: number | null;
  /** funders.budget of the repository's config, counted across the account; only with chargedUserId. */
  funderBudget: Budget | null;
  /** The account's ACCOUNT_BUDGETS entry. */
  accountBudget: Budget | null;
  /** Fiat per BTC now, for every conversion the budgets need. */
  rates: Rates;
  now: Date;
}

type CountedRow = { currency: Currency; amount_minor: bigint; counted: unknown };
const countedOf = (r: CountedRow) => {
  const json = fromJson<Record<string, string> | null>(r.counted) ?? {};
  const counted: Partial<Record<Currency, bigint>> = {};
  for (const [c, v] of Object.entries(json)) counted[c as Currency] = BigInt(v);
  return { amount: { currency: r.currency, minor: BigInt(r.amount_minor) }, counted };
};

/** The account a bounty's pledges count against: its owner's login, lowercased. */
export const accountOf = (bounty: Pick<Bounty, "owner">): string => bounty.owner.toLowerCase();

/** The budgets that apply to a pledge, in lock order: the account's, then the funder's. */
export function budgetsOf(terms: PledgeTerms): Array<{ kind: BudgetOver["kind"]; budget: Budget }> {
  const out: Array<{ kind: BudgetOver["kind"]; budget: Budget }> = [];
  if (terms.accountBudget) out.push({ kind: "account", budget: terms.accountBudget });
  if (terms.funderBudget && terms.chargedUserId !== null) out.push({ kind: "funder", budget: terms.funderBudget });
  return out;
}

/**
 * Advisory locks on the budgets a spend counts against: the account, then the charged funder,
 * always in that order, so two spends racing on two connections are counted one after the other.
 */
export async function lockBudgets(tx: Queryable, account: string, terms: PledgeTerms): Promise<void> {
  if (budgetsOf(terms).length === 0) return;
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", [`budget account ${account}`]);
  if (terms.chargedUserId !== null) {
    await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", [`budget funder ${account} ${terms.chargedUserId}`]);
  }
}

/**
 * What a budget's window has spent, in its currency: open and awarded pledges, and the treasury's
 * other spends charged to budgets (questions, tips, surveys: budget_charges) not returned since.
 * `except` leaves out the pledge being replaced, or the charge being made again.
 */
export async function spentInWindow(
  tx: Queryable,
  account: string,
  chargedUserId: number | null,
  budget: Budget,
  terms: Pick<PledgeTerms, "rates" | "now">,
  except: { bountyId?: bigint; funderKey?: string; chargeKey?: string } = {},
): Promise<bigint> {
  const c = budget.limit.currency;
  const rows = await tx.query<CountedRow>(
    `SELECT currency, amount_minor, counted FROM pledges
     WHERE account = $1 AND ($2::bigint IS NULL OR charged_user_id = $2) AND status IN ('open', 'awarded')
       AND backed_sats IS NULL AND pledged_at >= $3 AND NOT (bounty_id IS NOT DISTINCT FROM $4 AND funder_key IS NOT DISTINCT FROM $5)
     UNION ALL
     SELECT currency, amount_minor, counted FROM budget_charges
     WHERE account = $1 AND ($2::bigint IS NULL OR charged_user_id = $2) AND released_at IS NULL
       AND charged_at >= $3 AND key IS DISTINCT FROM $6`,
    [account, chargedUserId, windowStart(terms.now, budget), except.bountyId ?? null, except.funderKey ?? null, except.chargeKey ?? null],
  );
  let spent = 0n;
  for (const r of rows) {
    const v = countedValue(countedOf(r), c, terms.rates);
    if (v === null) throw new Error(`a spend in ${r.currency} counted in a ${c} budget has no price; retrying`);
    spent += v;
  }
  return spent;
}

/**
 * Currencies of pledges in a budget's window whose value in `budget`'s currency was not counted
 * when they were made (older pledges, or a budget added since): converting them needs a price now.
 */
export async function uncountedCurrencies(
  db: Queryable,
  account: string,
  chargedUserId: number | null,
  budget: Budget,
  now: Date,
): Promise<Currency[]> {
  const c = budget.limit.currency;
  const rows = await db.query<{ currency: Currency }>(
    `SELECT currency FROM pledges
     WHERE account = $1 AND ($2::bigint IS NULL OR charged_user_id = $2) AND status IN ('open', 'awarded')
       AND backed_sats IS NULL AND pledged_at >= $3 AND currency <> $4 AND NOT (counted ? $4)
     UNION
     SELECT currency FROM budget_charges
     WHERE account = $1 AND ($2::bigint IS NULL OR charged_user_id = $2) AND released_at IS NULL
       AND charged_at >= $3 AND currency <> $4 AND NOT (counted ? $4)`,
    [account, chargedUserId, windowStart(now, budget), c],
  );
  return rows.map((r) => r.currency);
}

/**
 * Records a funder's pledge; a second pledge by the same funder replaces the first.
 * Returns the amount it replaced, if any, or the budget it would exceed (then nothing is written).
 *
 * Budgets are checked here, in the transaction, under advisory locks on the account and then the
 * charged funder (always that order), so two pledges racing on two connections are counted one
 * after the other and cannot both fit under what is left.
 */
export async function pledge(
  tx: Queryable,
  bounty: Bounty,
  funder: Funder,
  amount: Amount,
  cause: Cause,
  terms: PledgeTerms = { chargedUserId: funder.id, funderBudget: null, accountBudget: null, rates: {}, now: new Date() },
): Promise<{ replaced: Amount | null; over: null } | { replaced: null; over: BudgetOver }> {
  const account = accountOf(bounty);
  const budgets = budgetsOf(terms);
  await lockBudgets(tx, account, terms);
  const before = await tx.query<CountedRow & BackedRow & { status: PledgeStatus }>(
    `SELECT id, currency, amount_minor, status, counted, backed_sats, backed_version FROM pledges
     WHERE bounty_id = $1 AND funder_key = $2 FOR UPDATE`,
    [bounty.id, funder.key],
  );
  const prev = before[0];
  if (prev && prev.status === "awarded") throw new Error("an awarded pledge cannot be changed");

  const counted: Record<string, string> = {};
  for (const { kind, budget } of budgets) {
    const c = budget.limit.currency;
    const value = valueIn(amount, c, terms.rates);
    if (value === null) throw new Error(`no ${c} price was read for a pledge in ${amount.currency}; retrying`);
    const spent = await spentInWindow(tx, account, kind === "funder" ? terms.chargedUserId : null, budget, terms, {
      bountyId: bounty.id,
      funderKey: funder.key,
    });
    const replacing = prev && prev.status === "open" ? countedValue(countedOf(prev), c, terms.rates) : null;
    const check = checkBudget(budget, spent, value, replacing);
    if (!check.ok) {
      // Nothing is recorded: not even the bounty row lockBounty made for this pledge (a bounty
      // without pledges or history is an empty shell; one with either is kept).
      await tx.query(
        `DELETE FROM bounties b WHERE b.id = $1 AND NOT EXISTS (SELECT 1 FROM pledges WHERE bounty_id = b.id)
           AND NOT EXISTS (SELECT 1 FROM events WHERE bounty_id = b.id)`,
        [bounty.id],
      );
      return { replaced: null, over: { kind, budget, spent: check.spent, left: check.left, value: check.value } };
    }
    counted[c] = value.toString();
  }
  const usedRates = Object.fromEntries(Object.entries(terms.rates).filter(([c]) => c === amount.currency || c in counted));
  const sats = valueIn(amount, "BTC", terms.rates);
  // The same person, a funder now, pledged from their own balance before: that goes back to them.
  if (prev && prev.status === "open") await returnBacked(tx, [prev], { replaced: "treasury" });
  await tx.query(
    `INSERT INTO pledges (bounty_id, funder_key, funder_id, funder_login, currency, amount_minor,
                          account, charged_user_id, pledged_at, counted, rates, value_sats)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (bounty_id, funder_key) DO UPDATE
       SET funder_login = EXCLUDED.funder_login, currency = EXCLUDED.currency,
           amount_minor = EXCLUDED.amount_minor, status = 'open', updated_at = now(),
           account = EXCLUDED.account, charged_user_id = EXCLUDED.charged_user_id, pledged_at = EXCLUDED.pledged_at,
           counted = EXCLUDED.counted, rates = EXCLUDED.rates, value_sats = EXCLUDED.value_sats,
           backed_sats = NULL, backed_rate = NULL`,
    [
      bounty.id,
      funder.key,
      funder.id,
      funder.login,
      amount.currency,
      amount.minor,
      account,
      terms.chargedUserId,
      terms.now,
      JSON.stringify(counted),
      Object.keys(usedRates).length ? JSON.stringify(usedRates) : null,
      sats,
    ],
  );
  const replaced =
    prev && prev.status === "open" ? { currency: prev.currency, minor: BigInt(prev.amount_minor) } : null;
  await appendEvent(tx, {
    bountyId: bounty.id,
    kind: "pledged",
    data: {
      funder: funder.key,
      funder_id: funder.id,
      funder_login: funder.login,
      amount: amountJson(amount),
      replaced: replaced ? amountJson(replaced) : null,
      charged_user_id: terms.chargedUserId,
      counted,
      rates: usedRates,
    },
    cause,
  });
  await settleStatus(tx, bounty, null, cause);
  await touch(tx, bounty.id);
  return { replaced, over: null };
}

/** The columns that say whether a pledge is backed, and by which escrow. */
export type BackedRow = { id: bigint; backed_sats: bigint | null; backed_version: number };

/**
 * Returns the escrows of backed pledges that are given up (withdrawn, cancelled, replaced) to
 * their backers, in the caller's transaction. Treasury pledges among them hold nothing.
 */
export async function returnBacked(tx: Queryable, pledges: readonly BackedRow[], ref: Record<string, string>): Promise<bigint> {
  let returned = 0n;
  for (const p of pledges) {
    if (p.backed_sats === null) continue;
    returned += await returnSlots(tx, pledgeEscrow(BigInt(p.id), Number(p.backed_version)), { ref: { ...ref, pledge: String(p.id) } });
  }
  return returned;
}

/** What backing a pledge fixed: its sats, and the price they were counted at (null for a pledge in sats). */
export interface Backing {
  sats: bigint;
  rate: string | null;
}

export type BackResult =
  | { ok: true; replaced: Amount | null; escrow: string }
  | { ok: false; available: bigint; missing: bigint };

/**
 * Records a pledge backed by the funder's own balance (someone who may not commit the treasury):
 * its sats are escrowed from their funds, then earnings, as escrow:pledge:<id>.<version>. A
 * second pledge replaces the first: the old escrow goes back to them first (so it counts towards
 * the new one), and the new one is opened under the next version. It counts against no treasury
 * budget. Without enough nothing is recorded (a savepoint, and the bounty row lockBounty made
 * only for this pledge is dropped again) and the answer says what is missing.
 */
export async function backPledge(tx: Queryable, bounty: Bounty, funder: Funder & { id: number }, amount: Amount, backing: Backing, cause: Cause): Promise<BackResult> {
  await tx.query("SAVEPOINT backed_pledge");
  const before = await tx.query<BackedRow & { status: PledgeStatus; currency: Currency; amount_minor: bigint }>(
    `SELECT id, status, currency, amount_minor, backed_sats, backed_version FROM pledges
     WHERE bounty_id = $1 AND funder_key = $2 FOR UPDATE`,
    [bounty.id, funder.key],
  );
  const prev = before[0];
  if (prev && prev.status === "awarded") throw new Error("an awarded pledge cannot be changed");
  if (prev && prev.status === "open") await returnBacked(tx, [prev], { replaced: "backed" });
  const version = (prev ? Number(prev.backed_version) : 0) + 1;
  const rates = backing.rate === null ? null : JSON.stringify({ [amount.currency]: backing.rate });
  const [row] = await tx.query<{ id: bigint }>(
    `INSERT INTO pledges (bounty_id, funder_key, funder_id, funder_login, currency, amount_minor,
                          account, charged_user_id, pledged_at, counted, rates, value_sats, backed_sats, backed_rate, backed_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, now(), '{}'::jsonb, $8, $9, $9, $10, $11)
     ON CONFLICT (bounty_id, funder_key) DO UPDATE
       SET funder_login = EXCLUDED.funder_login, currency = EXCLUDED.currency,
           amount_minor = EXCLUDED.amount_minor, status = 'open', updated_at = now(),
           account = EXCLUDED.account, charged_user_id = NULL, pledged_at = EXCLUDED.pledged_at,
           counted = EXCLUDED.counted, rates = EXCLUDED.rates, value_sats = EXCLUDED.value_sats,
           backed_sats = EXCLUDED.backed_sats, backed_rate = EXCLUDED.backed_rate, backed_version = EXCLUDED.backed_version
     RETURNING id`,
    [bounty.id, funder.key, funder.id, funder.login, amount.currency, amount.minor, accountOf(bounty), rates, backing.sats, backing.rate, version],
  );
  const escrow = pledgeEscrow(BigInt(row!.id), version);
  const opened = await openEscrow(tx, {
    escrow,
    payer: { kind: "person", userId: funder.id },
    slots: [backing.sats],
    // No timeout: a backed pledge ends awarded (posted to the winners) or given up (returned), never by the clock.
    timeoutAt: null,
    ref: { pledge: String(row!.id), bounty: bounty.id.toString() },
  });
  if (!opened.ok) {
    await tx.query("ROLLBACK TO SAVEPOINT backed_pledge");
    await tx.query(
      `DELETE FROM bounties b WHERE b.id = $1 AND NOT EXISTS (SELECT 1 FROM pledges WHERE bounty_id = b.id)
         AND NOT EXISTS (SELECT 1 FROM events WHERE bounty_id = b.id)`,
      [bounty.id],
    );
    return { ok: false, available: opened.available, missing: opened.missing };
  }
  await tx.query("RELEASE SAVEPOINT backed_pledge");
  const replaced = prev && prev.status === "open" ? { currency: prev.currency, minor: BigInt(prev.amount_minor) } : null;
  await appendEvent(tx, {
    bountyId: bounty.id,
    kind: "pledged",
    data: {
      funder: funder.key,
      funder_id: funder.id,
      funder_login: funder.login,
      amount: amountJson(amount),
      replaced: replaced ? amountJson(replaced) : null,
      charged_user_id: null,
      counted: {},
      rates: backing.rate === null ? {} : { [amount.currency]: backing.rate },
      backed: { sats: backing.sats.toString(), escrow: escrow.key },
    },
    cause,
  });
  await settleStatus(tx, bounty, null, cause);
  await touch(tx, bounty.id);
  return { ok: true, replaced, escrow: escrow.key };
}

/** Withdraws a funder's open pledge. Returns what was withdrawn, or null when there was none. */
export async function withdraw(tx: Queryable, bounty: Bounty, funderKey: string, cause: Cause): Promise<Amount | null> {
  const rows = await tx.query<{ currency: Currency; amount_minor: bigint } & BackedRow>(
    `UPDATE pledges SET status = 'withdrawn', updated_at = now()
     WHERE bounty_id = $1 AND funder_key = $2 AND status = 'open' RETURNING id, currency, amount_minor, backed_sats, backed_version`,
    [bounty.id, funderKey],
  );
  if (!rows[0]) return null;
  await returnBacked(tx, rows, { withdrawn: funderKey });
  const amount = { currency: rows[0].currency, minor: BigInt(rows[0].amount_minor) };
  await appendEvent(tx, {
    bountyId: bounty.id,
    kind: "withdrawn",
    data: { funder: funderKey, amount: amountJson(amount) },
    cause,
  });
  await settleStatus(tx, bounty, "all pledges were withdrawn", cause);
  await touch(tx, bounty.id);
  return amount;
}

/** Cancels every open pledge (e.g. the issue was closed as not planned). Returns how many. */
export async function cancelOpenPledges(tx: Queryable, bounty: Bounty, reason: string, cause: Cause): Promise<number> {
  const rows = await tx.query<{ funder_key: string } & BackedRow>(
    `UPDATE pledges SET status = 'cancelled', updated_at = now()
     WHERE bounty_id = $1 AND status = 'open' RETURNING id, funder_key, backed_sats, backed_version`,
    [bounty.id],
  );
  if (rows.length === 0) return 0;
  await returnBacked(tx, rows, { cancelled: reason });
  await appendEvent(tx, {
    bountyId: bounty.id,
    kind: "cancelled",
    data: { funders: rows.map((r) => r.funder_key).sort(), reason },
    cause,
  });
  await settleStatus(tx, bounty, reason, cause);
  await touch(tx, bounty.id);
  return rows.length;
}

export interface BountyEvent {
  id: bigint;
  at: Date;
  kind: string;
  actorLogin: string;
  deliveryId: string | null;
  data: Record<string, unknown>;
}

export async function bountyEvents(db: Queryable, bountyId: bigint): Promise<BountyEvent[]> {
  const rows = await db.query<{
    id: bigint;
    at: Date;
    kind: string;
    actor_login: string;
    delivery_id: string | null;
    data: unknown;
  }>("SELECT id, at, kind, actor_login, delivery_id, data FROM events WHERE bounty_id = $1 ORDER BY id", [bountyId]);
  return rows.map((r) => ({
    id: BigInt(r.id),
    at: new Date(r.at),
    kind: r.kind,
    actorLogin: r.actor_login,
    deliveryId: r.delivery_id,
    data: (typeof r.data === "string" ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
  }));
}

/**
 * Rebuilds pledges and status from the audit log alone. The tests hold it equal to the tables,
 * which is what makes the log a faithful history.
 */
export function replay(events: BountyEvent[]): {
  status: BountyStatus;
  pledges: Map<string, { amount: Amount; status: PledgeStatus; login: string }>;
} {
  let status: BountyStatus = "open";
  const pledges = new Map<string, { amount: Amount; status: PledgeStatus; login: string }>();
  const amountOf = (j: unknown): Amount => {
    const a = j as { currency: Currency; minor: string };
    return { currency: a.currency, minor: BigInt(a.minor) };
  };
  for (const e of events) {
    const d = e.data;
    switch (e.kind) {
      case "pledged":
        pledges.set(String(d.funder), { amount: amountOf(d.amount), status: "open", login: String(d.funder_login) });
        break;
      case "withdrawn": {
        const p = pledges.get(String(d.funder));
        if (p) p.status = "withdrawn";
        break;
      }
      case "cancelled":
        for (const k of d.funders as string[]) {
          const p = pledges.get(k);
          if (p) p.status = "cancelled";
        }
        break;
      case "status":
        status = d.status as BountyStatus;
        break;
      // Awarding takes the open pledges; cancelling an award (a revert) gives them back.
      case "awarded":
      case "award_cancelled": {
        const next: PledgeStatus = e.kind === "awarded" ? "awarded" : "open";
        for (const k of d.funders as string[]) {
          const p = pledges.get(k);
          if (p) p.status = next;
        }
        break;
      }
    }
  }
  return { status, pledges };
}

/** Card bookkeeping: lease so that one syncer at a time (across processes) edits a card. */
export async function leaseCard(db: Db, bountyId: bigint, seconds: number): Promise<Bounty | null> {
  const rows = await db.query<BountyRow>(
    `UPDATE bounties SET card_lease_until = now() + make_interval(secs => $2)
     WHERE id = $1 AND (card_lease_until IS NULL OR card_lease_until < now()) RETURNING *`,
    [bountyId, seconds],
  );
  return rows[0] ? toBounty(rows[0]) : null;
}

export async function recordCardSynced(
  db: Db,
  bountyId: bigint,
  v: { version: bigint; commentId: number; labelApplied: boolean },
): Promise<void> {
  await db.query(
    `UPDATE bounties SET card_synced_version = greatest(card_synced_version, $2), card_comment_id = $3,
       label_applied = $4 WHERE id = $1`,
    [bountyId, v.version, v.commentId, v.labelApplied],
  );
}

/**
 * Gives the lease back only if nothing changed since the version just shown; otherwise keeps it
 * and returns false so the holder edits again. No change is ever left unshown.
 */
export async function releaseCard(db: Db, bountyId: bigint): Promise<boolean> {
  const rows = await db.query(
    `UPDATE bounties SET card_lease_until = NULL
     WHERE id = $1 AND card_synced_version >= card_version RETURNING id`,
    [bountyId],
  );
  return rows.length === 1;
}

/** Drops the lease after a failure so that the sweeper can try again later. */
export async function abandonCard(db: Db, bountyId: bigint): Promise<void> {
  await db.query("UPDATE bounties SET card_lease_until = now() + interval '30 seconds' WHERE id = $1", [bountyId]);
}

export async function staleCards(db: Db, limit = 100): Promise<bigint[]> {
  const rows = await db.query<{ id: bigint }>(
    `SELECT id FROM bounties WHERE card_synced_version < card_version
       AND (card_lease_until IS NULL OR card_lease_until < now()) ORDER BY updated_at LIMIT $1`,
    [limit],
  );
  return rows.map((r) => BigInt(r.id));
}
