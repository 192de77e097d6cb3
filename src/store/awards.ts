import { awardParts, splitTotals, TOTAL_BASIS_POINTS, type BackedPledge, type BackedPart } from "../claims/award.js";
import { chooseClaim, isWaitStatus, waitStatus, waitText, type Closer, type WaitReason } from "../claims/closer.js";
import { approvalNeeded, type Pledger } from "../core/approval.js";
import { sameCurrencyTotals, type Amount, type Currency } from "../core/money.js";
import { accountFromKey, fundsOf, type AccountSpec } from "../ledger/rules.js";
import { fromJson, type Db, type Queryable } from "./db.js";
import {
  appendEvent,
  hasOpenPledges,
  lockBountyById,
  pledgeEscrow,
  returnBacked,
  touch,
  type BackedRow,
  type Bounty,
  type BountyStatus,
  type Cause,
  type IssueState,
} from "./bounties.js";
import { escrowSlots } from "./escrow.js";
import { LedgerRefusal, mustTransfer, postPending } from "./ledger.js";

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

/** 'dropped': the issue was closed as not planned, or reopened after the claim's merge. */
export type ClaimState = "pending" | "awarded" | "reverted" | "dropped";

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
  /** Self-dealing: 'needed' until an operator approves (`bounty-bot awards approve`); null when not needed. */
  approval: AwardApproval | null;
  /** Why it needs approval: "@bob pledged on this bounty". */
  approvalReason: string | null;
  approvedBy: string | null;
  approvedAt: Date | null;
  /** Its parts of backed pledges (also in `amounts`, in BTC): passed on from their escrows when it is credited. */
  backed?: BackedPart[];
}

export type AwardApproval = "needed" | "approved";

/** An award with where its money went, as the card shows it. */
export interface AwardView extends Award {
  payout: {
    state: "awaiting_approval" | "queued" | "signed" | "broadcast" | "confirmed";
    payeeKind: "user" | "charity";
    charityName: string | null;
    txid: string | null;
  } | null;
  /** A payout run could not price it (prices missing or disputed): `award_price_wait` is in the audit log. */
  priceWait: boolean;
  /** The recipient's balance: every credited award of theirs not yet in a payout (null when none is). */
  balanceSats: bigint | null;
  /** Where the recipient's payouts go, as far as the minimum goes; null when they linked no wallet. */
  wallet: { kind: "address" | "charity"; addressType: string; charityName: string | null } | null;
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
  approval: AwardApproval | null;
  approval_reason: string | null;
  approved_by: string | null;
  approved_at: Date | null;
  backed: unknown;
};

export const backedFromJson = (v: unknown): BackedPart[] =>
  (fromJson<Array<{ pledge: string; escrow: string; backer: number; sats: string }> | null>(v) ?? []).map((b) => ({
    pledgeId: BigInt(b.pledge),
    escrow: b.escrow,
    backerId: Number(b.backer),
    sats: BigInt(b.sats),
  }));
const backedJson = (b: BackedPart) => ({ pledge: b.pledgeId.toString(), escrow: b.escrow, backer: b.backerId, sats: b.sats.toString() });

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
  approval: r.approval,
  approvalReason: r.approval_reason,
  approvedBy: r.approved_by,
  approvedAt: r.approved_at === null ? null : new Date(r.approved_at),
  backed: backedFromJson(r.backed),
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

/**
 * The claims on an issue that count: still waiting for an award, and merged since the issue was
 * last opened (a merge before a reopening did not close it this time). The earliest merge first.
 */
export async function pendingClaims(db: Queryable, repoId: number, issueNumber: number): Promise<Claim[]> {
  const rows = await db.query<ClaimRow>(
    `SELECT c.* FROM claims c
     LEFT JOIN issue_openings o ON o.repo_id = c.repo_id AND o.issue_number = c.issue_number
     WHERE c.repo_id = $1 AND c.issue_number = $2 AND c.state = 'pending'
       AND (o.opened_at IS NULL OR c.merged_at >= o.opened_at)
     ORDER BY c.merged_at, c.id`,
    [repoId, issueNumber],
  );
  return rows.map(toClaim);
}

/**
 * The issue was (re)opened at `at` (GitHub's time): remembered, the latest opening winning
 * whatever order the webhooks come in. Returns when the issue was last opened.
 */
export async function recordOpening(tx: Queryable, repoId: number, issueNumber: number, at: Date): Promise<Date> {
  const rows = await tx.query<{ opened_at: Date }>(
    `INSERT INTO issue_openings (repo_id, issue_number, opened_at) VALUES ($1, $2, $3)
     ON CONFLICT (repo_id, issue_number) DO UPDATE SET opened_at = GREATEST(issue_openings.opened_at, EXCLUDED.opened_at)
     RETURNING opened_at`,
    [repoId, issueNumber, at],
  );
  return new Date(rows[0]!.opened_at);
}

/**
 * Drops an issue's pending claims (all of them, or those merged before `mergedBefore`): they will
 * never be awarded. One 'claims_dropped' event says which and why (on the bounty, if there is one).
 */
export async function dropPendingClaims(
  tx: Queryable,
  issue: { repoId: number; issueNumber: number; bountyId: bigint | null },
  mergedBefore: Date | null,
  reason: string,
  cause: Cause,
): Promise<Claim[]> {
  const rows = await tx.query<ClaimRow>(
    `UPDATE claims SET state = 'dropped'
     WHERE repo_id = $1 AND issue_number = $2 AND state = 'pending' AND ($3::timestamptz IS NULL OR merged_at < $3)
     RETURNING *`,
    [issue.repoId, issue.issueNumber, mergedBefore],
  );
  const dropped = rows.map(toClaim).sort((a, b) => (a.id < b.id ? -1 : 1));
  if (dropped.length > 0) {
    await appendEvent(tx, {
      bountyId: issue.bountyId,
      kind: "claims_dropped",
      data: {
        repo_id: issue.repoId,
        issue_number: issue.issueNumber,
        claims: dropped.map((c) => ({ id: c.id.toString(), pr: `${c.prOwner}/${c.prRepo}#${c.prNumber}` })),
        reason,
      },
      cause,
    });
  }
  return dropped;
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

/**
 * Everyone whose money is in the bounty's live (open or awarded) pledges: the funder of a person's
 * pledge, and whoever added the label of a label pledge (the actor of its latest 'pledged' event).
 */
async function pledgersOf(tx: Queryable, bountyId: bigint): Promise<Pledger[]> {
  const rows = await tx.query<{
    funder_key: string;
    funder_id: bigint | null;
    funder_login: string;
    actor_id: bigint | null;
    actor_login: string | null;
  }>(
    `SELECT p.funder_key, p.funder_id, p.funder_login, e.actor_id, e.actor_login
     FROM pledges p
     LEFT JOIN LATERAL (
       SELECT actor_id, actor_login FROM events
       WHERE bounty_id = p.bounty_id AND kind = 'pledged' AND data->>'funder' = p.funder_key
       ORDER BY id DESC LIMIT 1) e ON true
     WHERE p.bounty_id = $1 AND p.status IN ('open', 'awarded')`,
    [bountyId],
  );
  const out: Pledger[] = [];
  for (const r of rows) {
    if (r.funder_id !== null) out.push({ id: Number(r.funder_id), login: r.funder_login, label: null });
    if (r.actor_id !== null && r.actor_id !== r.funder_id) {
      const label = r.funder_key.startsWith("label:") ? r.funder_key.slice("label:".length) : null;
      out.push({ id: Number(r.actor_id), login: r.actor_login ?? "", label });
    }
  }
  return out;
}

/**
 * One row per recipient with something to receive, all with the same hold. A recipient whose
 * money is in the bounty, or who made the award, gets an award that needs an operator's approval.
 */
async function insertAwards(
  tx: Queryable,
  bountyId: bigint,
  recipients: readonly Recipient[],
  pledged: AwardedPledges,
  terms: AwardTerms,
  origin: AwardOrigin,
  cause: Cause,
): Promise<Award[]> {
  const parts = awardParts(pledged.totals, pledged.backed, recipients.map((r) => r.bps));
  const claim = origin.source === "merge" ? origin.claim : null;
  const pledgers = await pledgersOf(tx, bountyId);
  const awarderId = origin.source === "command" ? cause.actor.id : null;
  const out: Award[] = [];
  for (const [i, r] of recipients.entries()) {
    // A share too small to be worth a cent of any currency pledged: nothing to pay.
    if (parts[i]!.amounts.length === 0) continue;
    const why = approvalNeeded(r, { pledgers, awarderId });
    const rows = await tx.query<AwardRow>(
      `INSERT INTO awards (bounty_id, recipient_id, recipient_login, share_bps, amounts, source, claim_id,
                           pr_owner, pr_repo, pr_number, hold_until, unclaimed_charity, approval, approval_reason, backed)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + ($11::bigint * interval '1 millisecond'), $12, $13, $14, $15)
       RETURNING *`,
      [
        bountyId,
        r.id,
        r.login,
        r.bps,
        JSON.stringify(parts[i]!.amounts.map(amountJson)),
        origin.source,
        claim?.id ?? null,
        claim?.prOwner ?? null,
        claim?.prRepo ?? null,
        claim?.prNumber ?? null,
        Math.max(0, Math.round(terms.holdMs)),
        terms.unclaimed ? JSON.stringify(terms.unclaimed) : null,
        why === null ? null : "needed",
        why,
        JSON.stringify(parts[i]!.backed.map(backedJson)),
      ],
    );
    out.push(toAward(rows[0]!));
  }
  return out;
}

/** After the award's own event: one audit event per award that waits for an operator. */
async function logApprovalsNeeded(tx: Queryable, awards: readonly Award[], cause: Cause): Promise<void> {
  for (const a of awards.filter((x) => x.approval === "needed")) {
    await appendEvent(tx, {
      bountyId: a.bountyId,
      userId: a.recipientId,
      kind: "award_needs_approval",
      data: { award_id: a.id.toString(), recipient_id: a.recipientId, recipient_login: a.recipientLogin, reason: a.approvalReason },
      cause,
    });
  }
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
      approval: a.approval,
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
  const taken = await tx.query<PledgeRow>(
    `UPDATE pledges SET status = 'awarded', updated_at = now()
     WHERE bounty_id = $1 AND status = 'open' RETURNING ${PLEDGE_COLUMNS}`,
    [bounty.id],
  );
  if (taken.length === 0) return [];
  const pledged = awardedPledges(taken);
  const totals = pledged.totals;
  const awards = await insertAwards(tx, bounty.id, recipients, pledged, terms, origin, cause);
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
      backed: pledged.backed.map((b) => ({ pledge: b.pledgeId.toString(), escrow: b.escrow, sats: b.sats.toString() })),
      unclaimed_charity: terms.unclaimed?.id ?? null,
    }),
    cause,
  });
  await logApprovalsNeeded(tx, awards, cause);
  await setStatus(tx, bounty, "awarded", null, cause);
  await touch(tx, bounty.id);
  return awards;
}

/** What awardPendingClaim did: awarded a claim, or left the bounty waiting for a funder's `/award`. */
export interface PendingAward {
  awards: Award[];
  waiting: { why: WaitReason; claims: Claim[]; text: string } | null;
}

/**
 * The issue was closed as completed: award the (locked) bounty to the claim chooseClaim picks
 * from the counted claims (see pendingClaims) and what GitHub says closed the issue. When the
 * choice is to wait, nothing is awarded and the bounty's status line (the card) says why and
 * asks a funder to `/award`. Nothing happens while the issue is not completed or nothing is open.
 */
export async function awardPendingClaim(
  tx: Queryable,
  bounty: Bounty,
  terms: AwardTerms,
  closer: Closer,
  cause: Cause,
): Promise<PendingAward> {
  const none: PendingAward = { awards: [], waiting: null };
  if (bounty.issueState !== "completed" || !(await hasOpenPledges(tx, bounty.id))) return none;
  const choice = chooseClaim(await pendingClaims(tx, bounty.repoId, bounty.issueNumber), closer);
  if (choice.kind === "none") return none;
  if (choice.kind === "award") {
    const awards = await awardBounty(tx, bounty, choice.claim.recipients, terms, { source: "merge", claim: choice.claim }, cause);
    return { awards, waiting: null };
  }
  const text = waitText(bounty.repoId, choice.why, choice.claims, closer);
  if (bounty.status !== "open" || bounty.statusReason !== waitStatus(text)) {
    await setStatus(tx, bounty, "open", waitStatus(text), cause);
    await touch(tx, bounty.id);
  }
  return { awards: [], waiting: { why: choice.why, claims: choice.claims, text } };
}

/** The issue was reopened: a (locked) bounty's "no award yet" status from its last close is cleared. Returns whether it was. */
export async function clearWaitStatus(tx: Queryable, bounty: Bounty, cause: Cause): Promise<boolean> {
  if (bounty.status !== "open" || !isWaitStatus(bounty.statusReason)) return false;
  await setStatus(tx, bounty, "open", null, cause);
  await touch(tx, bounty.id);
  return true;
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
  const pledged = awardedPledges(
    await tx.query<PledgeRow>(`SELECT ${PLEDGE_COLUMNS} FROM pledges WHERE bounty_id = $1 AND status = 'awarded' ORDER BY id`, [bounty.id]),
  );
  const totals = pledged.totals;
  const awards = await insertAwards(tx, bounty.id, recipients, pledged, terms, { source: "command" }, cause);
  await appendEvent(tx, {
    bountyId: bounty.id,
    kind: "award_replaced",
    data: awardedEvent(awards, { replaced: live.map((a) => a.id.toString()), reason, totals: totals.map(amountJson) }),
    cause,
  });
  await logApprovalsNeeded(tx, awards, cause);
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
  // Their parts of backed pledges stay in escrow for the pledges reopened; when the pledges stay
  // awarded (to the other awards), the cancelled awards' parts go back to the backers.
  if (others.length > 0) await returnAwardsBacked(tx, live);
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
// Backed pledges

const PLEDGE_COLUMNS = "id, funder_key, funder_id, currency, amount_minor, backed_sats, backed_version";
type PledgeRow = BackedRow & { funder_key: string; funder_id: bigint | null; currency: Currency; amount_minor: bigint };

/** What awarded pledges give: the treasury's totals per currency (priced at credit), and the backed pledges' fixed sats. */
interface AwardedPledges {
  totals: Amount[];
  backed: BackedPledge[];
}

function awardedPledges(rows: readonly PledgeRow[]): AwardedPledges {
  const treasury = rows.filter((p) => p.backed_sats === null);
  const backed = rows
    .filter((p) => p.backed_sats !== null)
    .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
    .map((p) => ({
      pledgeId: BigInt(p.id),
      escrow: pledgeEscrow(BigInt(p.id), Number(p.backed_version)).key,
      backerId: Number(p.funder_id),
      sats: BigInt(p.backed_sats!),
    }));
  return { totals: sameCurrencyTotals(treasury.map((p) => ({ currency: p.currency, minor: BigInt(p.amount_minor) }))), backed };
}

/**
 * Passes `sats` of a backed pledge's escrow on to `to`. The escrow's pending legs are posted
 * (whole) the first time any part of it is passed on; each part is then its own transfer out of
 * the escrow account, under its own key, so the awards of one bounty are settled one by one, and
 * a retry moves nothing twice. Refused when the escrow was returned.
 */
export async function passOnBacked(
  tx: Queryable,
  part: Pick<BackedPart, "escrow" | "sats">,
  to: AccountSpec,
  key: string,
  ref: Record<string, string>,
): Promise<void> {
  const escrow = accountFromKey(part.escrow);
  if (!escrow || escrow.kind !== "escrow") throw new LedgerRefusal(`${part.escrow} is not an escrow account`);
  const [slot] = await escrowSlots(tx, escrow.key);
  if (!slot) throw new LedgerRefusal(`escrow ${escrow.key} holds nothing`);
  if (slot.legs.some((l) => l.state === "voided")) throw new LedgerRefusal(`escrow ${escrow.key} was returned to its backer`);
  for (const leg of slot.legs) {
    if (leg.state !== "pending") continue;
    const r = await postPending(tx, leg.key, { key: `${leg.key}:post`, ref: { ...ref, escrow: escrow.key } });
    if (!r.ok) throw new LedgerRefusal(r.reason);
  }
  await mustTransfer(tx, { key, debit: escrow, credit: to, sats: part.sats, kind: "escrow_release", ref: { ...ref, escrow: escrow.key } });
}

/** Awards cancelled while their pledges stay awarded to others: their parts of backed pledges go back to the backers' funds. */
async function returnAwardsBacked(tx: Queryable, awards: readonly Award[]): Promise<void> {
  for (const a of awards) {
    for (const b of a.backed ?? []) {
      await passOnBacked(tx, b, fundsOf(b.backerId), `award:${a.id}:backed:${b.pledgeId}:return`, { award: a.id.toString(), returned: "award cancelled" });
    }
  }
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
      price_wait: boolean;
      balance_sats: bigint | null;
      w_kind: "address" | "charity" | null;
      w_address_type: string | null;
      w_charity_name: string | null;
    }
  >(
    `SELECT a.*, p.state AS payout_state, p.payee_kind, p.charity_name, t.txid,
            EXISTS (SELECT 1 FROM events e WHERE e.bounty_id = a.bounty_id AND e.kind = 'award_price_wait'
                    AND e.data->>'award_id' = a.id::text) AS price_wait,
            (SELECT sum(o.sats) FROM awards o WHERE o.recipient_id = a.recipient_id AND o.state = 'credited'
                    AND o.payout_id IS NULL) AS balance_sats,
            w.kind AS w_kind, w.address_type AS w_address_type, w.charity_name AS w_charity_name
     FROM awards a LEFT JOIN payouts p ON p.id = a.payout_id LEFT JOIN payout_txs t ON t.id = p.tx_id
       LEFT JOIN wallets w ON w.user_id = a.recipient_id
     WHERE a.bounty_id = $1 ORDER BY a.id`,
    [bountyId],
  );
  return rows.map((r) => ({
    ...toAward(r),
    payout:
      r.payout_state === null
        ? null
        : { state: r.payout_state, payeeKind: r.payee_kind!, charityName: r.charity_name, txid: r.txid },
    priceWait: Boolean(r.price_wait),
    balanceSats: r.balance_sats === null ? null : BigInt(r.balance_sats),
    wallet: r.w_kind ? { kind: r.w_kind, addressType: r.w_address_type!, charityName: r.w_charity_name } : null,
  }));
}

/**
 * The issue was closed as not planned: awards not yet credited are cancelled (they could never be
 * paid: only awards of issues closed as completed are). When no live award is left, the awarded
 * pledges are cancelled too, as open pledges are, and the bounty with them. Returns the cancelled awards.
 */
export async function cancelHeldAwards(tx: Queryable, bounty: Bounty, reason: string, cause: Cause): Promise<Award[]> {
  const live = await lockLiveAwards(tx, { bountyId: bounty.id });
  const held = live.filter((a) => a.state === "held" && a.payoutId === null);
  if (held.length === 0) return [];
  await tx.query(
    `UPDATE awards SET state = 'cancelled', cancel_reason = $2, updated_at = now() WHERE id = ANY($1::bigint[])`,
    [held.map((a) => a.id.toString()), reason],
  );
  // Nothing goes back to open: replay reads an empty funders list as no pledge reopened.
  await appendEvent(tx, {
    bountyId: bounty.id,
    kind: "award_cancelled",
    data: { awards: held.map((a) => a.id.toString()), claim_id: null, funders: [], reason },
    cause,
  });
  if (held.length === live.length) {
    const cancelled = await tx.query<{ funder_key: string } & BackedRow>(
      `UPDATE pledges SET status = 'cancelled', updated_at = now()
       WHERE bounty_id = $1 AND status = 'awarded' RETURNING id, funder_key, backed_sats, backed_version`,
      [bounty.id],
    );
    // No award was credited, so no escrow was touched: each goes back whole.
    await returnBacked(tx, cancelled, { cancelled: reason });
    if (cancelled.length > 0) {
      await appendEvent(tx, {
        bountyId: bounty.id,
        kind: "cancelled",
        data: { funders: cancelled.map((p) => p.funder_key).sort(), reason },
        cause,
      });
    }
    await setStatus(tx, bounty, "cancelled", reason, cause);
  } else {
    // Others were credited: the pledges stay awarded to them, and what the cancelled ones would have had of backed pledges goes back.
    await returnAwardsBacked(tx, held);
  }
  await touch(tx, bounty.id);
  return held;
}

/** An award with its issue, for operators. */
export interface OperatorAward extends Award {
  owner: string;
  repo: string;
  issueNumber: number;
  issueState: IssueState;
}

/** Every award, oldest first; `held`: only those waiting for an operator's approval. */
export async function listAllAwards(db: Queryable, opts: { held?: boolean } = {}): Promise<OperatorAward[]> {
  const rows = await db.query<AwardRow & { repo_owner: string; repo_name: string; issue_number: number; issue_state: IssueState }>(
    `SELECT a.*, b.repo_owner, b.repo_name, b.issue_number, b.issue_state
     FROM awards a JOIN bounties b ON b.id = a.bounty_id
     ${opts.held ? "WHERE a.approval = 'needed' AND a.state = 'held'" : ""}
     ORDER BY a.id`,
  );
  return rows.map((r) => ({
    ...toAward(r),
    owner: r.repo_owner,
    repo: r.repo_name,
    issueNumber: Number(r.issue_number),
    issueState: r.issue_state,
  }));
}

export type ApproveOutcome =
  | { ok: true; award: Award }
  | { ok: false; why: "unknown" | "not held" | "already approved" | "cancelled"; award: Award | null };

/**
 * `bounty-bot awards approve`: an operator lets an award held for self-dealing be priced and paid.
 * The audit log records who. Refused for an award that was not held, or is cancelled.
 */
export async function approveAward(db: Db, id: bigint, by: string): Promise<ApproveOutcome> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<AwardRow>("SELECT * FROM awards WHERE id = $1 FOR UPDATE", [id]);
    if (!row) return { ok: false, why: "unknown", award: null };
    const award = toAward(row);
    if (award.approval === null) return { ok: false, why: "not held", award };
    if (award.approval === "approved") return { ok: false, why: "already approved", award };
    if (award.state === "cancelled") return { ok: false, why: "cancelled", award };
    const [updated] = await tx.query<AwardRow>(
      `UPDATE awards SET approval = 'approved', approved_by = $2, approved_at = now(), updated_at = now()
       WHERE id = $1 RETURNING *`,
      [id, by],
    );
    await appendEvent(tx, {
      bountyId: award.bountyId,
      userId: award.recipientId,
      kind: "award_approved",
      data: { award_id: id.toString(), reason: award.approvalReason },
      cause: { actor: { id: null, login: by }, deliveryId: null },
    });
    await touch(tx, award.bountyId);
    return { ok: true, award: toAward(updated!) };
  });
}

/**
 * For the payout runner: after it credits awards or moves payouts, call this in the same
 * transaction. It bumps the cards of the bounties concerned (the card syncer then shows the new
 * state) and moves each bounty between 'awarded', 'paid' (every live award's payout broadcast)
 * and 'confirmed' (every one confirmed). Returns the bounty ids, for CardSyncer.kick.
 */
/** A recipient's balance or wallet changed: every card showing an unpaid credited award of theirs is shown again. */
export async function refreshUnpaidCards(tx: Queryable, userId: number, cause: Cause): Promise<void> {
  const rows = await tx.query<{ id: bigint }>(
    "SELECT id FROM awards WHERE recipient_id = $1 AND state = 'credited' AND payout_id IS NULL",
    [userId],
  );
  if (rows.length) await refreshBounties(tx, { awardIds: rows.map((r) => BigInt(r.id)) }, cause);
}

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
