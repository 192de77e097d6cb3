import { splitTotals, TOTAL_BASIS_POINTS } from "../claims/award.js";
import { sameCurrencyTotals, type Amount, type Currency } from "../core/money.js";
import { fromJson, type Queryable } from "./db.js";
import { appendEvent, lockBountyById, touch, type Bounty, type BountyStatus, type Cause } from "./ledger.js";

/** Someone who gets a share of a bounty, by numeric GitHub id (logins can be renamed). */
export interface Recipient {
  id: number;
  login: string;
  /** Share in basis points; a list of recipients sums to 10000. */
  bps: number;
}

/** The config payout.unclaimed at the time of the award. */
export interface CharitySnapshot {
  id: string;
  name: string;
  address: string;
}

/** The repository's terms an award is made on. */
export interface AwardTerms {
  holdMs: number;
  unclaimed: CharitySnapshot | null;
}

export type ClaimState = "pending" | "awarded" | "reverted";

/** A merged pull request that says it closes an issue. */
export interface Claim {
  id: bigint;
  installationId: number;
  repoId: number;
  issueNumber: number;
  prRepoId: number;
  prOwner: string;
  prRepo: string;
  prNumber: number;
  prTitle: string;
  mergeSha: string | null;
  mergedAt: Date;
  recipients: Recipient[];
  state: ClaimState;
}

export type AwardState = "held" | "credited" | "cancelled";

/** One recipient's share of a bounty. */
export interface Award {
  id: bigint;
  bountyId: bigint;
  recipientId: number;
  recipientLogin: string;
  shareBps: number;
  amounts: Amount[];
  source: "merge" | "command";
  claimId: bigint | null;
  pr: { owner: string; repo: string; number: number } | null;
  holdUntil: Date;
  state: AwardState;
  cancelReason: string | null;
  sats: bigint | null;
  pricedAt: Date | null;
  unclaimedCharity: CharitySnapshot | null;
  payoutId: bigint | null;
}

/** An award with where its money went, as the card shows it. */
export interface AwardView extends Award {
  payout: {
    state: "awaiting_approval" | "queued" | "signed" | "broadcast" | "confirmed";
    payeeKind: "user" | "charity";
    charityName: string | null;
    txid: string | null;
  } | null;
}

export type AwardOrigin = { source: "merge"; claim: Claim } | { source: "command" };

/** Amounts as stored in jsonb ([{"currency": "USD", "minor": "500"}]). */
export const amountsFromJson = (v: unknown): Amount[] =>
  fromJson<Array<{ currency: Currency; minor: string }>>(v).map((a) => ({ currency: a.currency, minor: BigInt(a.minor) }));
const amountJson = (a: Amount) => ({ currency: a.currency, minor: a.minor.toString() });

type ClaimRow = {
  id: bigint;
  installation_id: bigint;
  repo_id: bigint;
  issue_number: number;
  pr_repo_id: bigint;
  pr_owner: string;
  pr_repo: string;
  pr_number: number;
  pr_title: string;
  merge_sha: string | null;
  merged_at: Date;
  recipients: unknown;
  state: ClaimState;
};

const toClaim = (r: ClaimRow): Claim => ({
  id: BigInt(r.id),
  installationId: Number(r.installation_id),
  repoId: Number(r.repo_id),
  issueNumber: Number(r.issue_number),
  prRepoId: Number(r.pr_repo_id),
  prOwner: r.pr_owner,
  prRepo: r.pr_repo,
  prNumber: Number(r.pr_number),
  prTitle: r.pr_title,
  mergeSha: r.merge_sha,
  mergedAt: new Date(r.merged_at),
  recipients: fromJson<Recipient[]>(r.recipients),
  state: r.state,
});

type AwardRow = {
  id: bigint;
  bounty_id: bigint;
  recipient_id: bigint;
  recipient_login: string;
  share_bps: number;
  amounts: unknown;
  source: "merge" | "command";
  claim_id: bigint | null;
  pr_owner: string | null;
  pr_repo: string | null;
  pr_number: number | null;
  hold_until: Date;
  state: AwardState;
  cancel_reason: string | null;
  sats: bigint | null;
  priced_at: Date | null;
  unclaimed_charity: unknown;
  payout_id: bigint | null;
};

const toAward = (r: AwardRow): Award => ({
  id: BigInt(r.id),
  bountyId: BigInt(r.bounty_id),
  recipientId: Number(r.recipient_id),
  recipientLogin: r.recipient_login,
  shareBps: Number(r.share_bps),
  amounts: amountsFromJson(r.amounts),
  source: r.source,
  claimId: r.claim_id === null ? null : BigInt(r.claim_id),
  pr: r.pr_number === null ? null : { owner: r.pr_owner!, repo: r.pr_repo!, number: Number(r.pr_number) },
  holdUntil: new Date(r.hold_until),
  state: r.state,
  cancelReason: r.cancel_reason,
  sats: r.sats === null ? null : BigInt(r.sats),
  pricedAt: r.priced_at === null ? null : new Date(r.priced_at),
  unclaimedCharity: r.unclaimed_charity === null ? null : fromJson<CharitySnapshot>(r.unclaimed_charity),
  payoutId: r.payout_id === null ? null : BigInt(r.payout_id),
});

// ---------------------------------------------------------------------------
// Claims

/**
 * Records that a merged PR closes an issue. A second delivery for the same PR and issue changes
 * nothing and returns the claim recorded first.
 */
export async function recordClaim(
  tx: Queryable,
  c: Omit<Claim, "id" | "state">,
  deliveryId: string | null,
): Promise<Claim> {
  checkRecipients(c.recipients);
  const inserted = await tx.query<ClaimRow>(
    `INSERT INTO claims (installation_id, repo_id, issue_number, pr_repo_id, pr_owner, pr_repo, pr_number, pr_title,
                         merge_sha, merged_at, recipients, delivery_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (repo_id, issue_number, pr_repo_id, pr_number) DO NOTHING RETURNING *`,
    [
      c.installationId,
      c.repoId,
      c.issueNumber,
      c.prRepoId,
      c.prOwner,
      c.prRepo,
      c.prNumber,
      c.prTitle,
      c.mergeSha,
      c.mergedAt,
      JSON.stringify(c.recipients),
      deliveryId,
    ],
  );
  if (inserted[0]) return toClaim(inserted[0]);
  const rows = await tx.query<ClaimRow>(
    "SELECT * FROM claims WHERE repo_id = $1 AND issue_number = $2 AND pr_repo_id = $3 AND pr_number = $4",
    [c.repoId, c.issueNumber, c.prRepoId, c.prNumber],
  );
  return toClaim(rows[0]!);
}

/** Claims on an issue still waiting for an award, the earliest merge first. */
export async function pendingClaims(db: Queryable, repoId: number, issueNumber: number): Promise<Claim[]> {
  const rows = await db.query<ClaimRow>(
    "SELECT * FROM claims WHERE repo_id = $1 AND issue_number = $2 AND state = 'pending' ORDER BY merged_at, id",
    [repoId, issueNumber],
  );
  return rows.map(toClaim);
}

/** Every claim a pull request made (one per issue it closes). */
export async function claimsOfPull(
  db: Queryable,
  pr: { owner: string; repo: string; number: number },
): Promise<Claim[]> {
  const rows = await db.query<ClaimRow>(
    `SELECT * FROM claims WHERE lower(pr_owner) = lower($1) AND lower(pr_repo) = lower($2) AND pr_number = $3
     ORDER BY id`,
    [pr.owner, pr.repo, pr.number],
  );
  return rows.map(toClaim);
}

/** Claims by merged PRs of a repository with exactly this title (for `Revert "<title>"` naming no PR). */
export async function claimsByTitle(db: Queryable, prRepoId: number, title: string): Promise<Claim[]> {
  const rows = await db.query<ClaimRow>("SELECT * FROM claims WHERE pr_repo_id = $1 AND pr_title = $2 ORDER BY id", [
    prRepoId,
    title,
  ]);
  return rows.map(toClaim);
}

async function setClaimState(tx: Queryable, claimId: bigint, state: ClaimState): Promise<void> {
  await tx.query("UPDATE claims SET state = $2 WHERE id = $1", [claimId, state]);
}

/** Marks a claim that was never awarded as reverted, so that closing its issue later awards nothing. */
export async function revertPendingClaim(tx: Queryable, claim: Claim): Promise<boolean> {
  const rows = await tx.query("UPDATE claims SET state = 'reverted' WHERE id = $1 AND state = 'pending' RETURNING id", [
    claim.id,
  ]);
  return rows.length === 1;
}

// ---------------------------------------------------------------------------
// Awarding

function checkRecipients(recipients: readonly Recipient[]): void {
  if (recipients.length === 0) throw new Error("an award needs at least one recipient");
  const ids = new Set(recipients.map((r) => r.id));
  if (ids.size !== recipients.length) throw new Error("a recipient is named twice");
  const sum = recipients.reduce((s, r) => s + r.bps, 0);
  if (sum !== TOTAL_BASIS_POINTS || recipients.some((r) => !Number.isInteger(r.bps) || r.bps <= 0)) {
    throw new Error(`recipient shares must be positive and sum to ${TOTAL_BASIS_POINTS} basis points, not ${sum}`);
  }
}

/** One row per recipient with something to receive, all with the same hold. */
async function insertAwards(
  tx: Queryable,
  bountyId: bigint,
  recipients: readonly Recipient[],
  totals: readonly Amount[],
  terms: AwardTerms,
  origin: AwardOrigin,
): Promise<Award[]> {
  const parts = splitTotals(totals, recipients.map((r) => r.bps));
  const claim = origin.source === "merge" ? origin.claim : null;
  const out: Award[] = [];
  for (const [i, r] of recipients.entries()) {
    // A share too small to be worth a cent of any currency pledged: nothing to pay.
    if (parts[i]!.length === 0) continue;
    const rows = await tx.query<AwardRow>(
      `INSERT INTO awards (bounty_id, recipient_id, recipient_login, share_bps, amounts, source, claim_id,
                           pr_owner, pr_repo, pr_number, hold_until, unclaimed_charity)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + ($11::bigint * interval '1 millisecond'), $12)
       RETURNING *`,
      [
        bountyId,
        r.id,
        r.login,
        r.bps,
        JSON.stringify(parts[i]!.map(amountJson)),
        origin.source,
        claim?.id ?? null,
        claim?.prOwner ?? null,
        claim?.prRepo ?? null,
        claim?.prNumber ?? null,
        Math.max(0, Math.round(terms.holdMs)),
        terms.unclaimed ? JSON.stringify(terms.unclaimed) : null,
      ],
    );
    out.push(toAward(rows[0]!));
  }
  return out;
}

async function setStatus(tx: Queryable, bounty: Bounty, status: BountyStatus, reason: string | null, cause: Cause) {
  if (bounty.status === status && bounty.statusReason === reason) return;
  await tx.query("UPDATE bounties SET status = $2, status_reason = $3 WHERE id = $1", [bounty.id, status, reason]);
  await appendEvent(tx, { bountyId: bounty.id, kind: "status", data: { status, reason }, cause });
}

function awardedEvent(awards: Award[], extra: Record<string, unknown>): Record<string, unknown> {
  return {
    ...extra,
    awards: awards.map((a) => ({
      id: a.id.toString(),
      recipient_id: a.recipientId,
      recipient_login: a.recipientLogin,
      share_bps: a.shareBps,
      amounts: a.amounts.map(amountJson),
      hold_until: a.holdUntil.toISOString(),
    })),
  };
}

/**
 * Awards every open pledge of a (locked) bounty to the recipients: each currency's total is split
 * by their shares, one award row per recipient is held for `terms.holdMs`, the pledges and the
 * bounty become 'awarded'. With no open pledge it does nothing and returns [], which is what
 * makes a redelivered webhook harmless.
 */
export async function awardBounty(
  tx: Queryable,
  bounty: Bounty,
  recipients: readonly Recipient[],
  terms: AwardTerms,
  origin: AwardOrigin,
  cause: Cause,
): Promise<Award[]> {
  checkRecipients(recipients);
  const taken = await tx.query<{ funder_key: string; currency: Currency; amount_minor: bigint }>(
    `UPDATE pledges SET status = 'awarded', updated_at = now()
     WHERE bounty_id = $1 AND status = 'open' RETURNING funder_key, currency, amount_minor`,
    [bounty.id],
  );
  if (taken.length === 0) return [];
  const totals = sameCurrencyTotals(taken.map((p) => ({ currency: p.currency, minor: BigInt(p.amount_minor) })));
  const awards = await insertAwards(tx, bounty.id, recipients, totals, terms, origin);
  if (origin.source === "merge") await setClaimState(tx, origin.claim.id, "awarded");
  await appendEvent(tx, {
    bountyId: bounty.id,
    kind: "awarded",
    data: awardedEvent(awards, {
      source: origin.source,
      claim_id: origin.source === "merge" ? origin.claim.id.toString() : null,
      pr: origin.source === "merge" ? `${origin.claim.prOwner}/${origin.claim.prRepo}#${origin.claim.prNumber}` : null,
      funders: taken.map((p) => p.funder_key).sort(),
      totals: totals.map(amountJson),
      unclaimed_charity: terms.unclaimed?.id ?? null,
    }),
    cause,
  });
  await setStatus(tx, bounty, "awarded", null, cause);
  await touch(tx, bounty.id);
  return awards;
}

/**
 * The issue was closed as completed and a merged PR claims it: award the (locked) bounty to the
 * earliest pending claim. Returns the awards, or [] when there is nothing to award yet.
 */
export async function awardPendingClaim(tx: Queryable, bounty: Bounty, terms: AwardTerms, cause: Cause): Promise<Award[]> {
  if (bounty.issueState !== "completed") return [];
  const [claim] = await pendingClaims(tx, bounty.repoId, bounty.issueNumber);
  if (!claim) return [];
  return awardBounty(tx, bounty, claim.recipients, terms, { source: "merge", claim }, cause);
}

/** The live (not cancelled) awards of a bounty, locked. */
async function lockLiveAwards(tx: Queryable, where: { bountyId: bigint } | { claimId: bigint }): Promise<Award[]> {
  const [col, val] = "bountyId" in where ? ["bounty_id", where.bountyId] : ["claim_id", where.claimId];
  const rows = await tx.query<AwardRow>(
    `SELECT * FROM awards WHERE ${col} = $1 AND state <> 'cancelled' ORDER BY id FOR UPDATE`,
    [val],
  );
  return rows.map(toAward);
}

export type CommandAward =
  | { ok: true; awards: Award[]; replaced: Award[] }
  | { ok: false; why: "nothing" | "paid"; awards: Award[] };

/**
 * `/award`: a funder says who gets the (locked) bounty. Open pledges are awarded now; awards that
 * are all still held (not yet credited) are replaced, the old ones cancelled with `reason`. Once
 * any award is credited or in a payout, nothing changes.
 */
export async function awardByCommand(
  tx: Queryable,
  bounty: Bounty,
  recipients: readonly Recipient[],
  terms: AwardTerms,
  reason: string,
  cause: Cause,
): Promise<CommandAward> {
  checkRecipients(recipients);
  const live = await lockLiveAwards(tx, { bountyId: bounty.id });
  if (live.some((a) => a.state !== "held" || a.payoutId !== null)) return { ok: false, why: "paid", awards: live };
  if (live.length === 0) {
    const awards = await awardBounty(tx, bounty, recipients, terms, { source: "command" }, cause);
    return awards.length ? { ok: true, awards, replaced: [] } : { ok: false, why: "nothing", awards: [] };
  }
  await tx.query(
    `UPDATE awards SET state = 'cancelled', cancel_reason = $2, updated_at = now() WHERE id = ANY($1::bigint[])`,
    [live.map((a) => a.id.toString()), reason],
  );
  const pledged = await tx.query<{ currency: Currency; amount_minor: bigint }>(
    "SELECT currency, amount_minor FROM pledges WHERE bounty_id = $1 AND status = 'awarded'",
    [bounty.id],
  );
  const totals = sameCurrencyTotals(pledged.map((p) => ({ currency: p.currency, minor: BigInt(p.amount_minor) })));
  const awards = await insertAwards(tx, bounty.id, recipients, totals, terms, { source: "command" });
  await appendEvent(tx, {
    bountyId: bounty.id,
    kind: "award_replaced",
    data: awardedEvent(awards, { replaced: live.map((a) => a.id.toString()), reason, totals: totals.map(amountJson) }),
    cause,
  });
  await setStatus(tx, bounty, "awarded", null, cause);
  await touch(tx, bounty.id);
  return { ok: true, awards, replaced: live };
}

export type RevertOutcome =
  /** The claim's awards were still in their hold: cancelled, pledges and bounty open again. */
  | { kind: "cancelled"; bounty: Bounty; awards: Award[] }
  /** Too late: at least one award is past its hold, credited or paid. Nothing changed. */
  | { kind: "late"; bounty: Bounty; awards: Award[] }
  /** The claim had no live award (it was pending, or its awards were replaced or cancelled). */
  | { kind: "none" };

/**
 * A merged PR that claimed an issue was reverted. A pending claim will never be awarded. Awards
 * still within their hold are cancelled (`reason(awards).award` on each), the bounty's pledges
 * are open again and its status line says `reason(awards).status`. An award past its hold is
 * left alone: its money may already be out.
 */
export async function revertClaim(
  tx: Queryable,
  claim: Claim,
  reason: (awards: Award[]) => { award: string; status: string },
  cause: Cause,
): Promise<RevertOutcome> {
  if (await revertPendingClaim(tx, claim)) return { kind: "none" };
  const found = await tx.query<{ id: bigint }>("SELECT id FROM bounties WHERE repo_id = $1 AND issue_number = $2", [
    claim.repoId,
    claim.issueNumber,
  ]);
  if (!found[0]) return { kind: "none" };
  const bounty = await lockBountyById(tx, BigInt(found[0].id));
  const live = await lockLiveAwards(tx, { claimId: claim.id });
  if (live.length === 0) {
    await setClaimState(tx, claim.id, "reverted");
    return { kind: "none" };
  }
  const [check] = await tx.query<{ held: boolean }>(
    `SELECT bool_and(state = 'held' AND payout_id IS NULL AND hold_until > now()) AS held
     FROM awards WHERE id = ANY($1::bigint[])`,
    [live.map((a) => a.id.toString())],
  );
  if (!check!.held) return { kind: "late", bounty, awards: live };

  const why = reason(live);
  await tx.query(
    `UPDATE awards SET state = 'cancelled', cancel_reason = $2, updated_at = now() WHERE id = ANY($1::bigint[])`,
    [live.map((a) => a.id.toString()), why.award],
  );
  // Other live awards on the bounty (none, normally) keep their pledges.
  const others = await lockLiveAwards(tx, { bountyId: bounty.id });
  const reopened =
    others.length > 0
      ? []
      : await tx.query<{ funder_key: string }>(
          `UPDATE pledges SET status = 'open', updated_at = now()
           WHERE bounty_id = $1 AND status = 'awarded' RETURNING funder_key`,
          [bounty.id],
        );
  await setClaimState(tx, claim.id, "reverted");
  await appendEvent(tx, {
    bountyId: bounty.id,
    kind: "award_cancelled",
    data: {
      awards: live.map((a) => a.id.toString()),
      claim_id: claim.id.toString(),
      funders: reopened.map((p) => p.funder_key).sort(),
      reason: why.award,
    },
    cause,
  });
  if (reopened.length > 0) await setStatus(tx, bounty, "open", why.status, cause);
  await touch(tx, bounty.id);
  return { kind: "cancelled", bounty, awards: live };
}

// ---------------------------------------------------------------------------
// Reading, and what the payout runner calls

export async function listAwards(db: Queryable, bountyId: bigint): Promise<Award[]> {
  const rows = await db.query<AwardRow>("SELECT * FROM awards WHERE bounty_id = $1 ORDER BY id", [bountyId]);
  return rows.map(toAward);
}

/** A bounty's awards with their payout and its transaction, for the card. */
export async function listAwardViews(db: Queryable, bountyId: bigint): Promise<AwardView[]> {
  const rows = await db.query<
    AwardRow & {
      payout_state: NonNullable<AwardView["payout"]>["state"] | null;
      payee_kind: "user" | "charity" | null;
      charity_name: string | null;
      txid: string | null;
    }
  >(
    `SELECT a.*, p.state AS payout_state, p.payee_kind, p.charity_name, t.txid
     FROM awards a LEFT JOIN payouts p ON p.id = a.payout_id LEFT JOIN payout_txs t ON t.id = p.tx_id
     WHERE a.bounty_id = $1 ORDER BY a.id`,
    [bountyId],
  );
  return rows.map((r) => ({
    ...toAward(r),
    payout:
      r.payout_state === null
        ? null
        : { state: r.payout_state, payeeKind: r.payee_kind!, charityName: r.charity_name, txid: r.txid },
  }));
}

/**
 * For the payout runner: after it credits awards or moves payouts, call this in the same
 * transaction. It bumps the cards of the bounties concerned (the card syncer then shows the new
 * state) and moves each bounty between 'awarded', 'paid' (every live award's payout broadcast)
 * and 'confirmed' (every one confirmed). Returns the bounty ids, for CardSyncer.kick.
 */
export async function refreshBounties(
  tx: Queryable,
  of: { awardIds?: bigint[]; payoutIds?: bigint[] },
  cause: Cause,
): Promise<bigint[]> {
  const rows = await tx.query<{ bounty_id: bigint }>(
    `SELECT DISTINCT bounty_id FROM awards WHERE id = ANY($1::bigint[]) OR payout_id = ANY($2::bigint[]) ORDER BY bounty_id`,
    [(of.awardIds ?? []).map(String), (of.payoutIds ?? []).map(String)],
  );
  const ids = rows.map((r) => BigInt(r.bounty_id));
  for (const id of ids) {
    const bounty = await lockBountyById(tx, id);
    if (bounty.status === "awarded" || bounty.status === "paid" || bounty.status === "confirmed") {
      const [s] = await tx.query<{ live: bigint; sent: bigint; confirmed: bigint }>(
        `SELECT count(*) AS live,
                count(*) FILTER (WHERE p.state IN ('broadcast', 'confirmed')) AS sent,
                count(*) FILTER (WHERE p.state = 'confirmed') AS confirmed
         FROM awards a LEFT JOIN payouts p ON p.id = a.payout_id
         WHERE a.bounty_id = $1 AND a.state <> 'cancelled'`,
        [id],
      );
      const live = Number(s!.live);
      const next: BountyStatus =
        live > 0 && Number(s!.confirmed) === live ? "confirmed" : live > 0 && Number(s!.sent) === live ? "paid" : "awarded";
      await setStatus(tx, bounty, next, null, cause);
    }
    await touch(tx, id);
  }
  return ids;
}
