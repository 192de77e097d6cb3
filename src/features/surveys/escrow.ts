/**
 * A survey's money, in the caller's transaction: escrowed when opened (from the treasury within
 * the funder's budgets, or from the author's own balance), one slot released to each response,
 * the rest returned by `/survey close`. Each step is keyed, so it happens once.
 */
import { overBudgetMessage } from "../../core/budget.js";
import { formatAmount } from "../../core/money.js";
import { missingReply } from "../../ledger/escrow.js";
import { earningsOf, escrowOf } from "../../ledger/rules.js";
import { appendEvent, type Cause, type PledgeTerms } from "../../store/bounties.js";
import { chargeBudget, releaseCharge } from "../../store/budgets.js";
import { touchCard } from "../../store/cards.js";
import type { Queryable } from "../../store/db.js";
import { escrowSlots, openEscrow, releaseSlot, returnSlots } from "../../store/escrow.js";
import { endSurvey, insertSurvey, listResponses, lockSurvey, nextSurveyId, recordResponse, type NewSurvey, type Survey } from "../../store/surveys.js";

export const cardKey = (id: bigint) => `survey:${id}`;
const chargeKey = (id: bigint, slot: number) => `survey:${id}:${slot}`;

/** Its issue, or its Discussion (github/threads.ts writes either). */
const where = (s: Pick<Survey, "installationId" | "owner" | "repo" | "issueNumber" | "discussionId">) => ({
  installationId: s.installationId,
  owner: s.owner,
  repo: s.repo,
  issueNumber: s.issueNumber,
  discussionId: s.discussionId,
});

export type OpenSurveyResult = { ok: true; survey: Survey | null } | { ok: false; reply: string };

/**
 * Records a survey and escrows it: every slot charged to the funder's budgets (treasury) or
 * drawn from the author's funds then earnings. A refusal leaves nothing behind (a savepoint).
 * `survey: null` when the same command was recorded already.
 */
export async function openSurvey(tx: Queryable, s: Omit<NewSurvey, "id">, o: { terms: PledgeTerms | null; cause: Cause }): Promise<OpenSurveyResult> {
  const id = await nextSurveyId(tx);
  await tx.query("SAVEPOINT survey_open");
  const refuse = async (reply: string): Promise<OpenSurveyResult> => {
    await tx.query("ROLLBACK TO SAVEPOINT survey_open");
    return { ok: false, reply };
  };
  const survey = await insertSurvey(tx, { ...s, id });
  if (!survey) {
    await tx.query("RELEASE SAVEPOINT survey_open");
    return { ok: true, survey: null };
  }
  const escrow = escrowOf("survey", id);
  if (s.payer === "treasury") {
    if (!o.terms) throw new Error("a survey from the treasury needs the funder's budget terms");
    for (let slot = 0; slot < s.slots; slot++) {
      const charged = await chargeBudget(tx, { key: chargeKey(id, slot), kind: "survey", account: s.owner, amount: { currency: "BTC", minor: s.sats }, terms: o.terms });
      if (!charged.ok) {
        const whose = charged.over.kind === "funder" ? "your" : `${s.owner}'s`;
        return refuse(overBudgetMessage(charged.over, whose, { currency: "BTC", minor: s.sats * BigInt(s.slots) }));
      }
    }
  }
  const opened = await openEscrow(tx, {
    escrow,
    payer: s.payer === "treasury" ? { kind: "treasury" } : { kind: "person", userId: s.author.id },
    slots: Array.from({ length: s.slots }, () => s.sats),
    // No expiry: a survey runs until `/survey close` or its last response.
    timeoutAt: null,
    ref: { survey: String(id) },
  });
  if (!opened.ok) return refuse(missingReply(opened.missing, opened.available));
  await tx.query("RELEASE SAVEPOINT survey_open");
  await appendEvent(tx, {
    userId: s.author.id,
    kind: "survey_opened",
    data: { survey: String(id), audience: s.audience, amount: formatAmount(s.amount), sats: String(s.sats), rate: s.rate, slots: s.slots, payer: s.payer, escrow: escrow.key },
    cause: o.cause,
  });
  await touchCard(tx, cardKey(id), where(survey));
  return { ok: true, survey };
}

/** Pays one response from the next slot to the responder's earnings. False when it was not paid (closed, counted already, every slot taken). */
export async function payResponse(
  tx: Queryable,
  surveyId: bigint,
  r: { responder: { id: number; login: string }; commentId: number; body: string; at: Date; cause: Cause },
): Promise<boolean> {
  const s = await lockSurvey(tx, surveyId);
  if (!s || s.state !== "open") return false;
  const paid = await listResponses(tx, s.id);
  if (paid.length >= s.slots || paid.some((x) => x.responderId === r.responder.id || x.commentId === r.commentId)) return false;
  const slot = paid.length;
  const escrow = escrowOf("survey", s.id);
  const held = (await escrowSlots(tx, escrow.key)).find((x) => x.slot === slot);
  if (!held || held.state !== "held") return false;
  if (!(await recordResponse(tx, { surveyId: s.id, slot, responderId: r.responder.id, responderLogin: r.responder.login, commentId: r.commentId, body: r.body, sats: s.sats, respondedAt: r.at }))) return false;
  if (!(await releaseSlot(tx, escrow, slot, [{ account: earningsOf(r.responder.id), sats: s.sats }], { survey: String(s.id), comment: String(r.commentId) }))) {
    throw new Error(`survey ${s.id}: slot ${slot} was returned while it was being paid`);
  }
  if (slot + 1 === s.slots) await endSurvey(tx, s.id, { state: "full", at: r.at, returnedSats: 0n });
  await appendEvent(tx, {
    userId: r.responder.id,
    kind: "survey_response",
    data: { survey: String(s.id), slot, sats: String(s.sats), comment: String(r.commentId) },
    cause: r.cause,
  });
  await touchCard(tx, cardKey(s.id), where(s));
  return true;
}

/** `/survey close`: the slots not paid go back to whoever put them in, and their budget charges no longer count. False when it was not open. */
export async function closeSurvey(tx: Queryable, surveyId: bigint, c: { at: Date; cause: Cause }): Promise<boolean> {
  const s = await lockSurvey(tx, surveyId);
  if (!s || s.state !== "open") return false;
  const paid = new Set((await listResponses(tx, s.id)).map((r) => r.slot));
  const unpaid = Array.from({ length: s.slots }, (_, i) => i).filter((i) => !paid.has(i));
  const returned = await returnSlots(tx, escrowOf("survey", s.id), { slots: unpaid, ref: { survey: String(s.id), why: "closed" } });
  if (s.payer === "treasury") for (const slot of unpaid) await releaseCharge(tx, chargeKey(s.id, slot), c.at);
  const sats = BigInt(unpaid.length) * s.sats;
  await endSurvey(tx, s.id, { state: "closed", at: c.at, returnedSats: sats });
  await appendEvent(tx, {
    userId: s.author.id,
    kind: "survey_closed",
    data: { survey: String(s.id), sats: String(sats), voided: String(returned), to: s.payer === "treasury" ? "treasury" : `user:${s.author.id}` },
    cause: c.cause,
  });
  await touchCard(tx, cardKey(s.id), where(s));
  return true;
}
